package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// endpoint is where and how to reach a server or sentinel.
type endpoint struct {
	network string // "unix" or "tcp"
	addr    string
	local   string // source IP for TCP connections ("" = kernel's choice)
	timeout time.Duration
}

func unixEndpoint(sock string) endpoint {
	return endpoint{network: "unix", addr: sock, timeout: 5 * time.Second}
}

// clientOptions are the go-redis options of the driver's clients: RESP2
// (Sentinel and older servers speak it), no client identity or maintenance
// notifications, one connection, no command retries, one dial attempt. first,
// when set, is an established connection the client uses before dialing.
func clientOptions(ep endpoint, cr cred, first net.Conn) *goredis.Options {
	d := &net.Dialer{Timeout: ep.timeout}
	if ep.network == "tcp" && ep.local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(ep.local)}
	}
	var handed atomic.Bool
	return &goredis.Options{
		Network:                  ep.network,
		Addr:                     ep.addr,
		Username:                 cr.user,
		Password:                 cr.pass,
		Protocol:                 2,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		DialTimeout:              ep.timeout,
		ReadTimeout:              ep.timeout,
		WriteTimeout:             ep.timeout,
		MaxRetries:               -1,
		DialerRetries:            1,
		PoolSize:                 1,
		ContextTimeoutEnabled:    true,
		Dialer: func(ctx context.Context, network, a string) (net.Conn, error) {
			if first != nil && handed.CompareAndSwap(false, true) {
				return first, nil
			}
			return d.DialContext(ctx, network, a)
		},
	}
}

// dialClient connects to ep first and only then builds a client on that
// connection, so that an unreachable server is a plain dial error (go-redis
// would retry and log each failed dial).
func dialClient(ctx context.Context, ep endpoint, cr cred) (*goredis.Client, error) {
	d := &net.Dialer{Timeout: ep.timeout}
	if ep.network == "tcp" && ep.local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(ep.local)}
	}
	conn, err := d.DialContext(ctx, ep.network, ep.addr)
	if err != nil {
		return nil, err
	}
	return goredis.NewClient(clientOptions(ep, cr, conn)), nil
}

// isAuthErr reports whether err means the password was missing or wrong.
func isAuthErr(err error) bool {
	if err == nil {
		return false
	}
	if goredis.IsAuthError(err) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "WRONGPASS") || strings.Contains(s, "NOAUTH") ||
		strings.Contains(s, "invalid password") || strings.Contains(s, "AUTH failed") ||
		strings.Contains(s, "invalid username-password")
}

// isLoading reports whether the server is loading its dataset.
func isLoading(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "LOADING")
}

// DialInternal connects to the server or sentinel at addr over TCP as c's
// internal user, with the driver's own client options (dialClient): for
// drivers that reach the servers over the network (the Kubernetes
// runtime's).
func DialInternal(ctx context.Context, c *engine.Cluster, addr string, timeout time.Duration) (*goredis.Client, error) {
	return dialClient(ctx, endpoint{network: "tcp", addr: addr, timeout: timeout}, internalCred(c))
}

// errAuth is returned when none of the known credentials is accepted.
var errAuth = errors.New("none of the known credentials is accepted")

// connect opens a client to ep, trying each credential in turn (the first
// is the one expected, the internal user's; the others are how servers set
// up before it existed, or during an interrupted password change, let the
// default user in). It returns the client and the credential that worked.
// A LOADING server counts as reachable.
func connect(ctx context.Context, ep endpoint, creds []cred) (*goredis.Client, cred, error) {
	var lastErr error
	for _, cr := range creds {
		cl, err := dialClient(ctx, ep, cr)
		if err != nil {
			return nil, cred{}, err
		}
		err = cl.Ping(ctx).Err()
		if err == nil || isLoading(err) {
			return cl, cr, nil
		}
		_ = cl.Close()
		if !isAuthErr(err) {
			return nil, cred{}, err
		}
		lastErr = err
	}
	if lastErr == nil {
		return nil, cred{}, fmt.Errorf("%w: no credentials", errAuth)
	}
	return nil, cred{}, fmt.Errorf("%w: %v", errAuth, lastErr)
}

