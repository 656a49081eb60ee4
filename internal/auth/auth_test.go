package auth

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/secret"
	"github.com/dbaasd/dbaasd/internal/store"
)

func openStore(t *testing.T) store.Store {
	t.Helper()
	box, err := secret.NewBox(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(context.Background(), "", t.TempDir(), box)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestParseStaticToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec    string
		want    StaticToken
		wantErr bool
	}{
		{"secret-token=0123456789abcdef0123456789abcdef", StaticToken{"secret-token", "0123456789abcdef0123456789abcdef", false}, false},
		{"secret-token=01234567-89ab-cdef-0123-456789abcdef:admin", StaticToken{"secret-token", "0123456789abcdef0123456789abcdef", true}, false},
		{"secret-token=0123456789ABCDEF0123456789ABCDEF", StaticToken{"secret-token", "0123456789abcdef0123456789abcdef", false}, false},
		{"short=0123456789abcdef0123456789abcdef", StaticToken{}, true},
		{"secret-token=not-a-project", StaticToken{}, true},
		{"secret-token=0123456789abcdef0123456789abcdef:root", StaticToken{}, true},
		{"no-equals-sign", StaticToken{}, true},
	}
	for _, tc := range tests {
		got, err := ParseStaticToken(tc.spec)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseStaticToken(%q) = %+v, %v", tc.spec, got, err)
		}
		if err != nil && strings.Contains(err.Error(), strings.SplitN(tc.spec, "=", 2)[0]) && strings.Contains(tc.spec, "=") {
			t.Errorf("error reveals the token: %v", err)
		}
	}
}

func TestStaticTokensAreHashedAndPruned(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	a := New(s)
	ctx := context.Background()
	t1 := StaticToken{Value: "first-token-value", ProjectID: "0123456789abcdef0123456789abcdef", Admin: true}
	t2 := StaticToken{Value: "second-token-value", ProjectID: "fedcba9876543210fedcba9876543210"}
	if err := a.SetupStatic(ctx, []StaticToken{t1, t2}); err != nil {
		t.Fatal(err)
	}
	p, err := a.Authenticate(ctx, "first-token-value")
	if err != nil || p.ProjectID != t1.ProjectID || !p.Admin {
		t.Fatalf("Authenticate = %+v, %v", p, err)
	}
	if _, err := s.Token(ctx, "first-token-value"); err == nil {
		t.Fatal("the token is stored in the clear")
	}
	if err := a.SetupStatic(ctx, []StaticToken{t2}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, "first-token-value"); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("a token removed from the configuration still works: %v", err)
	}
	if _, err := a.Authenticate(ctx, ""); !errors.Is(err, ErrUnauthenticated) {
		t.Fatal("an empty token authenticated")
	}
}

func TestExpiredTokensAreRefused(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	a := New(s)
	ctx := context.Background()
	project := "0123456789abcdef0123456789abcdef"
	exp := time.Now().Add(time.Minute)
	err := s.InTx(ctx, func(tx store.Tx) error {
		if err := EnsureProject(ctx, tx, project, time.Now()); err != nil {
			return err
		}
		return tx.PutToken(ctx, model.Token{Hash: secret.Hash("identity-token"), ProjectID: project, Source: SourceIdentity,
			ExpiresAt: &exp, CreatedAt: time.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, "identity-token"); err != nil {
		t.Fatalf("a valid token was refused: %v", err)
	}
	a.now = func() time.Time { return exp.Add(time.Second) }
	if _, err := a.Authenticate(ctx, "identity-token"); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("an expired token was accepted: %v", err)
	}
}

func TestBootstrapPrintsOnceAndKeepsOnlyAHash(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	a := New(s)
	ctx := context.Background()
	var out bytes.Buffer
	if err := a.Bootstrap(ctx, &out); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`X-Auth-Token: (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no token printed: %q", out.String())
	}
	p, err := a.Authenticate(ctx, m[1])
	if err != nil || !p.Admin {
		t.Fatalf("the printed token does not authenticate as admin: %+v %v", p, err)
	}
	out.Reset()
	if err := a.Bootstrap(ctx, &out); err != nil || out.Len() != 0 {
		t.Fatalf("second start printed %q (%v)", out.String(), err)
	}
}
