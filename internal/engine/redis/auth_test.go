package redis

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func TestAuthIsRequired(t *testing.T) {
	t.Parallel()
	_, c := setup(t, 1, nil)
	n := &c.Nodes[0]
	ctx := context.Background()

	err := dial(t, n, "", "").Set(ctx, "k", "v", 0).Err()
	if err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("without a password: err = %v, want NOAUTH", err)
	}
	err = dial(t, n, "wrong-password", "").Ping(ctx).Err()
	if err == nil || !isAuthErr(err) {
		t.Fatalf("with a wrong password: err = %v, want an authentication error", err)
	}
	if err := dial(t, n, c.Password, "").Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("with the password: %v", err)
	}
}

func TestEnsureRejectsBadInput(t *testing.T) {
	t.Parallel()
	d := newTestDriver(t)
	for name, edit := range map[string]func(c *engine.Cluster){
		"no password":       func(c *engine.Cluster) { c.Password = "" },
		"password blank":    func(c *engine.Cluster) { c.Password = "a b" },
		"firewall garbage":  func(c *engine.Cluster) { c.Password = "ok-pass"; c.Firewall = []string{"not-an-ip"} },
		"reserved param":    func(c *engine.Cluster) { c.Password = "ok-pass"; c.Config = map[string]any{"port": 1.0} },
		"not a param name":  func(c *engine.Cluster) { c.Password = "ok-pass"; c.Config = map[string]any{"Bad Name": 1.0} },
		"value of bad type": func(c *engine.Cluster) { c.Password = "ok-pass"; c.Config = map[string]any{"hz": []any{1}} },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := enginetest.NewCluster(t, engine.Redis, 1)
			edit(c)
			t.Cleanup(func() { _ = d.Destroy(context.Background(), c) })
			if err := d.Ensure(enginetest.Ctx(t), c); !errors.Is(err, engine.ErrInvalid) {
				t.Fatalf("Ensure = %v, want ErrInvalid", err)
			}
		})
	}
}