// creds returns the credentials to try on a node's server or sentinel: the
// internal user's, then, for servers set up before it existed, the default
// user with the cluster's password and those the node's config files hold
// (read as the cluster's OS account: they are its files). extra passwords
// go first among the default user's.
func creds(r *proc.Runner, c *engine.Cluster, p paths, extra ...string) []cred {
	out := []cred{internalCred(c)}
	cands := append([]string{}, extra...)
	cands = append(cands, c.Password)
	if r != nil {
		if pw := confValue(r, p.conf, "requirepass"); pw != "" {
			cands = append(cands, pw)
		}
		if pw := sentinelAuthPass(r, p.sentinelConf); pw != "" {
			cands = append(cands, pw)
		}
	}
	seen := map[string]bool{}
	for _, pw := range cands {
		if pw != "" && !seen[pw] {
			seen[pw] = true
			out = append(out, cred{pass: pw})
		}
	}
	return out
}

// confValue returns the (unquoted) value of a one-argument directive in a
// Redis config file, "" when absent. The file is read as r's user.
func confValue(r *proc.Runner, path, name string) string {
	b, err := r.ReadFile(path)
	if err != nil {
		return ""
	}
	val := ""
	for _, line := range strings.Split(string(b), "\n") {
		args := splitArgs(line)
		if len(args) >= 2 && strings.EqualFold(args[0], name) {
			val = args[1]
		}
	}
	return val
}

// sentinelAuthPass returns the auth-pass a sentinel config holds for
// MasterName, read as r's user.
func sentinelAuthPass(r *proc.Runner, path string) string {
	b, err := r.ReadFile(path)
	if err != nil {
		return ""
	}
	val := ""
	for _, line := range strings.Split(string(b), "\n") {
		args := splitArgs(line)
		if len(args) >= 4 && args[0] == "sentinel" && args[1] == "auth-pass" && args[2] == MasterName {
			val = args[3]
		}
	}
	return val
}

// splitArgs splits a config line the way Redis does (sdssplitargs): blanks
// separate arguments; double quotes allow escapes, single quotes do not.
func splitArgs(line string) []string {
	var args []string
	i := 0
	for {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n') {
			i++
		}
		if i >= len(line) || (len(args) == 0 && line[i] == '#') {
			return args
		}
		var cur strings.Builder
		inq, insq := false, false
		for ; i < len(line); i++ {
			ch := line[i]
			if inq {
				if ch == '\\' && i+1 < len(line) {
					i++
					switch line[i] {
					case 'n':
						cur.WriteByte('\n')
					case 'r':
						cur.WriteByte('\r')
					case 't':
						cur.WriteByte('\t')
					case 'x':
						if i+2 < len(line) {
							if v, err := strconv.ParseUint(line[i+1:i+3], 16, 8); err == nil {
								cur.WriteByte(byte(v))
								i += 2
								continue
							}
						}
						cur.WriteByte('x')
					default:
						cur.WriteByte(line[i])
					}
				} else if ch == '"' {
					inq = false
					i++
					break
				} else {
					cur.WriteByte(ch)
				}
				continue
			}
			if insq {
				if ch == '\\' && i+1 < len(line) && line[i+1] == '\'' {
					cur.WriteByte('\'')
					i++
				} else if ch == '\'' {
					insq = false
					i++
					break
				} else {
					cur.WriteByte(ch)
				}
				continue
			}
			if ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' {
				break
			}
			if ch == '"' {
				inq = true
				continue
			}
			if ch == '\'' {
				insq = true
				continue
			}
			cur.WriteByte(ch)
		}
		args = append(args, cur.String())
	}
}

// parseInfo parses INFO output into key → value.
func parseInfo(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = v
		}
	}
	return m
}

// infoInt reads an integer INFO field, -1 when absent.
func infoInt(m map[string]string, k string) int64 {
	v, err := strconv.ParseInt(m[k], 10, 64)
	if err != nil {
		return -1
	}
	return v
}

// redisErr wraps an error from Redis with what the driver was doing.
func redisErr(what string, err error) error {
	return fmt.Errorf("%s: %w", what, err)
}
