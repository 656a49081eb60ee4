package identity

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/dbaasd/dbaasd/internal/auth"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/secret"
	"github.com/dbaasd/dbaasd/internal/store"
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type bundle struct {
	svc   *Service
	srv   *httptest.Server
	st    store.Store
	auth  *auth.Authenticator
	clock *clock
}

const region = "ru-9"

func setup(t *testing.T, ttl time.Duration) *bundle {
	t.Helper()
	return setupLogged(t, ttl, nil)
}

// setupLogged is setup with a logger for the service (nil: the default).
func setupLogged(t *testing.T, ttl time.Duration, log *slog.Logger) *bundle {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	box, err := secret.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, "", t.TempDir(), box)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	var users []User
	for _, spec := range []string{
		"alice:alice-pw:" + projA + "+" + projB,
		"bob:bob-pw:" + projB + "@Team",
	} {
		u, err := ParseUser(spec, bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	hasher, err := secret.NewHasher(key)
	if err != nil {
		t.Fatal(err)
	}
	a := auth.New(st, hasher)
	c := &clock{t: time.Now()}
	svc, err := New(ctx, Config{Store: st, Auth: a, Users: users, Region: region, TokenTTL: ttl, Now: c.now, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	return &bundle{svc: svc, srv: srv, st: st, auth: a, clock: c}
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (b *bundle) do(t *testing.T, method, path string, body any, headers map[string]string) reply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, b.srv.URL+path, rd)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	r := reply{status: resp.StatusCode, header: resp.Header}
	r.raw, _ = io.ReadAll(resp.Body)
	if len(r.raw) > 0 {
		if err := json.Unmarshal(r.raw, &r.body); err != nil {
			t.Fatalf("%s %s: not JSON: %s", method, path, r.raw)
		}
	}
	return r
}

func passwordLogin(user, domain, password string, scope any) map[string]any {
	a := map[string]any{"identity": map[string]any{
		"methods": []string{"password"},
		"password": map[string]any{"user": map[string]any{
			"name": user, "domain": map[string]any{"name": domain}, "password": password}},
	}}
	if scope != nil {
		a["scope"] = scope
	}
	return map[string]any{"auth": a}
}

func projectScope(id string) map[string]any {
	return map[string]any{"project": map[string]any{"id": id}}
}

func (b *bundle) login(t *testing.T, user, domain, password, project string) (string, reply) {
	t.Helper()
	r := b.do(t, http.MethodPost, "/identity/v3/auth/tokens", passwordLogin(user, domain, password, projectScope(project)), nil)
	if r.status != http.StatusCreated {
		t.Fatalf("login %s: %d %s", user, r.status, r.raw)
	}
	tok := r.header.Get("X-Subject-Token")
	if tok == "" {
		t.Fatal("no X-Subject-Token")
	}
	return tok, r
}

func tokenField(r reply, path string) any {
	cur := r.body["token"]
	for _, p := range strings.Split(path, ".") {
		m, _ := cur.(map[string]any)
		cur = m[p]
	}
	return cur
}

func TestLoginIssuesAProjectScopedToken(t *testing.T) {
	t.Parallel()
	b := setup(t, time.Hour)
	tok, r := b.login(t, "alice", "Default", "alice-pw", projB)

	for path, want := range map[string]any{
		"user.name": "alice", "user.domain.name": "Default", "user.domain.id": "default",
		"project.id": projB, "project.domain.name": "Default", "is_domain": false,
	} {
		if got := tokenField(r, path); got != want {
			t.Errorf("token.%s = %v, want %v", path, got, want)
		}
	}
	if m, _ := tokenField(r, "methods").([]any); len(m) != 1 || m[0] != "password" {
		t.Errorf("methods = %v", tokenField(r, "methods"))
	}
	issued, err1 := time.Parse(time.RFC3339Nano, tokenField(r, "issued_at").(string))
	expires, err2 := time.Parse(time.RFC3339Nano, tokenField(r, "expires_at").(string))
	if err1 != nil || err2 != nil || !strings.HasSuffix(tokenField(r, "expires_at").(string), "Z") {
		t.Fatalf("timestamps: %v %v", err1, err2)
	}
	if now := b.clock.now().UTC().Truncate(time.Microsecond); !issued.Equal(now) || expires.Sub(issued) != time.Hour {
		t.Errorf("issued %v, expires %v: want a one-hour token issued at %v", issued, expires, now)
	}

	// The token works as an API token of the project, and only its hash is kept.
	p, err := b.auth.Authenticate(context.Background(), tok)
	if err != nil || p.ProjectID != projB || p.Admin {
		t.Fatalf("authenticate: %+v %v", p, err)
	}
	stored, err := b.st.Token(context.Background(), b.auth.Hash(tok))
	if err != nil || stored.Source != auth.SourceIdentity || stored.ExpiresAt == nil {
		t.Fatalf("stored token: %+v %v", stored, err)
	}
	if strings.Contains(string(r.raw), tok) {
		t.Error("the token value must be only in the X-Subject-Token header")
	}
}

func TestCatalogShape(t *testing.T) {
	t.Parallel()
	b := setup(t, time.Hour)
	_, r := b.login(t, "alice", "Default", "alice-pw", projA)
	raw, _ := json.Marshal(tokenField(r, "catalog"))
	var cat []CatalogEntry
	if err := json.Unmarshal(raw, &cat); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		ServiceIdentity:        b.srv.URL + "/identity/v3",
		ServiceManagedDatabase: b.srv.URL + "/v1",
	}
	if len(cat) != len(want) {
		t.Fatalf("catalog has %d entries: %s", len(cat), raw)
	}
	for _, e := range cat {
		url, ok := want[e.Type]
		if !ok || e.ID == "" || e.Name == "" || len(e.Endpoints) != 1 {
			t.Fatalf("entry %+v", e)
		}
		ep := e.Endpoints[0]
		if ep.Interface != "public" || ep.Region != region || ep.RegionID != region || ep.URL != url || ep.ID == "" {
			t.Errorf("%s endpoint %+v, want public %s %s", e.Type, ep, region, url)
		}
	}
	// Exactly the keys the clients read, with no trailing slash on URLs.
	var generic []map[string]any
	_ = json.Unmarshal(raw, &generic)
	for _, e := range generic {
		ep := e["endpoints"].([]any)[0].(map[string]any)
		for _, k := range []string{"id", "interface", "region", "region_id", "url"} {
			if _, ok := ep[k]; !ok {
				t.Errorf("endpoint without %q: %v", k, ep)
			}
		}
		if strings.HasSuffix(ep["url"].(string), "/") {
			t.Errorf("url with a trailing slash: %v", ep["url"])
		}
	}
}

func TestLoginFailures(t *testing.T) {
	t.Parallel()
	b := setup(t, time.Hour)
	tests := []struct {
		name string
		body any
		code int
	}{
		{"wrong password", passwordLogin("alice", "Default", "nope", projectScope(projA)), 401},
		{"unknown user", passwordLogin("mallory", "Default", "alice-pw", projectScope(projA)), 401},
		{"wrong domain", passwordLogin("alice", "Team", "alice-pw", projectScope(projA)), 401},
		{"project of another user", passwordLogin("bob", "Team", "bob-pw", projectScope(projA)), 401},
		{"unknown project", passwordLogin("alice", "Default", "alice-pw", projectScope("cccccccccccccccccccccccccccccccc")), 401},
		{"domain scope", passwordLogin("alice", "Default", "alice-pw", map[string]any{"domain": map[string]any{"name": "Default"}}), 401},
		{"no domain", map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{"password"},
			"password": map[string]any{"user": map[string]any{"name": "alice", "password": "alice-pw"}}}}}, 400},
		{"no method", map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{}}}}, 400},
		{"not JSON", "{", 400},
	}
	for _, tc := range tests {
		r := b.do(t, http.MethodPost, "/identity/v3/auth/tokens", tc.body, nil)
		if r.status != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.name, r.status, r.raw, tc.code)
			continue
		}
		e, _ := r.body["error"].(map[string]any)
		if e == nil || e["code"] != float64(tc.code) || e["title"] != http.StatusText(tc.code) || e["message"] == "" || len(r.body) != 1 {
			t.Errorf("%s: not a Keystone error body: %s", tc.name, r.raw)
		}
		if r.header.Get("X-Subject-Token") != "" {
			t.Errorf("%s: a token was issued", tc.name)
		}
		if strings.Contains(string(r.raw), "alice-pw") {
			t.Errorf("%s: the answer shows the password", tc.name)
		}
	}
	n, err := b.st.CountTokens(context.Background(), auth.SourceIdentity)
	if err != nil || n != 0 {
		t.Fatalf("failed logins stored %d tokens (%v)", n, err)
	}
}

