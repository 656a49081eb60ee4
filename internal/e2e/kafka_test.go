package e2e_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

func kafkaClient(t *testing.T, addr, user, password string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	opts = append([]kgo.Opt{kgo.SeedBrokers(addr),
		kgo.SASL(scram.Auth{User: user, Pass: password}.AsSha512Mechanism()),
		kgo.RequestRetries(1), kgo.RetryTimeout(5 * time.Second)}, opts...)
	c, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestKafkaEndToEnd creates a Kafka datastore, users, a topic and ACLs
// through the API and checks them with franz-go: an authorised user
// produces and consumes, a user without an ACL is refused, partitions grow.
func TestKafkaEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	t.Parallel()
	e := at.Start(t, at.Options{Reconcile: true})
	ds := e.CreateDatastore(at.TokenA, "kafka", "events", 1)
	r := e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	addr := r.Str("datastore.connection.master")
	alice := at.MustPost(t, e, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": ds, "name": "alice", "password": "Secret-pass-1"}}).Str("user.id")
	at.MustPost(t, e, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": ds, "name": "eve", "password": "Secret-pass-2"}})
	topic := at.MustPost(t, e, "/v1/topics", map[string]any{"topic": map[string]any{"datastore_id": ds, "name": "orders", "partitions": 1}}).Str("topic.id")
	acl := at.MustPost(t, e, "/v1/acls", map[string]any{"acl": map[string]any{"datastore_id": ds, "user_id": alice, "pattern": "orders",
		"pattern_type": "literal", "allow_read": true, "allow_write": true}}).Str("acl.id")
	e.WaitStatus(at.TokenA, "/v1/acls/"+acl, "acl", "ACTIVE", wait)
	e.WaitStatus(at.TokenA, "/v1/topics/"+topic, "topic", "ACTIVE", wait)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	prod := kafkaClient(t, addr, "alice", "Secret-pass-1")
	if err := prod.ProduceSync(ctx, &kgo.Record{Topic: "orders", Value: []byte("order-1")}).FirstErr(); err != nil {
		t.Fatalf("alice cannot produce: %v", err)
	}
	cons := kafkaClient(t, addr, "alice", "Secret-pass-1", kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	fs := cons.PollFetches(ctx)
	if errs := fs.Errors(); len(errs) > 0 {
		t.Fatalf("alice cannot consume: %v", errs)
	}
	if recs := fs.Records(); len(recs) != 1 || string(recs[0].Value) != "order-1" {
		t.Fatalf("consumed %d records", len(recs))
	}
	evil := kafkaClient(t, addr, "eve", "Secret-pass-2")
	err := evil.ProduceSync(ctx, &kgo.Record{Topic: "orders", Value: []byte("x")}).FirstErr()
	if !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Errorf("eve without an ACL produced (err %v)", err)
	}
	// Partitions grow, and never shrink.
	at.MustPut(t, e, "/v1/topics/"+topic, map[string]any{"topic": map[string]any{"partitions": 3}})
	e.WaitStatus(at.TokenA, "/v1/topics/"+topic, "topic", "ACTIVE", wait)
	adm := kadm.NewClient(kafkaClient(t, addr, "alice", "Secret-pass-1"))
	md, err := adm.Metadata(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(md.Topics["orders"].Partitions); n != 3 {
		t.Errorf("orders has %d partitions, want 3", n)
	}
	if r := e.Do(at.TokenA, http.MethodPut, "/v1/topics/"+topic, map[string]any{"topic": map[string]any{"partitions": 2}}); r.Status != http.StatusBadRequest || !strings.Contains(r.Str("error.message"), "only grow") {
		t.Errorf("shrinking: %d %s", r.Status, r.Body)
	}
	// A database on Kafka does not apply.
	if r := e.Do(at.TokenA, http.MethodPost, "/v1/databases", map[string]any{"database": map[string]any{"datastore_id": ds, "name": "x"}}); r.Status != http.StatusBadRequest || !strings.Contains(r.Str("error.message"), "do not apply") {
		t.Errorf("database on Kafka: %d %s", r.Status, r.Body)
	}
	// Revoking the ACL takes the access away.
	if r := e.Do(at.TokenA, http.MethodDelete, "/v1/acls/"+acl, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete acl: %d", r.Status)
	}
	e.WaitGone(at.TokenA, "/v1/acls/"+acl, wait)
	fresh := kafkaClient(t, addr, "alice", "Secret-pass-1")
	if err := fresh.ProduceSync(ctx, &kgo.Record{Topic: "orders", Value: []byte("x")}).FirstErr(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Errorf("alice still produces after her ACL was deleted (err %v)", err)
	}
}
