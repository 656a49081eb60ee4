package redis

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
)

var _ engine.Validator = (*Driver)(nil)

// ValidateConfig asks Redis itself: a scratch redis-server (a Unix socket
// in a private directory, nothing else) starts from a configuration file
// with the tenant's parameters written as a node's redis.conf has them —
// Redis refuses a bad value there as it would at a node's restart — and
// then every changed parameter is set with CONFIG SET, as dbaasd applies
// it to a running node.
func (d *Driver) ValidateConfig(ctx context.Context, c *engine.Cluster, changed []string) error {
	names := make([]string, 0, len(c.Config))
	for k := range c.Config {
		names = append(names, k)
	}
	sort.Strings(names)
	values := map[string]string{}
	var lines []string
	for _, k := range names {
		if err := checkParamName(k); err != nil {
			return engine.Invalid(k, strings.TrimPrefix(err.Error(), engine.ErrInvalid.Error()+": "))
		}
		v, err := formatValue(c.Config[k])
		if err != nil {
			return engine.Invalid(k, strings.TrimPrefix(err.Error(), engine.ErrInvalid.Error()+": "))
		}
		if k == "maxmemory" {
			v = clampMaxMemory(v, c.Flavor)
		}
		values[k] = v
		lines = append(lines, k+" "+quote(v))
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cl, stop, err := d.scratchServer(sctx, lines)
	var exit *scratchExit
	if errors.As(err, &exit) {
		name, msg := configFileError(exit.Output)
		if msg == "" {
			return fmt.Errorf("check configuration: %w", err)
		}
		if name == "" && len(changed) == 1 {
			name = changed[0]
		}
		return engine.Invalid(name, msg)
	}
	if err != nil {
		return fmt.Errorf("check configuration: %w", err)
	}
	defer stop()
	for _, k := range changed {
		v, ok := values[k]
		if !ok {
			continue
		}
		if err := cl.ConfigSet(sctx, k, v).Err(); err != nil && !isImmutable(err) {
			if isRedisReply(err) {
				return engine.Invalid(k, err.Error())
			}
			return fmt.Errorf("check configuration: CONFIG SET %s: %w", k, err)
		}
	}
	return nil
}

var badLine = regexp.MustCompile(`(?m)^>>> '(.*)'\s*$`)

// configFileError reads what redis-server printed about a configuration
// file it refused:
//
//	*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***
//	Reading the configuration file, at line 9
//	>>> 'notify-keyspace-events "xyz"'
//	Invalid event class character. Use 'Ag$lshzxeKEtmdn'.
//
// and returns the directive's name and Redis's reason ("" when the output
// is not that).
func configFileError(out string) (name, msg string) {
	m := badLine.FindStringSubmatchIndex(out)
	if m == nil {
		return "", ""
	}
	line := out[m[2]:m[3]]
	if f := strings.Fields(line); len(f) > 0 {
		name = strings.ToLower(f[0])
	}
	var reason []string
	for _, l := range strings.Split(out[m[1]:], "\n") {
		if l = strings.TrimSpace(l); l != "" {
			reason = append(reason, l)
		}
	}
	msg = strings.Join(reason, " ")
	if msg == "" {
		msg = "Redis refuses " + line
	}
	return name, msg
}

// ValidateName accepts every name: Redis clusters have no named objects.
func (d *Driver) ValidateName(string, string) error { return nil }

// ValidateFirewall checks that the forwarder can enforce every entry: an
// address or a network, without an IPv6 zone.
func (d *Driver) ValidateFirewall(entries []string) error {
	for _, e := range entries {
		if a, err := netip.ParseAddr(strings.TrimSpace(e)); err == nil && a.Zone() != "" {
			return engine.Invalid("", fmt.Sprintf("entry %q has an IPv6 zone, which the firewall cannot match; give the address without %%%s", e, a.Zone()))
		}
	}
	if _, err := parseAllow(entries); err != nil {
		return engine.Invalid("", err.Error())
	}
	return nil
}
