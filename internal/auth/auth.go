// Package auth decides who makes a request: it resolves API tokens (static
// tokens from the configuration, the bootstrap admin token, and tokens
// issued by the identity endpoint) to a project and a role. Tokens are
// stored only as keyed hashes (secret.Hasher).
//
// Tokens already resolved are remembered with the version of their
// project (store.ProjectVersion), which changes in the same transaction
// as any write of the project's tokens: a request then costs one read of
// that version instead of a token lookup, and a revoked or changed token
// is refused by the next request, on every dbaasd sharing the store.
package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/secret"
	"github.com/dbaasd/dbaasd/internal/store"
)

// Token sources.
const (
	SourceStatic    = "static"
	SourceBootstrap = "bootstrap"
	SourceIdentity  = "identity"
	// SourceProvisioned tokens are created by tooling (and tests) directly
	// in the store; they are not pruned at start.
	SourceProvisioned = "provisioned"
)

// ErrUnauthenticated means the token is missing, unknown, expired or revoked.
var ErrUnauthenticated = errors.New("missing, unknown or expired token")

// Principal is an authenticated caller.
type Principal struct {
	ProjectID string
	Admin     bool
	UserName  string
	// Version is the version of the project (store.ProjectVersion) read
	// while authenticating, before anything the request reads next.
	Version int64
}

// Hasher computes the keyed hash of a token (secret.Hasher).
type Hasher interface {
	Hash(token string) string
}

// Authenticator resolves tokens.
type Authenticator struct {
	store  store.Store
	hasher Hasher
	now    func() time.Time
	cache  *tokenCache
	// legacy is set while tokens stored under a legacy (unkeyed) hash may
	// remain, which an unknown keyed hash is then looked for as.
	legacy atomic.Bool
}

// New returns an Authenticator over the store.
func New(s store.Store, h Hasher) *Authenticator {
	a := &Authenticator{store: s, hasher: h, now: time.Now, cache: newTokenCache(maxCachedTokens)}
	a.legacy.Store(true)
	return a
}

// Hash returns the form in which a token is stored.
func (a *Authenticator) Hash(token string) string { return a.hasher.Hash(token) }

// Authenticate resolves a token value to its principal.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (*Principal, error) {
	if token == "" {
		return nil, ErrUnauthenticated
	}
	h := a.hasher.Hash(token)
	now := a.now()
	if e := a.cache.get(h); e != nil {
		if e.expired(now) {
			a.cache.drop(h)
			return nil, ErrUnauthenticated
		}
		// A read of one row by its key, on every request: it does not
		// watch the request for cancellation, which costs the SQLite
		// driver a goroutine per query, more than the read itself.
		v, err := a.store.ProjectVersion(context.WithoutCancel(ctx), e.ProjectID)
		if err != nil {
			return nil, fmt.Errorf("authenticate: %w", err)
		}
		if v == e.version {
			p := e.Principal
			p.Version = v
			return &p, nil
		}
	}
	t, v, err := a.lookup(ctx, token, h)
	if errors.Is(err, store.ErrNotFound) {
		a.cache.drop(h)
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	if t.Expired(now) {
		a.cache.drop(h)
		return nil, ErrUnauthenticated
	}
	e := &cachedToken{Principal: Principal{ProjectID: t.ProjectID, Admin: t.Admin, UserName: t.UserName},
		expiresAt: t.ExpiresAt, version: v}
	a.cache.put(h, e)
	p := e.Principal
	p.Version = v
	return &p, nil
}

// Lookup returns the stored token with this value (whether expired or
// not), or store.ErrNotFound. A token still stored under its legacy hash
// is rewritten under its keyed hash.
func (a *Authenticator) Lookup(ctx context.Context, token string) (*model.Token, error) {
	if token == "" {
		return nil, store.ErrNotFound
	}
	t, _, err := a.lookup(ctx, token, a.hasher.Hash(token))
	return t, err
}

// lookup reads the token with keyed hash h (of value token) and its
// project's version; a token found under its legacy hash is upgraded
// first.
func (a *Authenticator) lookup(ctx context.Context, token, h string) (*model.Token, int64, error) {
	t, v, err := a.store.AuthToken(ctx, h)
	if !errors.Is(err, store.ErrNotFound) || !a.legacy.Load() {
		return t, v, err
	}
	legacy := secret.LegacyHash(token)
	if _, err := a.store.Token(ctx, legacy); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, 0, err
		}
		return nil, 0, fmt.Errorf("look up legacy token: %w", err)
	}
	if err := a.store.RehashToken(ctx, legacy, h); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, 0, err
	}
	return a.store.AuthToken(ctx, h)
}

