package kafka

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/dbaasd/dbaasd/internal/engine"
)

var _ engine.Validator = (*Driver)(nil)

// ValidateConfig checks the configuration against the parameters'
// definitions (each a Kafka int or long, with the bounds Kafka gives it)
// and the rule the broker applies when a consumer joins a group: a session
// timeout must lie between group.min.session.timeout.ms and
// group.max.session.timeout.ms, so a minimum above the maximum would let
// no consumer join.
func (d *Driver) ValidateConfig(_ context.Context, c *engine.Cluster, _ []string) error {
	names := make([]string, 0, len(c.Config))
	for k := range c.Config {
		names = append(names, k)
	}
	sort.Strings(names)
	effective := map[string]float64{}
	for _, p := range params {
		if f, ok := p.Default.(float64); ok {
			effective[p.Name] = f
		}
	}
	for _, name := range names {
		s, err := resolveConfig(map[string]any{name: c.Config[name]})
		if err != nil {
			return engine.Invalid(name, strings.TrimPrefix(err.Error(), engine.ErrInvalid.Error()+": "))
		}
		if v, ok := s.brokerConfigs[name]; ok {
			var f float64
			_, _ = fmt.Sscan(v, &f)
			effective[name] = f
		}
	}
	const lo, hi = "group.min.session.timeout.ms", "group.max.session.timeout.ms"
	if effective[lo] > effective[hi] {
		field := lo
		if _, set := c.Config[hi]; set {
			field = hi
		}
		return engine.Invalid(field, fmt.Sprintf("%s (%.0f) must not exceed %s (%.0f): no consumer could join a group",
			lo, effective[lo], hi, effective[hi]))
	}
	return nil
}

// ValidateName refuses names the broker cannot take: the superuser's for
// users, and topic names Kafka refuses.
func (d *Driver) ValidateName(kind, name string) error {
	var err error
	switch kind {
	case engine.ObjectUser:
		err = checkUserName(name)
	case engine.ObjectTopic:
		err = checkTopicName(name)
	}
	if err != nil {
		return engine.Invalid("", strings.TrimPrefix(err.Error(), engine.ErrInvalid.Error()+": "))
	}
	return nil
}

// ValidateFirewall checks that the broker can enforce every entry: an
// address or a network, without an IPv6 zone.
func (d *Driver) ValidateFirewall(entries []string) error {
	for _, e := range entries {
		if a, err := netip.ParseAddr(strings.TrimSpace(e)); err == nil && a.Zone() != "" {
			return engine.Invalid("", fmt.Sprintf("entry %q has an IPv6 zone, which the firewall cannot match; give the address without %%%s", e, a.Zone()))
		}
	}
	if _, err := parseAllowList(entries); err != nil {
		return engine.Invalid("", err.Error())
	}
	return nil
}
