package service

import (
	"context"
	"errors"
	"net/netip"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// DefaultFloatingIPPool is where floating IPs come from by default: loopback
// addresses, which every Linux machine routes to itself.
var DefaultFloatingIPPool = netip.MustParsePrefix("127.0.100.0/24")

// nextFloatingIPs returns n free addresses of the pool.
func (s *Service) nextFloatingIPs(ctx context.Context, tx store.Tx, n int) ([]string, error) {
	pool := s.cfg.FloatingIPPool
	if !pool.IsValid() {
		pool = DefaultFloatingIPPool
	}
	all, err := tx.Instances().List(ctx, store.Filter{})
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, in := range all {
		if in.FloatingIP != "" {
			used[in.FloatingIP] = true
		}
	}
	var out []string
	for a := pool.Masked().Addr().Next(); pool.Contains(a) && len(out) < n; a = a.Next() {
		if !used[a.String()] && a.Next().IsValid() && pool.Contains(a.Next()) { // skip the broadcast address
			out = append(out, a.String())
		}
	}
	if len(out) < n {
		return nil, Conflict("floating_ip", "no free floating IP left in %s", pool)
	}
	return out, nil
}

// assignInitialFloatingIPs gives new instances the floating IPs a create
// request asked for.
func (s *Service) assignInitialFloatingIPs(ctx context.Context, tx store.Tx, insts []model.Instance, want model.FloatingIPs) error {
	if want.Master < 0 || want.Master > 1 {
		return Invalid("floating_ips.master", "must be 0 or 1, got %d", want.Master)
	}
	if want.Replica < 0 || want.Replica > len(insts)-1 {
		return Invalid("floating_ips.replica", "must be between 0 and node_count - 1 (%d), got %d", len(insts)-1, want.Replica)
	}
	ips, err := s.nextFloatingIPs(ctx, tx, want.Master+want.Replica)
	if err != nil {
		return err
	}
	if want.Master == 1 {
		insts[0].FloatingIP, ips = ips[0], ips[1:]
	}
	for i := 1; i <= want.Replica; i++ {
		insts[i].FloatingIP = ips[i-1]
	}
	return nil
}

// instanceOwned finds one of the caller's instances.
func instanceOwned(ctx context.Context, tx store.Tx, c Caller, id string) (*model.Instance, error) {
	in, err := tx.Instances().Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && in.ProjectID != c.ProjectID) {
		return nil, Invalid("floating_ip.instance_id", "no instance %s in this project", id)
	}
	return in, err
}

// AddFloatingIP gives an instance a floating IP.
func (s *Service) AddFloatingIP(ctx context.Context, c Caller, instanceID string) error {
	return s.changeFloatingIP(ctx, c, instanceID, true)
}

// RemoveFloatingIP takes an instance's floating IP away.
func (s *Service) RemoveFloatingIP(ctx context.Context, c Caller, instanceID string) error {
	return s.changeFloatingIP(ctx, c, instanceID, false)
}

func (s *Service) changeFloatingIP(ctx context.Context, c Caller, instanceID string, add bool) error {
	var dsID string
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		in, err := instanceOwned(ctx, tx, c, instanceID)
		if err != nil {
			return err
		}
		dsID = in.DatastoreID
		return nil
	})
	if err != nil {
		return err
	}
	_, err = s.mutate(ctx, c, dsID, true, func(tx store.Tx, d *model.Datastore, _ *model.DatastoreType) (string, error) {
		in, err := instanceOwned(ctx, tx, c, instanceID)
		if err != nil {
			return "", err
		}
		switch {
		case add && in.FloatingIP != "":
			return "", Conflict("floating_ip.instance_id", "instance %s already has floating IP %s", instanceID, in.FloatingIP)
		case !add && in.FloatingIP == "":
			return "", Conflict("floating_ip.instance_id", "instance %s has no floating IP", instanceID)
		case add:
			ips, err := s.nextFloatingIPs(ctx, tx, 1)
			if err != nil {
				return "", err
			}
			in.FloatingIP = ips[0]
		default:
			in.FloatingIP = ""
		}
		if err := tx.Instances().Update(ctx, in); err != nil {
			return "", err
		}
		return model.ActDatastoreUpdate, nil
	})
	return err
}