var projectRe = regexp.MustCompile(`^[0-9a-f]{32}$`)

// NormalizeProjectID accepts a project ID as 32 hex characters or as a
// dashed UUID and returns the 32 lowercase hex form.
func NormalizeProjectID(p string) (string, error) {
	p = strings.ToLower(strings.TrimSpace(p))
	if u, err := uuid.Parse(p); err == nil {
		p = strings.ReplaceAll(u.String(), "-", "")
	}
	if !projectRe.MatchString(p) {
		return "", fmt.Errorf("project ID %q must be 32 hexadecimal characters", p)
	}
	return p, nil
}

// StaticToken is one --token TOKEN=PROJECT_ID[:admin] setting.
type StaticToken struct {
	Value     string
	ProjectID string
	Admin     bool
}

// ParseStaticToken parses TOKEN=PROJECT_ID[:admin].
func ParseStaticToken(spec string) (StaticToken, error) {
	value, rest, ok := strings.Cut(strings.TrimSpace(spec), "=")
	if !ok || value == "" || rest == "" {
		return StaticToken{}, fmt.Errorf("token %q: want TOKEN=PROJECT_ID[:admin]", redact(spec))
	}
	project, role, hasRole := strings.Cut(rest, ":")
	if hasRole && role != "admin" {
		return StaticToken{}, fmt.Errorf("token for project %s: unknown role %q (only admin)", project, role)
	}
	p, err := NormalizeProjectID(project)
	if err != nil {
		return StaticToken{}, err
	}
	if len(value) < 8 {
		return StaticToken{}, fmt.Errorf("token for project %s: must be at least 8 characters", p)
	}
	return StaticToken{Value: value, ProjectID: p, Admin: hasRole}, nil
}

func redact(spec string) string {
	if _, rest, ok := strings.Cut(spec, "="); ok {
		return "***=" + rest
	}
	return "***"
}

// EnsureProject creates a project record if it does not exist.
func EnsureProject(ctx context.Context, tx store.Tx, id string, now time.Time) error {
	_, err := tx.Projects().Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		err = tx.Projects().Insert(ctx, &model.Project{ID: id, CreatedAt: now.UTC()})
		if errors.Is(err, store.ErrConflict) {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("ensure project %s: %w", id, err)
	}
	return nil
}

// SetupStatic stores the configured static tokens (hashed) with their
// projects and removes static tokens that are no longer configured.
//
// It also notes whether tokens stored under a legacy (unkeyed) hash remain:
// only then is a token that is not found looked for under its legacy hash.
func (a *Authenticator) SetupStatic(ctx context.Context, tokens []StaticToken) error {
	err := a.store.InTx(ctx, func(tx store.Tx) error {
		keep := []string{}
		for _, t := range tokens {
			if err := EnsureProject(ctx, tx, t.ProjectID, a.now()); err != nil {
				return err
			}
			h := a.hasher.Hash(t.Value)
			keep = append(keep, h)
			if err := tx.PutToken(ctx, model.Token{Hash: h, ProjectID: t.ProjectID, Admin: t.Admin,
				Source: SourceStatic, CreatedAt: a.now().UTC()}); err != nil {
				return err
			}
		}
		// Static tokens still stored under a legacy hash are among those
		// pruned: they were stored again under their keyed hash above.
		return tx.PruneTokens(ctx, SourceStatic, keep)
	})
	if err != nil {
		return err
	}
	n, err := a.store.CountLegacyTokens(ctx)
	if err != nil {
		return err
	}
	a.legacy.Store(n > 0)
	return nil
}

// Bootstrap creates, on the very first start without configured tokens,
// one project and an admin token for it, and prints them once to out. Only
// the token's hash is kept. It does nothing when any token exists.
func (a *Authenticator) Bootstrap(ctx context.Context, out io.Writer) error {
	n, err := a.store.CountTokens(ctx, "")
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	project := strings.ReplaceAll(uuid.NewString(), "-", "")
	value := secret.Token()
	err = a.store.InTx(ctx, func(tx store.Tx) error {
		if err := EnsureProject(ctx, tx, project, a.now()); err != nil {
			return err
		}
		return tx.PutToken(ctx, model.Token{Hash: a.hasher.Hash(value), ProjectID: project, Admin: true,
			Source: SourceBootstrap, CreatedAt: a.now().UTC()})
	})
	if err != nil {
		return fmt.Errorf("bootstrap token: %w", err)
	}
	_, err = fmt.Fprintf(out, "dbaasd: first start: created project %s with an admin token (shown only this once):\n\n    X-Auth-Token: %s\n\n", project, value)
	return err
}
