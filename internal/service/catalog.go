package service

import (
	"context"
	"errors"
	"sort"

	"github.com/dbaasd/dbaasd/internal/catalog"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// ListDatastoreTypes lists the datastore types on offer.
func (s *Service) ListDatastoreTypes(ctx context.Context, f store.Filter) ([]model.DatastoreType, error) {
	return s.store.DatastoreTypes().List(ctx, f)
}

// GetDatastoreType returns a datastore type.
func (s *Service) GetDatastoreType(ctx context.Context, id string) (*model.DatastoreType, error) {
	return get(ctx, s.store.DatastoreTypes(), id, "datastore type")
}

func get[T any](ctx context.Context, r store.Repo[T], id, what string) (*T, error) {
	v, err := r.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, NotFound("%s %s not found", what, id)
	}
	return v, err
}

// FlavorView is a flavor with how many more nodes of it the host can take.
type FlavorView struct {
	model.FlavorSpec
	AvailableCount int
}

// ListFlavors lists flavors.
func (s *Service) ListFlavors(ctx context.Context, f store.Filter) ([]FlavorView, error) {
	list, err := s.store.Flavors().List(ctx, f)
	if err != nil {
		return nil, err
	}
	used, err := s.flavorUse(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]FlavorView, 0, len(list))
	for _, fl := range list {
		out = append(out, FlavorView{FlavorSpec: fl, AvailableCount: max(0, fl.HostTotalCount-used[fl.ID])})
	}
	return out, nil
}

// GetFlavor returns a flavor.
func (s *Service) GetFlavor(ctx context.Context, id string) (*FlavorView, error) {
	fl, err := get(ctx, s.store.Flavors(), id, "flavor")
	if err != nil {
		return nil, err
	}
	used, err := s.flavorUse(ctx)
	if err != nil {
		return nil, err
	}
	return &FlavorView{FlavorSpec: *fl, AvailableCount: max(0, fl.HostTotalCount-used[fl.ID])}, nil
}

// flavorUse counts the nodes of live datastores by flavor, across projects:
// they share the host.
func (s *Service) flavorUse(ctx context.Context) (map[string]int, error) {
	ds, err := s.store.DatastoreSummaries().List(ctx, store.Filter{Deleted: store.No})
	if err != nil {
		return nil, err
	}
	used := map[string]int{}
	for _, d := range ds {
		if d.FlavorID != "" {
			used[d.FlavorID] += d.NodeCount
		}
	}
	return used, nil
}

// ParameterView is a configuration parameter with its bounds and default
// evaluated for a flavor (nil where they depend on a flavor that was not given).
type ParameterView struct {
	model.ConfigurationParameter
	Min, Max, Default any
}

// ListParameters lists configuration parameters; env, when given, is the
// flavor their bounds are evaluated for.
func (s *Service) ListParameters(ctx context.Context, f store.Filter, env *catalog.Env) ([]ParameterView, error) {
	if err := checkEnv(env); err != nil {
		return nil, err
	}
	list, err := s.store.ConfigurationParameters().List(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]ParameterView, 0, len(list))
	for _, p := range list {
		if !p.IsAvailableForCustomer {
			continue
		}
		out = append(out, evalParam(p, env))
	}
	return out, nil
}

// GetParameter returns a configuration parameter.
func (s *Service) GetParameter(ctx context.Context, id string, env *catalog.Env) (*ParameterView, error) {
	p, err := get(ctx, s.store.ConfigurationParameters(), id, "configuration parameter")
	if err != nil {
		return nil, err
	}
	v := evalParam(*p, env)
	return &v, nil
}

// maxEnv bounds the flavor a catalog is evaluated for (16 M of MB, cores
// or GB): far beyond any machine, and far from overflowing the templates.
const maxEnv = 1 << 24

func checkEnv(env *catalog.Env) error {
	if env == nil {
		return nil
	}
	for _, v := range []struct {
		field string
		n     int
	}{{"ram", env.RAM}, {"vcpus", env.VCPUs}, {"disk", env.Disk}} {
		if v.n < 0 || v.n > maxEnv {
			return Invalid(v.field, "must be between 0 and %d, got %d", maxEnv, v.n)
		}
	}
	return nil
}

func evalParam(p model.ConfigurationParameter, env *catalog.Env) ParameterView {
	v := ParameterView{ConfigurationParameter: p}
	v.Min, _ = catalog.Eval(p.MinTemplate, env)
	v.Max, _ = catalog.Eval(p.MaxTemplate, env)
	v.Default, _ = catalog.Eval(p.DefaultValueTemplate, env)
	return v
}

// ListAvailableExtensions lists extensions; typeID, when set, keeps those
// available for that datastore type.
func (s *Service) ListAvailableExtensions(ctx context.Context, f store.Filter, typeID string) ([]model.AvailableExtension, error) {
	list, err := s.store.AvailableExtensions().List(ctx, f)
	if err != nil {
		return nil, err
	}
	if typeID == "" {
		return list, nil
	}
	out := []model.AvailableExtension{}
	for _, e := range list {
		if contains(e.DatastoreTypeIDs, typeID) {
			out = append(out, e)
		}
	}
	return out, nil
}

// GetAvailableExtension returns an available extension.
func (s *Service) GetAvailableExtension(ctx context.Context, id string) (*model.AvailableExtension, error) {
	return get(ctx, s.store.AvailableExtensions(), id, "available extension")
}

// Engines lists the engines that have a datastore type on offer.
func (s *Service) Engines(ctx context.Context) ([]string, error) {
	types, err := s.store.DatastoreTypes().List(ctx, store.Filter{})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, t := range types {
		if !seen[t.Engine] {
			seen[t.Engine] = true
			out = append(out, t.Engine)
		}
	}
	sort.Strings(out)
	return out, nil
}

// LimitsByEngine returns the limits of every engine.
func (s *Service) LimitsByEngine() map[string]catalog.Limits {
	out := map[string]catalog.Limits{}
	for _, e := range []string{"postgresql", "mysql", "mysql_native", "redis", "kafka"} {
		out[e] = catalog.LimitsFor(e, s.cfg.Machine)
	}
	return out
}
