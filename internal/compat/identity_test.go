package compat_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud"
	"github.com/gophercloud/gophercloud/openstack/identity/v3/tokens"
	dbaas "github.com/selectel/dbaas-go"

	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

// TestIdentity runs the identity checks (and the metrics token
// resource, which needs no engine) against one dbaasd without engines.
func TestIdentity(t *testing.T) {
	t.Parallel()
	e := start(t, false, 0)
	t.Run("ProviderLogin", func(t *testing.T) { t.Parallel(); providerLogin(t, e) })
	t.Run("SDKOpenstackCredentials", func(t *testing.T) { t.Parallel(); sdkOpenstackCredentials(t, e) })
	t.Run("LoginRefusals", func(t *testing.T) { t.Parallel(); loginRefusals(t, e) })
	t.Run("PrometheusMetricsToken", func(t *testing.T) { t.Parallel(); prometheusMetricsToken(t, e) })
}

// providerLogin logs in to two projects as the Terraform provider does
// and uses each token with the SDK.
func providerLogin(t *testing.T, e *at.Env) {
	ctx := context.Background()
	p := mustLogin(t, e, projectP)
	if p.identity.Endpoint != e.URL+"/identity/v3/" {
		t.Errorf("identity endpoint from the catalog: %s", p.identity.Endpoint)
	}
	if p.endpoint.URL != e.URL+"/v1" || p.endpoint.Region != region || p.endpoint.RegionID != region {
		t.Errorf("managed-database endpoint: %+v", p.endpoint)
	}
	project, err := tokens.Get(p.identity, p.token).ExtractProject()
	if err != nil || project.ID != projectP {
		t.Fatalf("token project: %+v %v", project, err)
	}
	user, err := tokens.Get(p.identity, p.token).ExtractUser()
	if err != nil || user.Name != userName || user.Domain.Name != domain {
		t.Fatalf("token user: %+v %v", user, err)
	}
	types, err := p.api.DatastoreTypes(ctx)
	if err != nil || len(types) == 0 {
		t.Fatalf("datastore types with the identity token: %v %v", types, err)
	}

	// Each project gets its own login and sees only its own datastores.
	q := mustLogin(t, e, projectQ)
	if q.token == p.token {
		t.Fatal("two projects share a token")
	}
	ds, err := q.api.CreateDatastore(ctx, dbaas.DatastoreCreateOpts{Name: "in-q", TypeID: typeOf(t, types, "postgresql").ID,
		SubnetID: "8a9f3d5e-2c1b-4e7a-9d6f-0b1c2d3e4f5a", NodeCount: 1, Flavor: &dbaas.Flavor{Vcpus: 1, RAM: 1024, Disk: 5}})
	check(t, "create a datastore in project Q", err)
	if ds.ProjectID != projectQ {
		t.Errorf("datastore project %s, want %s", ds.ProjectID, projectQ)
	}
	if _, err := p.api.Datastore(ctx, ds.ID); apiStatus(err) != http.StatusNotFound {
		t.Errorf("project P reads project Q's datastore: %v", err)
	}
	check(t, "delete", q.api.DeleteDatastore(ctx, ds.ID))
}

// sdkOpenstackCredentials uses the SDK's own constructor, which finds
// the endpoint through gophercloud (a URL with a trailing slash, so every
// path the SDK appends starts with a double slash).
func sdkOpenstackCredentials(t *testing.T, e *at.Env) {
	ctx := context.Background()
	p := mustLogin(t, e, projectP)
	for name, token := range map[string]string{"identity token": p.token, "static token": at.TokenA} {
		api, err := dbaas.NewDBAASClientV1WithOpenstackCredentials(token, e.URL+"/identity/v3", region, serviceType)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if api.Endpoint != e.URL+"/v1/" {
			t.Errorf("%s: endpoint %s", name, api.Endpoint)
		}
		types, err := api.DatastoreTypes(ctx)
		if err != nil || len(types) == 0 {
			t.Fatalf("%s: datastore types: %v %v", name, types, err)
		}
		if _, err := api.DatastoreType(ctx, types[0].ID); err != nil {
			t.Fatalf("%s: datastore type: %v", name, err)
		}
	}
}

// loginRefusals: a wrong password, domain or user, and a project the
// user may not use, are all refused with 401 and no token.
func loginRefusals(t *testing.T, e *at.Env) {
	for _, tc := range []struct{ name, user, pass, dom, project string }{
		{"wrong password", userName, "nope", domain, projectP},
		{"wrong domain", userName, password, "Default", projectP},
		{"unknown user", "someone", password, domain, projectP},
		{"foreign project", userName, password, domain, at.ProjectC},
	} {
		_, err := login(e, tc.user, tc.pass, tc.dom, tc.project)
		var unauthorized gophercloud.ErrDefault401
		if !errors.As(err, &unauthorized) {
			t.Errorf("%s: %v, want 401", tc.name, err)
		}
	}
	// The raw answer is a Keystone error body (e.Do checks its shape).
	r := e.Do("", http.MethodPost, "/identity/v3/auth/tokens", map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{"user": map[string]any{
			"name": userName, "domain": map[string]any{"name": domain}, "password": "nope"}}},
		"scope": map[string]any{"project": map[string]any{"id": projectP}}}})
	if r.Status != http.StatusUnauthorized || r.Str("error.title") != "Unauthorized" || r.Header.Get("X-Subject-Token") != "" {
		t.Fatalf("wrong password: %d %s", r.Status, r.Body)
	}
}

// TestTokensExpireAndAreRevoked: the API refuses an identity token once
// it expired or was revoked, and the SDK sees a 401 API error.
func TestTokensExpireAndAreRevoked(t *testing.T) {
	t.Parallel()
	const ttl = 5 * time.Second
	e := start(t, false, ttl)
	ctx := context.Background()
	expiring := mustLogin(t, e, projectP)
	issued := time.Now()
	revoked := mustLogin(t, e, projectP)
	check(t, "use a fresh token", func() error { _, err := revoked.api.Datastores(ctx, nil); return err }())

	if err := tokens.Revoke(expiring.identity, revoked.token).Err; err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if _, err := revoked.api.Datastores(ctx, nil); apiStatus(err) != http.StatusUnauthorized {
		t.Errorf("a revoked token is accepted: %v", err)
	}
	if ok, err := tokens.Validate(expiring.identity, revoked.token); ok || err != nil {
		t.Errorf("validate a revoked token: %v %v", ok, err)
	}

	time.Sleep(time.Until(issued.Add(ttl + 200*time.Millisecond)))
	if _, err := expiring.api.Datastores(ctx, nil); apiStatus(err) != http.StatusUnauthorized {
		t.Errorf("an expired token is accepted: %v", err)
	}
	// The provider's identity client logs in again by itself (AllowReauth)
	// when its token is refused, and the new token validates.
	if _, err := tokens.Get(expiring.identity, expiring.token).ExtractServiceCatalog(); err == nil {
		t.Error("an expired token validates")
	}
	if expiring.identity.Token() == expiring.token {
		t.Fatal("no new token after re-authentication")
	}
	if _, err := tokens.Get(expiring.identity, expiring.identity.Token()).ExtractServiceCatalog(); err != nil {
		t.Errorf("catalog with the new token: %v", err)
	}
}