func TestScopeByProjectNameDefaultProjectAndUserID(t *testing.T) {
	t.Parallel()
	b := setup(t, time.Hour)
	byName := passwordLogin("bob", "Team", "bob-pw", map[string]any{"project": map[string]any{
		"name": projB, "domain": map[string]any{"id": DomainID("Team")}}})
	if r := b.do(t, http.MethodPost, "/identity/v3/auth/tokens", byName, nil); r.status != 201 || tokenField(r, "project.id") != projB {
		t.Fatalf("scope by name: %d %s", r.status, r.raw)
	}
	if r := b.do(t, http.MethodPost, "/identity/v3/auth/tokens", passwordLogin("alice", "Default", "alice-pw", nil), nil); r.status != 201 || tokenField(r, "project.id") != projA {
		t.Fatalf("no scope must give the first project: %d %s", r.status, r.raw)
	}
	alice := User{Name: "alice", Domain: "Default"}
	byID := map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{"password"},
		"password": map[string]any{"user": map[string]any{"id": alice.ID(), "password": "alice-pw"}}}, "scope": projectScope(projB)}}
	if r := b.do(t, http.MethodPost, "/identity/v3/auth/tokens", byID, nil); r.status != 201 || tokenField(r, "user.name") != "alice" {
		t.Fatalf("user by ID: %d %s", r.status, r.raw)
	}
}

