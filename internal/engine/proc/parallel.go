package proc

import (
	"errors"
	"sync"
)

// Parallel runs fn for every item at once (the nodes of a cluster that
// start, stop or are configured together) and returns every error.
func Parallel[T any](items []T, fn func(T) error) error {
	errs := make([]error, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(it)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
