package service

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
)

// engineCheckTimeout bounds how long an engine may take to check a
// request (it may start a scratch server).
const engineCheckTimeout = 2 * time.Minute

// errStale marks a datastore that changed while its request was checked
// by the engine outside the transaction; the request is checked again.
var errStale = errors.New("datastore changed while the request was checked")

// checkConfigWithEngine asks the datastore's engine whether it takes cfg,
// the whole configuration a request leads to, for the flavor fl: values
// the engine refuses, or with which its servers would not start, become a
// 400 naming the parameter, in the engine's words. Only requests that set
// values are checked (a removal resets a parameter to the engine's
// default). It runs outside any store transaction, since the engine may
// start a scratch server.
func (s *Service) checkConfigWithEngine(ctx context.Context, typ *model.DatastoreType, fl model.Flavor, cfg, changes map[string]any) error {
	v := s.cfg.Validators[typ.Engine]
	if v == nil {
		return nil
	}
	var changed []string
	for k, val := range changes {
		if val != nil {
			changed = append(changed, k)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	sort.Strings(changed)
	c := &engine.Cluster{Engine: typ.Engine, Version: typ.Version, Config: cfg,
		Flavor: engine.Flavor{VCPUs: fl.VCPUs, RAMMB: fl.RAM, DiskGB: fl.Disk}}
	cctx, cancel := context.WithTimeout(ctx, engineCheckTimeout)
	defer cancel()
	return s.fromEngine(ctx, typ.Engine, "config", v.ValidateConfig(cctx, c, changed))
}

// checkNameWithEngine asks the engine whether it takes the name of a new
// object (reserved names, lengths, characters).
func (s *Service) checkNameWithEngine(engineName, kind, field, name string) error {
	v := s.cfg.Validators[engineName]
	if v == nil {
		return nil
	}
	return s.fromEngine(context.Background(), engineName, field, v.ValidateName(kind, name))
}

// checkFirewallWithEngine asks the engine whether it can enforce the
// firewall entries.
func (s *Service) checkFirewallWithEngine(engineName string, entries []string) error {
	v := s.cfg.Validators[engineName]
	if v == nil || len(entries) == 0 {
		return nil
	}
	return s.fromEngine(context.Background(), engineName, "firewall.ips", v.ValidateFirewall(entries))
}

// checkDiskGrowthWithEngine asks the engine whether the datastore's disks
// can grow (field names the part of the request that grows them).
func (s *Service) checkDiskGrowthWithEngine(ctx context.Context, engineName, datastoreID, field string) error {
	v := s.cfg.DiskValidators[engineName]
	if v == nil {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, engineCheckTimeout)
	defer cancel()
	return s.fromEngine(ctx, engineName, field, v.ValidateDiskGrowth(cctx, datastoreID))
}

// fromEngine turns what an engine's check said into the service's errors:
// a refusal becomes a 400 on field (field.<name> when the engine names a
// parameter of a field that is a map, such as config). A check that could
// not run does not block the request: the catalog's checks still apply and
// the reconciler rolls back a change the engine refuses later.
func (s *Service) fromEngine(ctx context.Context, engineName, field string, err error) error {
	if err == nil {
		return nil
	}
	if ie, ok := engine.AsInvalid(err); ok {
		f := field
		if ie.Field != "" && field == "config" {
			f = field + "." + ie.Field
		}
		return Invalid(f, "%s", strings.TrimSpace(ie.Message))
	}
	if ctx.Err() != nil {
		return ctx.Err() // the client went away
	}
	s.log.Warn("the engine could not check a request; accepting it on the catalog's checks",
		"engine", engineName, "field", field, "error", err)
	return nil
}
