package compat_test

import (
	"context"
	"testing"

	dbaas "github.com/selectel/dbaas-go"

	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

// createDatastore creates a datastore with the SDK, waits as the provider
// does and returns it with its status getter.
func createDatastore(t *testing.T, s *session, opts dbaas.DatastoreCreateOpts) (dbaas.Datastore, func(context.Context) (dbaas.Status, error)) {
	t.Helper()
	ctx := context.Background()
	created, err := s.api.CreateDatastore(ctx, opts)
	check(t, "create the "+opts.Name+" datastore", err)
	get := func(ctx context.Context) (dbaas.Status, error) {
		ds, err := s.api.Datastore(ctx, created.ID)
		return ds.Status, err
	}
	waitActive(t, opts.Name, datastorePending, get)
	ds, err := s.api.Datastore(ctx, created.ID)
	check(t, "read the datastore", err)
	if ds.Name != opts.Name || ds.TypeID != opts.TypeID || ds.SubnetID != opts.SubnetID || ds.NodeCount != opts.NodeCount ||
		ds.ProjectID != projectP || len(ds.Connection) == 0 {
		t.Errorf("datastore drift: %+v", ds)
	}
	return ds, get
}

// prometheusMetricsToken plays selectel_dbaas_prometheus_metric_token_v1
// (no status to wait for).
func prometheusMetricsToken(t *testing.T, e *at.Env) {
	ctx := context.Background()
	api := mustLogin(t, e, projectP).api
	tok, err := api.CreatePrometheusMetricToken(ctx, dbaas.PrometheusMetricTokenCreateOpts{Name: "tf-metrics"})
	check(t, "create", err)
	if tok.Value == "" || tok.ProjectID != projectP || tok.Name != "tf-metrics" {
		t.Errorf("created token %+v", tok)
	}
	_, err = api.UpdatePrometheusMetricToken(ctx, tok.ID, dbaas.PrometheusMetricTokenUpdateOpts{Name: "tf-metrics-2"})
	check(t, "rename", err)
	got, err := api.PrometheusMetricToken(ctx, tok.ID)
	check(t, "read", err)
	if got.Name != "tf-metrics-2" || got.ID != tok.ID || got.ProjectID != projectP {
		t.Errorf("token drift: %+v", got)
	}
	// The provider's Read copies the value from GET into state.
	if got.Value != tok.Value {
		t.Errorf("value read back %q, created %q", got.Value, tok.Value)
	}
	list, err := api.PrometheusMetricTokens(ctx)
	if err != nil || len(list) != 1 || list[0].Value != tok.Value {
		t.Errorf("list: %+v %v", list, err)
	}
	check(t, "delete", api.DeletePrometheusMetricToken(ctx, tok.ID))
	waitDeleted(t, "metrics token", func(ctx context.Context) error { _, err := api.PrometheusMetricToken(ctx, tok.ID); return err })
}
