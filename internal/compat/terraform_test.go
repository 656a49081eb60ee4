package compat_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dbaas "github.com/selectel/dbaas-go"
)

// This file plays Terraform itself: a configuration is a graph of
// resources and data sources, each with the provider's create, read,
// update and delete functions (selectel/selectel 8.3 on the SDK dbaas-go
// 0.18, see provider_test.go), and Terraform walks that graph the way it
// does: a node starts as soon as every node it refers to is done (on
// destroy, as soon as every node that refers to it is gone), ten at a
// time, with no other ordering. Independent resources — the firewall of a
// datastore and the users in it — therefore run at the same moment, as
// they do for a user of the provider.

// parallelism is Terraform's default -parallelism.
const parallelism = 10

// node is a resource or data source of a configuration.
type node struct {
	addr string   // e.g. selectel_dbaas_user_v1.app
	deps []string // addresses it refers to (implicit dependencies only)
	data bool     // a data source: read at plan, never created or destroyed

	create func(ctx context.Context) error
	// read reads the object back as the provider's Read does and returns
	// every attribute whose value would make the next plan show a change.
	read func(ctx context.Context) error
	// update applies the next configuration in place (nil: no change).
	update func(ctx context.Context) error
	del    func(ctx context.Context) error
}

// config is a Terraform configuration being applied.
type config struct {
	t     *testing.T
	s     *session
	nodes []*node
	byKey map[string]*node

	mu  sync.Mutex
	ids map[string]string // the state: ID of each created resource
}

func newConfig(t *testing.T, s *session) *config {
	return &config{t: t, s: s, byKey: map[string]*node{}, ids: map[string]string{}}
}

func (c *config) add(n *node) *node {
	if _, dup := c.byKey[n.addr]; dup {
		c.t.Fatalf("duplicate address %s", n.addr)
	}
	for _, d := range n.deps {
		if _, ok := c.byKey[d]; !ok {
			c.t.Fatalf("%s refers to %s, which is not declared before it", n.addr, d)
		}
	}
	c.nodes = append(c.nodes, n)
	c.byKey[n.addr] = n
	return n
}

// id returns the ID in state of a resource (what `addr.id` evaluates to).
func (c *config) id(addr string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.ids[addr]
	if !ok {
		panic("no ID in state for " + addr + " (a missing dependency)")
	}
	return id
}

// lookup returns the ID in state of a resource, if it has one.
func (c *config) lookup(addr string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.ids[addr]
	return id, ok
}

func (c *config) setID(addr, id string) {
	c.mu.Lock()
	c.ids[addr] = id
	c.mu.Unlock()
}

// walk runs op on every node it selects, in Terraform's order: forward
// (plan, apply) a node waits for the nodes it refers to; reverse
// (destroy) it waits for the nodes that refer to it. A node whose
// dependency failed is not run. It returns every error, by address.
func (c *config) walk(ctx context.Context, reverse bool, op func(*node) func(context.Context) error) error {
	waitFor := map[string][]string{}
	for _, n := range c.nodes {
		for _, d := range n.deps {
			if reverse {
				waitFor[d] = append(waitFor[d], n.addr)
			} else {
				waitFor[n.addr] = append(waitFor[n.addr], d)
			}
		}
	}
	done := map[string]chan struct{}{}
	failed := map[string]bool{}
	for _, n := range c.nodes {
		done[n.addr] = make(chan struct{})
	}
	sem := make(chan struct{}, parallelism)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[n.addr])
			for _, d := range waitFor[n.addr] {
				<-done[d]
				mu.Lock()
				f := failed[d]
				mu.Unlock()
				if f {
					mu.Lock()
					failed[n.addr] = true
					mu.Unlock()
					return
				}
			}
			f := op(n)
			if f == nil {
				return
			}
			sem <- struct{}{}
			err := f(ctx)
			<-sem
			if err != nil {
				mu.Lock()
				failed[n.addr] = true
				errs = append(errs, fmt.Errorf("%s: %w", n.addr, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// refresh reads data sources (as `terraform plan` does before anything).
func (c *config) refresh(ctx context.Context) error {
	return c.walk(ctx, false, func(n *node) func(context.Context) error {
		if n.data {
			return n.read
		}
		return nil
	})
}

// apply creates every resource (terraform apply of a new configuration).
func (c *config) apply(ctx context.Context) error {
	if err := c.refresh(ctx); err != nil {
		return err
	}
	return c.walk(ctx, false, func(n *node) func(context.Context) error {
		if n.data {
			return nil
		}
		return n.create
	})
}

// plan reads every resource back, as `terraform plan` refreshes them, and
// fails on any change it would then show: the configuration drifted.
func (c *config) plan(ctx context.Context) error {
	return c.walk(ctx, false, func(n *node) func(context.Context) error { return n.read })
}

// applyUpdate applies the next configuration: the resources whose
// arguments changed are updated in place.
func (c *config) applyUpdate(ctx context.Context) error {
	if err := c.refresh(ctx); err != nil {
		return err
	}
	return c.walk(ctx, false, func(n *node) func(context.Context) error {
		if n.data || n.update == nil {
			return nil
		}
		return n.update
	})
}

// destroy deletes every resource (terraform destroy).
func (c *config) destroy(ctx context.Context) error {
	return c.walk(ctx, true, func(n *node) func(context.Context) error {
		if n.data {
			return nil
		}
		return n.del
	})
}

// drift collects the attributes whose read-back value differs from the
// configuration.
type drift []string

func (d *drift) check(attr string, got, want any) {
	if fmt.Sprint(got) != fmt.Sprint(want) {
		*d = append(*d, fmt.Sprintf("%s: read %v, configured %v", attr, got, want))
	}
}

func (d drift) err() error {
	if len(d) == 0 {
		return nil
	}
	return errors.New("plan shows changes: " + strings.Join(d, "; "))
}

// Waiters, as the provider's waiters package has them: ACTIVE ends the
// wait, a status outside pending fails it, a read error fails it.

var errTimeout = errors.New("timeout while waiting for state")

func waitFor(ctx context.Context, what string, pending []dbaas.Status, get func(context.Context) (dbaas.Status, error)) error {
	deadline := time.Now().Add(waitTimeout)
	for {
		st, err := get(ctx)
		if err != nil {
			return fmt.Errorf("error waiting for the %s to become 'ACTIVE': %w", what, err)
		}
		if st == dbaas.StatusActive {
			return nil
		}
		if !slices.Contains(pending, st) {
			return fmt.Errorf("error waiting for the %s to become 'ACTIVE': unexpected state '%s', wanted target 'ACTIVE'", what, st)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("error waiting for the %s to become 'ACTIVE': %w (last state: '%s')", what, errTimeout, st)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}

// waitGone is the provider's delete waiter: the state is the HTTP status
// of a read, "200" pending and "404" the target.
func waitGone(ctx context.Context, what string, get func(context.Context) error) error {
	deadline := time.Now().Add(waitTimeout)
	for {
		state := "200"
		if err := get(ctx); err != nil {
			st := apiStatus(err)
			if st == 0 {
				return fmt.Errorf("error waiting for the %s to become deleted: %w", what, err)
			}
			state = fmt.Sprint(st)
		}
		switch {
		case state == "404":
			return nil
		case state != "200":
			return fmt.Errorf("error waiting for the %s to become deleted: unexpected state '%s', wanted target '404'", what, state)
		case time.Now().After(deadline):
			return fmt.Errorf("error waiting for the %s to become deleted: %w", what, errTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}
