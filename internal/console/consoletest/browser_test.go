package consoletest

import (
	"errors"
	"fmt"
	"testing"
)

func TestContextGone(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{errors.New("Cannot find context with specified id (-32000)"), true},
		{fmt.Errorf("poll: %w", errors.New("Execution context was destroyed. (-32000)")), true},
		{errors.New("context deadline exceeded"), false},
		{errors.New("net::ERR_CONNECTION_REFUSED"), false},
	} {
		if got := contextGone(tc.err); got != tc.want {
			t.Errorf("contextGone(%q) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
