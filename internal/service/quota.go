package service

import (
	"context"
	"fmt"

	"github.com/dbaasd/dbaasd/internal/store"
)

// Quota resource names, as the API reports them.
var quotaResources = []string{
	"datastores", "cores", "ram", "disk_local", "disk_network_ultra", "databases", "users", "topics", "acls",
	"firewall_rules", "prometheus_metrics_tokens",
}

// DefaultQuotas are the limits of a project without explicit quotas.
func DefaultQuotas() map[string]int64 {
	return map[string]int64{
		"datastores": 20, "cores": 64, "ram": 262144, "disk_local": 4096, "disk_network_ultra": 4096,
		"databases": 1000, "users": 1000, "topics": 1000, "acls": 2000, "firewall_rules": 1000,
		"prometheus_metrics_tokens": 20,
	}
}

// QuotaReport is a project's limits and what it uses.
type QuotaReport struct {
	Limits map[string]int64
	InUse  map[string]int64
}

func usageMap(u store.Usage) map[string]int64 {
	return map[string]int64{
		"datastores": u.Datastores, "cores": u.Cores, "ram": u.RAM, "disk_local": u.DiskLocal,
		"disk_network_ultra": u.DiskNetworkUltra, "databases": u.Databases, "users": u.Users, "topics": u.Topics,
		"acls": u.ACLs, "firewall_rules": u.FirewallRules, "prometheus_metrics_tokens": u.MetricsTokens,
	}
}

func (s *Service) limits(ctx context.Context, tx store.Tx, project string) (map[string]int64, error) {
	explicit, err := tx.Quotas(ctx, project)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, r := range quotaResources {
		out[r] = s.cfg.DefaultQuotas[r]
		if v, ok := explicit[r]; ok {
			out[r] = v
		}
	}
	return out, nil
}

// checkQuota locks the project and refuses the change when adding delta to
// what the project uses would exceed a quota. It must run inside the
// transaction that then writes the change.
func (s *Service) checkQuota(ctx context.Context, tx store.Tx, project string, delta store.Usage) error {
	if err := tx.LockProject(ctx, project); err != nil {
		return err
	}
	var needed []string
	for r, n := range usageMap(delta) {
		if n > 0 {
			needed = append(needed, r)
		}
	}
	if len(needed) == 0 {
		return nil
	}
	u, err := tx.Usage(ctx, project, needed...)
	if err != nil {
		return err
	}
	lim, err := s.limits(ctx, tx, project)
	if err != nil {
		return err
	}
	in, want := usageMap(u), usageMap(delta)
	for _, r := range quotaResources {
		if want[r] > 0 && in[r]+want[r] > lim[r] {
			return Invalid("quota", "quota %s exceeded: limit %d, in use %d, this request needs %d more", r, lim[r], in[r], want[r])
		}
	}
	return nil
}

// Quotas reports the caller's quotas and usage.
func (s *Service) Quotas(ctx context.Context, c Caller) (*QuotaReport, error) {
	u, err := s.store.Usage(ctx, c.ProjectID)
	if err != nil {
		return nil, fmt.Errorf("quotas: %w", err)
	}
	lim, err := s.limits(ctx, s.store, c.ProjectID)
	if err != nil {
		return nil, fmt.Errorf("quotas: %w", err)
	}
	return &QuotaReport{Limits: lim, InUse: usageMap(u)}, nil
}