func TestRescopeWithAToken(t *testing.T) {
	t.Parallel()
	b := setup(t, time.Hour)
	tok, _ := b.login(t, "alice", "Default", "alice-pw", projA)
	body := func(token, project string) any {
		return map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{"token"},
			"token": map[string]any{"id": token}}, "scope": projectScope(project)}}
	}
	r := b.do(t, http.MethodPost, "/identity/v3/auth/tokens", body(tok, projB), nil)
	if r.status != 201 || tokenField(r, "project.id") != projB || r.header.Get("X-Subject-Token") == tok {
		t.Fatalf("rescope: %d %s", r.status, r.raw)
	}
	if m, _ := tokenField(r, "methods").([]any); len(m) != 1 || m[0] != "token" {
		t.Errorf("methods of a re-scoped token: %v", tokenField(r, "methods"))
	}
	if r := b.do(t, http.MethodPost, "/identity/v3/auth/tokens", body("not-a-token", projB), nil); r.status != 401 {
		t.Fatalf("rescope with an unknown token: %d", r.status)
	}
}

func TestValidateAndRevoke(t *testing.T) {
	t.Parallel()
	b := setup(t, time.Hour)
	tok, login := b.login(t, "alice", "Default", "alice-pw", projB)
	other, _ := b.login(t, "alice", "Default", "alice-pw", projB)
	foreign, _ := b.login(t, "alice", "Default", "alice-pw", projA)
	both := map[string]string{"X-Auth-Token": tok, "X-Subject-Token": tok}

	r := b.do(t, http.MethodGet, "/identity/v3/auth/tokens", nil, both)
	if r.status != http.StatusOK || r.header.Get("X-Subject-Token") != tok {
		t.Fatalf("validate: %d %s", r.status, r.raw)
	}
	if string(mustJSON(r.body)) != string(mustJSON(login.body)) {
		t.Errorf("validation body differs from the login body:\n%s\n%s", r.raw, login.raw)
	}
	if r := b.do(t, http.MethodHead, "/identity/v3/auth/tokens", nil, both); r.status != http.StatusOK {
		t.Errorf("HEAD: %d", r.status)
	}
	if r := b.do(t, http.MethodGet, "/identity/v3/auth/tokens?nocatalog", nil, both); len(tokenField(r, "catalog").([]any)) != 0 {
		t.Errorf("nocatalog: %s", r.raw)
	}
	if r := b.do(t, http.MethodGet, "/identity/v3/auth/tokens", nil, map[string]string{"X-Subject-Token": tok}); r.status != 401 {
		t.Errorf("without X-Auth-Token: %d", r.status)
	}
	if r := b.do(t, http.MethodGet, "/identity/v3/auth/tokens", nil, map[string]string{"X-Auth-Token": foreign, "X-Subject-Token": tok}); r.status != 403 {
		t.Errorf("a token of another project: %d", r.status)
	}
	if r := b.do(t, http.MethodGet, "/identity/v3/auth/tokens", nil, map[string]string{"X-Auth-Token": tok, "X-Subject-Token": "nope"}); r.status != 404 {
		t.Errorf("unknown subject: %d", r.status)
	}

	if r := b.do(t, http.MethodDelete, "/identity/v3/auth/tokens", nil, map[string]string{"X-Auth-Token": other, "X-Subject-Token": tok}); r.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	if r := b.do(t, http.MethodGet, "/identity/v3/auth/tokens", nil, map[string]string{"X-Auth-Token": other, "X-Subject-Token": tok}); r.status != 404 {
		t.Errorf("a revoked token validates: %d", r.status)
	}
	if _, err := b.auth.Authenticate(context.Background(), tok); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("a revoked token authenticates: %v", err)
	}
}

