package kafka

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

// newDriver returns a driver that runs this test binary as its broker.
func newDriver(t testing.TB) *Driver {
	t.Helper()
	d, err := New(Options{
		BrokerCommand: testBrokerCommand,
		// The race detector's default one-second pause at exit would
		// slow every stop down.
		BrokerEnv: []string{brokerEnv + "=1", "GORACE=atexit_sleep_ms=0"},
		Logger:    slog.New(slog.NewTextHandler(testWriter{t}, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// testWriter sends driver logs to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startCluster ensures a fresh cluster of n nodes, destroyed at the end.
func startCluster(t *testing.T, n int) (*Driver, *engine.Cluster) {
	t.Helper()
	enginetest.NeedsEngine(t, "Kafka brokers")
	d := newDriver(t)
	c := enginetest.NewCluster(t, engine.Kafka, n)
	t.Cleanup(func() {
		// The broker runs this (race-enabled) test binary: fail on a
		// data race it reported before its log goes with the cluster.
		home := homeNode(c)
		_ = d.Stop(context.Background(), c)
		if log, err := os.ReadFile(layout{home: home}.log()); err == nil && strings.Contains(string(log), "DATA RACE") {
			t.Errorf("the broker reported a data race:\n%s", log)
		}
		_ = d.Destroy(context.Background(), c)
	})
	if err := d.Ensure(enginetest.Ctx(t), c); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	return d, c
}

// must fails the test on an error.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// ctxFor returns a context bounded to d.
func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// client connects to the cluster as a SASL/SCRAM-SHA-512 user.
func client(t *testing.T, c *engine.Cluster, user, pass string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	opts = append([]kgo.Opt{
		kgo.SeedBrokers(seeds(c)...),
		kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()),
		kgo.RetryTimeout(5 * time.Second),
		kgo.RecordDeliveryTimeout(10 * time.Second),
	}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// produce sends values to a topic as the user and waits for the acks.
func produce(t *testing.T, c *engine.Cluster, user, pass, topic string, values ...string) error {
	t.Helper()
	cl := client(t, c, user, pass)
	defer cl.Close()
	var recs []*kgo.Record
	for _, v := range values {
		recs = append(recs, &kgo.Record{Topic: topic, Value: []byte(v)})
	}
	return cl.ProduceSync(ctxFor(t, 20*time.Second), recs...).FirstErr()
}

// consume reads want records of a topic from the start in a consumer group
// as the user, or returns the first error a fetch reports.
func consume(t *testing.T, c *engine.Cluster, user, pass, topic, group string, want int) ([]string, error) {
	t.Helper()
	opts := []kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
	if group != "" {
		opts = append(opts, kgo.ConsumerGroup(group), kgo.DisableAutoCommit())
	}
	cl := client(t, c, user, pass, opts...)
	defer cl.Close()
	ctx := ctxFor(t, 20*time.Second)
	var got []string
	for len(got) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return got, ctx.Err()
		}
		for _, fe := range fs.Errors() {
			if !errors.Is(fe.Err, context.DeadlineExceeded) {
				return got, fe.Err
			}
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	if group != "" {
		if err := cl.CommitUncommittedOffsets(ctx); err != nil {
			return got, err
		}
	}
	return got, nil
}

// isAuthzErr reports a Kafka authorization failure.
func isAuthzErr(err error) bool {
	return errors.Is(err, kerr.TopicAuthorizationFailed) || errors.Is(err, kerr.GroupAuthorizationFailed) ||
		errors.Is(err, kerr.ClusterAuthorizationFailed) || errors.Is(err, kerr.TransactionalIDAuthorizationFailed)
}

// boundDialer dials from a given local address.
func boundDialer(ip string) kgo.Opt {
	return kgo.Dialer(func(ctx context.Context, network, host string) (net.Conn, error) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 3 * time.Second}
		return d.DialContext(ctx, network, host)
	})
}
