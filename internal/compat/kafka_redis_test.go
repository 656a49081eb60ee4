package compat_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/uuid"
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

func deleteDatastore(t *testing.T, s *session, id string) {
	t.Helper()
	check(t, "delete the datastore", s.api.DeleteDatastore(context.Background(), id))
	waitDeleted(t, "datastore", func(ctx context.Context) error { _, err := s.api.Datastore(ctx, id); return err })
}

// TestKafkaAsTheProvider plays selectel_dbaas_kafka_datastore_v1 with a
// user, a topic whose partitions grow, and an ACL.
func TestKafkaAsTheProvider(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	e := start(t, true, 0)
	ctx := context.Background()
	s := mustLogin(t, e, projectP)
	api := s.api
	types, err := api.DatastoreTypes(ctx)
	check(t, "datastore types", err)
	ds, _ := createDatastore(t, s, dbaas.DatastoreCreateOpts{Name: "tf-kafka", TypeID: typeOf(t, types, "kafka").ID,
		SubnetID: uuid.NewString(), NodeCount: 1, Flavor: &dbaas.Flavor{Vcpus: 1, RAM: 1024, Disk: 5}, BackupRetentionDays: 7})

	user, err := api.CreateUser(ctx, dbaas.UserCreateOpts{Name: "tf_producer", Password: "Tf-kafka-pass-1", DatastoreID: ds.ID})
	check(t, "create user", err)
	getUser := func(ctx context.Context) (dbaas.Status, error) {
		u, err := api.User(ctx, user.ID)
		return u.Status, err
	}
	waitActive(t, "user", objectPending, getUser)

	// selectel_dbaas_kafka_topic_v1: created with 1 partition, grown to 3.
	topic, err := api.CreateTopic(ctx, dbaas.TopicCreateOpts{DatastoreID: ds.ID, Name: "tf-events", Partitions: 1})
	check(t, "create topic", err)
	getTopic := func(ctx context.Context) (dbaas.Status, error) {
		x, err := api.Topic(ctx, topic.ID)
		return x.Status, err
	}
	waitActive(t, "topic", objectPending, getTopic)
	_, err = api.UpdateTopic(ctx, topic.ID, dbaas.TopicUpdateOpts{Partitions: 3})
	check(t, "grow the topic", err)
	waitActive(t, "topic after growing", objectPending, getTopic)
	gotTopic, err := api.Topic(ctx, topic.ID)
	check(t, "read topic", err)
	if gotTopic.Name != "tf-events" || gotTopic.Partitions != 3 || gotTopic.DatastoreID != ds.ID {
		t.Errorf("topic drift: %+v", gotTopic)
	}
	topics, err := api.Topics(ctx, &dbaas.TopicQueryParams{DatastoreID: ds.ID})
	if err != nil || len(topics) != 1 {
		t.Errorf("topics of the datastore: %+v %v", topics, err)
	}

	// selectel_dbaas_kafka_acl_v1: read-only, then read-write.
	acl, err := api.CreateACL(ctx, dbaas.ACLCreateOpts{DatastoreID: ds.ID, Pattern: "tf-events", PatternType: "literal",
		UserID: user.ID, AllowRead: true, AllowWrite: false})
	check(t, "create ACL", err)
	getACL := func(ctx context.Context) (dbaas.Status, error) { x, err := api.ACL(ctx, acl.ID); return x.Status, err }
	waitActive(t, "ACL", objectPending, getACL)
	_, err = api.UpdateACL(ctx, acl.ID, dbaas.ACLUpdateOpts{AllowRead: true, AllowWrite: true})
	check(t, "update ACL", err)
	waitActive(t, "ACL after update", objectPending, getACL)
	gotACL, err := api.ACL(ctx, acl.ID)
	check(t, "read ACL", err)
	if gotACL.Pattern != "tf-events" || gotACL.PatternType != "literal" || gotACL.UserID != user.ID || !gotACL.AllowRead || !gotACL.AllowWrite {
		t.Errorf("ACL drift: %+v", gotACL)
	}

	check(t, "delete ACL", api.DeleteACL(ctx, acl.ID))
	waitDeleted(t, "ACL", func(ctx context.Context) error { _, err := api.ACL(ctx, acl.ID); return err })
	check(t, "delete topic", api.DeleteTopic(ctx, topic.ID))
	waitDeleted(t, "topic", func(ctx context.Context) error { _, err := api.Topic(ctx, topic.ID); return err })
	check(t, "delete user", api.DeleteUser(ctx, user.ID))
	waitDeleted(t, "user", func(ctx context.Context) error { _, err := api.User(ctx, user.ID); return err })
	deleteDatastore(t, s, ds.ID)
}

// TestRedisAsTheProvider plays selectel_dbaas_redis_datastore_v1: a
// predefined flavor found as the flavor data source does, a password set
// at creation and changed later, a configuration parameter.
func TestRedisAsTheProvider(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	e := start(t, true, 0)
	ctx := context.Background()
	s := mustLogin(t, e, projectP)
	api := s.api
	types, err := api.DatastoreTypes(ctx)
	check(t, "datastore types", err)
	redisType := typeOf(t, types, "redis")
	flavors, err := api.Flavors(ctx)
	check(t, "flavors", err)
	i := slices.IndexFunc(flavors, func(f dbaas.FlavorResponse) bool { return slices.Contains(f.DatastoreTypeIDs, redisType.ID) })
	if i < 0 {
		t.Fatalf("no flavor for redis in %+v", flavors)
	}
	ds, get := createDatastore(t, s, dbaas.DatastoreCreateOpts{Name: "tf-redis", TypeID: redisType.ID, SubnetID: uuid.NewString(),
		NodeCount: 1, FlavorID: flavors[i].ID, RedisPassword: "Tf-redis-pass-1", BackupRetentionDays: 7,
		Config: map[string]any{"maxmemory-policy": "allkeys-lru"}})
	if ds.FlavorID != flavors[i].ID || stringConfig(ds.Config)["maxmemory-policy"] != "allkeys-lru" {
		t.Errorf("flavor_id %q, config %v", ds.FlavorID, ds.Config)
	}

	_, err = api.PasswordDatastore(ctx, ds.ID, dbaas.DatastorePasswordOpts{RedisPassword: "Tf-redis-pass-2"})
	check(t, "change the password", err)
	waitActive(t, "datastore after the password change", datastorePending, get)
	deleteDatastore(t, s, ds.ID)
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