func TestStaticTokensValidateButAreNotRevocable(t *testing.T) {
	t.Parallel()
	b := setup(t, time.Hour)
	const static = "a-static-token-of-project-a"
	if err := b.st.PutToken(context.Background(), model.Token{Hash: b.auth.Hash(static), ProjectID: projA,
		Source: auth.SourceStatic, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	both := map[string]string{"X-Auth-Token": static, "X-Subject-Token": static}
	r := b.do(t, http.MethodGet, "/identity/v3/auth/tokens", nil, both)
	if r.status != 200 || tokenField(r, "project.id") != projA || tokenField(r, "expires_at") != neverExpires {
		t.Fatalf("validate a static token: %d %s", r.status, r.raw)
	}
	if r := b.do(t, http.MethodDelete, "/identity/v3/auth/tokens", nil, both); r.status != 403 {
		t.Fatalf("revoke a static token: %d", r.status)
	}
}

func TestExpiredTokens(t *testing.T) {
	t.Parallel()
	b := setup(t, time.Hour)
	tok, _ := b.login(t, "alice", "Default", "alice-pw", projA)
	b.clock.add(time.Hour + time.Second)
	fresh, _ := b.login(t, "alice", "Default", "alice-pw", projA) // issued on the moved clock
	r := b.do(t, http.MethodGet, "/identity/v3/auth/tokens", nil, map[string]string{"X-Auth-Token": fresh, "X-Subject-Token": tok})
	if r.status != 404 {
		t.Fatalf("an expired token validates: %d %s", r.status, r.raw)
	}
	// The login on the moved clock also pruned the expired tokens.
	if _, err := b.st.Token(context.Background(), b.auth.Hash(tok)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired token still stored: %v", err)
	}

	// A token issued by a clock a day behind is already expired for the API.
	b.clock.add(-50 * time.Hour)
	old, _ := b.login(t, "alice", "Default", "alice-pw", projA)
	if _, err := b.auth.Authenticate(context.Background(), old); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("the API accepts an expired token: %v", err)
	}
}

func TestVersionDocuments(t *testing.T) {
	t.Parallel()
	b := setup(t, time.Hour)
	r := b.do(t, http.MethodGet, "/identity/v3", nil, nil)
	if r.status != 200 || r.body["version"].(map[string]any)["status"] != "stable" {
		t.Fatalf("v3: %d %s", r.status, r.raw)
	}
	r = b.do(t, http.MethodGet, "/identity", nil, nil)
	values := r.body["versions"].(map[string]any)["values"].([]any)
	links := values[0].(map[string]any)["links"].([]any)
	if r.status != http.StatusMultipleChoices || links[0].(map[string]any)["href"] != b.srv.URL+"/identity/v3/" {
		t.Fatalf("versions: %d %s", r.status, r.raw)
	}
	if r := b.do(t, http.MethodPut, "/identity/v3/auth/tokens", nil, nil); r.status != 405 {
		t.Errorf("PUT: %d", r.status)
	}
	if r := b.do(t, http.MethodGet, "/identity/v3/users", nil, nil); r.status != 404 {
		t.Errorf("unknown path: %d", r.status)
	}
}

func TestAdvertisedBase(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ public, listen, want string }{
		{"https://db.example.com/", "0.0.0.0:8080", "https://db.example.com"},
		{"", "127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"", "[::1]:8080", "http://[::1]:8080"},
		{"", "0.0.0.0:8080", ""},
		{"", "[::]:8080", ""},
		{"", ":8080", ""},
		{"", "127.0.0.1:0", ""},
		{"", "", ""},
	} {
		if got := advertisedBase(tc.public, tc.listen); got != tc.want {
			t.Errorf("advertisedBase(%q, %q) = %q, want %q", tc.public, tc.listen, got, tc.want)
		}
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
