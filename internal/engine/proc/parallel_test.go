package proc

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestParallelRunsTogether: every call runs while the others run, and the
// errors of all the calls that failed are returned.
func TestParallelRunsTogether(t *testing.T) {
	t.Parallel()
	nodes := []string{"a", "b", "c"}
	var begun sync.WaitGroup
	begun.Add(len(nodes))
	all := make(chan struct{})
	go func() { begun.Wait(); close(all) }()
	err := Parallel(nodes, func(n string) error {
		begun.Done()
		select {
		case <-all:
		case <-time.After(10 * time.Second):
			t.Errorf("node %s: the others did not start while it ran", n)
		}
		if n != "a" {
			return errors.New("node " + n + " failed")
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "node b failed") || !strings.Contains(err.Error(), "node c failed") {
		t.Fatalf("Parallel = %v, want the errors of b and c", err)
	}
}
