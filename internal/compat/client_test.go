package compat_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud"
	"github.com/gophercloud/gophercloud/openstack"
	"github.com/gophercloud/gophercloud/openstack/identity/v3/tokens"
	dbaas "github.com/selectel/dbaas-go"

	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

// The identity setup every test uses: one user of a non-default domain
// with two projects, a region named like a real one (some provider
// versions only accept those names).
const (
	region   = "ru-9"
	domain   = "Acme"
	userName = "terraform"
	// The password holds the separators of --user to prove they survive.
	password = "Tf:Secret@pass-1"
	projectP = "0123456789abcdef0123456789abcdef"
	projectQ = "fedcba9876543210fedcba9876543210"

	serviceType = "managed-database" // the provider's DBaaS service type
)

// userSpec declares the user as an operator would with --user.
var userSpec = userName + ":" + password + ":" + projectP + "+" + projectQ + "@" + domain

// start runs a dbaasd with the identity user; reconcile runs real engines.
func start(t *testing.T, reconcile bool, ttl time.Duration) *at.Env {
	t.Helper()
	return at.Start(t, at.Options{Reconcile: reconcile, Users: []string{userSpec}, Region: region, TokenTTL: ttl})
}

// session is what the Terraform provider holds per project: the
// identity client go-selvpcclient builds and the SDK client made from the
// catalog's managed-database endpoint.
type session struct {
	identity *gophercloud.ServiceClient
	token    string
	endpoint tokens.Endpoint
	api      *dbaas.API
}

// login does what the provider does for each project: go-selvpcclient's
// NewServiceClient (password login with re-authentication, project
// scope, then the identity endpoint of the auth region from the catalog),
// its catalog lookup (GET /auth/tokens), the provider's region
// validation (an endpoint whose region equals the region) and endpoint
// choice (public interface, region_id equal to the region), and finally
// dbaas.NewDBAASClient with the token and the endpoint's URL.
func login(e *at.Env, user, pass, dom, project string) (*session, error) {
	provider, err := openstack.AuthenticatedClient(gophercloud.AuthOptions{
		AllowReauth:      true,
		IdentityEndpoint: e.URL + "/identity/v3",
		Username:         user,
		Password:         pass,
		DomainName:       dom,
		Scope:            &gophercloud.AuthScope{ProjectID: project},
	})
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	identity, err := openstack.NewIdentityV3(provider, gophercloud.EndpointOpts{
		Availability: gophercloud.AvailabilityPublic, Region: region,
	})
	if err != nil {
		return nil, fmt.Errorf("identity endpoint: %w", err)
	}
	catalog, err := tokens.Get(identity, identity.Token()).ExtractServiceCatalog()
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	var endpoints []tokens.Endpoint
	for _, s := range catalog.Entries {
		if s.Type == serviceType {
			endpoints = s.Endpoints
			break
		}
	}
	if !slices.ContainsFunc(endpoints, func(ep tokens.Endpoint) bool { return ep.Region == region }) {
		return nil, fmt.Errorf("validate region: no %s endpoint with region %q in %+v", serviceType, region, endpoints)
	}
	i := slices.IndexFunc(endpoints, func(ep tokens.Endpoint) bool { return ep.Interface == "public" && ep.RegionID == region })
	if i < 0 {
		return nil, fmt.Errorf("endpoint: no public %s endpoint with region_id %q in %+v", serviceType, region, endpoints)
	}
	api, err := dbaas.NewDBAASClient(identity.Token(), endpoints[i].URL)
	if err != nil {
		return nil, err
	}
	return &session{identity: identity, token: identity.Token(), endpoint: endpoints[i], api: api}, nil
}

func mustLogin(t *testing.T, e *at.Env, project string) *session {
	t.Helper()
	s, err := login(e, userName, password, domain, project)
	if err != nil {
		t.Fatalf("log in as the provider does: %v", err)
	}
	return s
}

// Status lists of the provider's waiters.
var (
	datastorePending = []dbaas.Status{dbaas.StatusPendingCreate, dbaas.StatusPendingUpdate, dbaas.StatusResizing}
	objectPending    = []dbaas.Status{dbaas.StatusPendingCreate, dbaas.StatusPendingUpdate}
)

const (
	pollEvery   = 250 * time.Millisecond // the provider waits 10s, then polls every 10-20s
	waitTimeout = 4 * time.Minute
)

// waitActive polls like the provider's Wait…ActiveState: ACTIVE ends the
// wait; a status outside pending, or an error, fails it at once.
func waitActive(t *testing.T, what string, pending []dbaas.Status, get func(context.Context) (dbaas.Status, error)) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(waitTimeout)
	for {
		st, err := get(ctx)
		if err != nil {
			t.Fatalf("wait for %s to become ACTIVE: %v", what, err)
		}
		if st == dbaas.StatusActive {
			return
		}
		if !slices.Contains(pending, st) {
			t.Fatalf("wait for %s to become ACTIVE: unexpected state %q, wanted target ACTIVE", what, st)
		}
		if time.Now().After(deadline) {
			t.Fatalf("wait for %s to become ACTIVE: still %s after %v", what, st, waitTimeout)
		}
		time.Sleep(pollEvery)
	}
}

// waitDeleted polls like the provider's delete waiters: the state is the
// HTTP status of a read ("200" pending, "404" the target), taken from the
// SDK's DBaaSAPIError; any other status or error fails at once.
func waitDeleted(t *testing.T, what string, get func(context.Context) error) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(waitTimeout)
	for {
		state := "200"
		if err := get(ctx); err != nil {
			var apiErr *dbaas.DBaaSAPIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("wait for %s to be deleted: %v", what, err)
			}
			state = strconv.Itoa(apiErr.StatusCode())
		}
		switch {
		case state == "404":
			return
		case state != "200":
			t.Fatalf("wait for %s to be deleted: unexpected state %q, wanted target 404", what, state)
		case time.Now().After(deadline):
			t.Fatalf("wait for %s to be deleted: still there after %v", what, waitTimeout)
		}
		time.Sleep(pollEvery)
	}
}

// check fails the test on an SDK error.
func check(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// apiStatus returns the HTTP status of an SDK error (0 when it is not an API error).
func apiStatus(err error) int {
	var apiErr *dbaas.DBaaSAPIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode()
	}
	return 0
}

// stringConfig converts a datastore's config as the provider's read does
// (convertFieldToStringByType): what it keeps in state.
func stringConfig(cfg map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range cfg {
		switch x := v.(type) {
		case int:
			out[k] = strconv.Itoa(x)
		case float64:
			out[k] = strconv.FormatFloat(x, 'f', -1, 64)
		case float32:
			out[k] = strconv.FormatFloat(float64(x), 'f', -1, 32)
		case string:
			out[k] = x
		case bool:
			out[k] = strconv.FormatBool(x)
		default:
			out[k] = ""
		}
	}
	return out
}

// typeOf returns the (first) datastore type of an engine, as the
// provider's datastore-type data source filters them.
func typeOf(t *testing.T, types []dbaas.DatastoreType, engine string) dbaas.DatastoreType {
	t.Helper()
	for _, dt := range types {
		if dt.Engine == engine {
			return dt
		}
	}
	t.Fatalf("no datastore type for %s in %+v", engine, types)
	return dbaas.DatastoreType{}
}
