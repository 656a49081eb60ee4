package kafka

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

// TestLibrdkafkaClient produces and consumes with kcat (librdkafka) over
// SASL/SCRAM, when kcat is installed (Debian 12: kcat 1.7.1 on librdkafka
// 2.0.2). Such a librdkafka refuses to start SASL with a broker that does
// not advertise SaslHandshake v0, which Kafka 4 removed: it works with a
// datastore of version 3.x and is refused by the default (4.x) one, as it
// would be by a real Kafka 4 broker.
func TestLibrdkafkaClient(t *testing.T) {
	t.Parallel()
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed")
	}
	for _, version := range []string{"3.7", ""} {
		t.Run("version="+version, func(t *testing.T) {
			d := newDriver(t)
			c := enginetest.NewCluster(t, engine.Kafka, 1)
			c.Version = version
			t.Cleanup(func() { _ = d.Destroy(context.Background(), c) })
			ctx := enginetest.Ctx(t)
			must(t, d.Ensure(ctx, c))
			must(t, d.EnsureTopic(ctx, c, engine.Topic{Name: "rd", Partitions: 1}))
			must(t, d.EnsureUser(ctx, c, engine.User{Name: "rdk", Password: "rdk-pass"}))
			must(t, d.EnsureACL(ctx, c, engine.ACL{User: "rdk", Pattern: "rd", PatternType: engine.PatternLiteral, Read: true, Write: true}))

			for _, mech := range []string{mechScram512, mechScram256} {
				// Credentials go in a config file, not on the command line.
				conf := t.TempDir() + "/kcat.conf"
				must(t, os.WriteFile(conf, []byte("security.protocol=SASL_PLAINTEXT\nsasl.mechanisms="+mech+"\nsasl.username=rdk\nsasl.password=rdk-pass\n"), 0o600))
				run := func(stdin string, args ...string) (string, error) {
					cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
					defer cancel()
					cmd := exec.CommandContext(cctx, kcat, append([]string{"-F", conf, "-b", seeds(c)[0]}, args...)...)
					cmd.Stdin = strings.NewReader(stdin)
					out, err := cmd.CombinedOutput()
					return string(out), err
				}
				out, err := run("hello-"+mech+"\n", "-P", "-t", "rd")
				if version == "" {
					if err == nil || !strings.Contains(out, "SASL Handshake not supported") {
						t.Fatalf("kcat with a Kafka 4 broker: %v: %s; want the SaslHandshake refusal", err, out)
					}
					t.Logf("kcat against the default version is refused, as by Kafka 4: %s", lastLine(out))
					continue
				}
				if err != nil {
					t.Fatalf("kcat produce with %s: %v: %s", mech, err, out)
				}
				out, err = run("", "-C", "-t", "rd", "-o", "beginning", "-e", "-q")
				if err != nil || !strings.Contains(out, "hello-"+mech) {
					t.Fatalf("kcat consume with %s: %v: %s", mech, err, out)
				}
			}
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
