package kafka

import (
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

// login connects as a user with SCRAM-SHA-512 (or the given mechanism) and
// asks for metadata once. kfake answers a failed SASL exchange by closing
// the connection, so a refused login is an EOF rather than
// SASL_AUTHENTICATION_FAILED.
func login(t *testing.T, c *engine.Cluster, user, pass string, opts ...kgo.Opt) error {
	t.Helper()
	cl := client(t, c, user, pass, opts...)
	defer cl.Close()
	return cl.Ping(ctxFor(t, 10*time.Second))
}

func TestWrongPasswordIsRefused(t *testing.T) {
	t.Parallel()
	d, c := startCluster(t, 1)
	ctx := enginetest.Ctx(t)
	must(t, d.EnsureTopic(ctx, c, engine.Topic{Name: "t", Partitions: 1}))
	must(t, d.EnsureUser(ctx, c, engine.User{Name: "dave", Password: "right-pass"}))
	must(t, d.EnsureACL(ctx, c, engine.ACL{User: "dave", Pattern: "t", PatternType: engine.PatternLiteral, Read: true, Write: true}))

	must(t, login(t, c, "dave", "right-pass"))
	must(t, produce(t, c, "dave", "right-pass", "t", "ok"))
	err := login(t, c, "dave", "wrong-pass")
	if err == nil {
		t.Fatal("wrong password accepted")
	}
	t.Logf("wrong password: %v", err)
	if err := login(t, c, "nobody", "x"); err == nil {
		t.Fatal("unknown user accepted")
	}

	// A new password replaces the old one.
	must(t, d.EnsureUser(ctx, c, engine.User{Name: "dave", Password: "new-pass"}))
	if err := login(t, c, "dave", "right-pass"); err == nil {
		t.Fatal("old password still accepted after a change")
	}
	must(t, produce(t, c, "dave", "new-pass", "t", "ok"))

	// Both SCRAM mechanisms work.
	must(t, login(t, c, "dave", "new-pass", kgo.SASL(scram.Auth{User: "dave", Pass: "new-pass"}.AsSha256Mechanism())))

	// Once dropped, the user cannot log in.
	must(t, d.DropUser(ctx, c, "dave"))
	if err := login(t, c, "dave", "new-pass"); err == nil {
		t.Fatal("dropped user can still log in")
	}
	if err := d.EnsureUser(ctx, c, engine.User{Name: SuperUser, Password: "x"}); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("EnsureUser(superuser) = %v, want ErrInvalid", err)
	}
}
