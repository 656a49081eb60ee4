package kafka

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// SuperUser is the SCRAM superuser dbaasd manages each cluster as. Users
// cannot take this name.
const SuperUser = "dbaasd-admin"

// nodeAddr is where a node's broker listens.
func nodeAddr(n *engine.Node) string {
	return net.JoinHostPort(n.Host, strconv.Itoa(n.Port))
}

// seeds are the addresses of every node.
func seeds(c *engine.Cluster) []string {
	out := make([]string, 0, len(c.Nodes))
	for i := range c.Nodes {
		out = append(out, nodeAddr(&c.Nodes[i]))
	}
	return out
}

// adminClient connects to the cluster as the superuser. The caller closes
// the returned kgo client.
func adminClient(c *engine.Cluster) (*kadm.Client, *kgo.Client, error) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(seeds(c)...),
		kgo.SASL(scram.Auth{User: SuperUser, Pass: c.AdminPassword}.AsSha512Mechanism()),
		kgo.ClientID("dbaasd"),
		kgo.DialTimeout(5*time.Second),
		kgo.RetryTimeout(20*time.Second),
		kgo.RequestRetries(5),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("kafka admin client: %w", err)
	}
	return kadm.NewClient(cl), cl, nil
}

// withAdmin runs fn with a superuser client.
func withAdmin(ctx context.Context, c *engine.Cluster, fn func(*kadm.Client, *kgo.Client) error) error {
	if len(c.Nodes) == 0 {
		return fmt.Errorf("%w: cluster has no nodes", engine.ErrInvalid)
	}
	adm, cl, err := adminClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	return fn(adm, cl)
}

// codeErr turns a Kafka error code and message into an error that carries
// both (nil for code 0).
func codeErr(code int16, msg *string) error {
	err := kerr.ErrorForCode(code)
	if err == nil {
		return nil
	}
	if msg != nil && *msg != "" && !strings.Contains(err.Error(), *msg) {
		return fmt.Errorf("%w: %s", err, *msg)
	}
	return err
}

// probe sends an ApiVersions request (which needs no authentication) to one
// broker and waits for a valid answer: the broker's request loop runs.
func probe(ctx context.Context, addr string, timeout time.Duration) error {
	_, err := apiVersions(ctx, addr, 0, timeout)
	return err
}

// apiVersions sends one ApiVersions request at the given version (0 to 3)
// over a fresh connection and returns the decoded answer.
func apiVersions(ctx context.Context, addr string, version int16, timeout time.Duration) (*kmsg.ApiVersionsResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer func() { _ = conn.Close() }()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = version
	req.ClientSoftwareName, req.ClientSoftwareVersion = "dbaasd", "1"
	const corr = 1
	buf := kmsg.NewRequestFormatter(kmsg.FormatterClientID("dbaasd-probe")).AppendRequest(nil, req, corr)
	if _, err := conn.Write(buf); err != nil {
		return nil, fmt.Errorf("send ApiVersions: %w", err)
	}
	var size [4]byte
	if _, err := io.ReadFull(conn, size[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("connection closed by the broker before it answered (firewall?)")
		}
		return nil, fmt.Errorf("read ApiVersions answer: %w", err)
	}
	n := binary.BigEndian.Uint32(size[:])
	if n < 4 || n > 1<<20 {
		return nil, fmt.Errorf("ApiVersions answer of %d bytes", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(conn, body); err != nil {
		return nil, fmt.Errorf("read ApiVersions answer: %w", err)
	}
	if got := int32(binary.BigEndian.Uint32(body)); got != corr {
		return nil, fmt.Errorf("ApiVersions answer for correlation id %d, want %d", got, corr)
	}
	// ApiVersions answers always use the v0 response header.
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	if err := resp.ReadFrom(body[4:]); err != nil {
		return nil, fmt.Errorf("decode ApiVersions answer: %w", err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return nil, fmt.Errorf("ApiVersions: %w", err)
	}
	if len(resp.ApiKeys) == 0 {
		return nil, errors.New("ApiVersions answer lists no API")
	}
	return resp, nil
}
