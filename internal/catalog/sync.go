package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// Discovered is what one installed engine offers.
type Discovered struct {
	Type       model.DatastoreType
	Parameters []model.ConfigurationParameter
	Extensions []engine.ExtensionInfo
}

// Discover asks every driver for its engine; engines that are not
// installed (Info fails) are left out and logged.
func Discover(ctx context.Context, drivers map[string]engine.Driver, log *slog.Logger) []Discovered {
	names := make([]string, 0, len(drivers))
	for n := range drivers {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []Discovered
	for _, name := range names {
		d := drivers[name]
		info, err := d.Info(ctx)
		if err != nil {
			log.Warn("engine not available; its datastore type is not offered", "engine", name, "error", err)
			continue
		}
		cat, err := d.Catalog(ctx)
		if err != nil {
			log.Warn("engine catalog not available; offering the type without parameters", "engine", name, "error", err)
		}
		typ := model.DatastoreType{ID: TypeID(name, info.Version), Engine: name, Version: info.Version, FullVersion: info.Full}
		disc := Discovered{Type: typ, Extensions: cat.Extensions}
		for _, p := range cat.Parameters {
			disc.Parameters = append(disc.Parameters, Parameter(typ.ID, p))
		}
		out = append(out, disc)
	}
	return out
}

// Parameter converts an engine's parameter description to the catalog's.
func Parameter(typeID string, p engine.Parameter) model.ConfigurationParameter {
	tmpl := func(t string, v *float64) string {
		if t != "" {
			return t
		}
		if v != nil {
			return Literal(*v)
		}
		return ""
	}
	def := p.DefaultTemplate
	if def == "" {
		def = Literal(p.Default)
	}
	choices := make([]any, 0, len(p.Choices))
	for _, c := range p.Choices {
		choices = append(choices, c)
	}
	invalid := make([]any, 0, len(p.InvalidValues))
	for _, c := range p.InvalidValues {
		invalid = append(invalid, c)
	}
	return model.ConfigurationParameter{
		ID: ParameterID(typeID, p.Name), DatastoreTypeID: typeID, Name: p.Name, Type: p.Type, Unit: p.Unit,
		MinTemplate: tmpl(p.MinTemplate, p.Min), MaxTemplate: tmpl(p.MaxTemplate, p.Max), DefaultValueTemplate: def,
		Choices: choices, InvalidValues: invalid, IsRestartRequired: p.RestartRequired, IsChangeable: p.Changeable,
		CanBeEmpty: p.CanBeEmpty, IsMultipleChoiceAvailable: false, IsAvailableForCustomer: true, Factor: 1,
	}
}

// Sync writes the discovered catalog and the generated flavors to the store
// in one transaction: records are upserted by their stable IDs, and types of
// engines that are no longer installed are removed unless a datastore uses
// them.
func Sync(ctx context.Context, s store.Store, found []Discovered, m Machine) error {
	return s.InTx(ctx, func(tx store.Tx) error {
		var typeIDs []string
		present := map[string]bool{}
		for _, d := range found {
			typeIDs = append(typeIDs, d.Type.ID)
			present[d.Type.ID] = true
			typ := d.Type
			if err := upsert(ctx, tx.DatastoreTypes(), &typ, typ.ID); err != nil {
				return err
			}
			for i := range d.Parameters {
				if err := upsert(ctx, tx.ConfigurationParameters(), &d.Parameters[i], d.Parameters[i].ID); err != nil {
					return err
				}
			}
			if err := pruneParameters(ctx, tx, d); err != nil {
				return err
			}
		}
		if err := syncExtensions(ctx, tx, found); err != nil {
			return err
		}
		for _, f := range GenerateFlavors(m, typeIDs) {
			f := f
			if err := upsert(ctx, tx.Flavors(), &f, f.ID); err != nil {
				return err
			}
		}
		return pruneTypes(ctx, tx, present)
	})
}

// pruneParameters removes the recorded parameters of a type that its
// engine no longer offers (a parameter taken off an allow-list), unless the
// engine's catalog could not be read at all.
func pruneParameters(ctx context.Context, tx store.Tx, d Discovered) error {
	if len(d.Parameters) == 0 {
		return nil
	}
	offered := make(map[string]bool, len(d.Parameters))
	for _, p := range d.Parameters {
		offered[p.ID] = true
	}
	have, err := tx.ConfigurationParameters().List(ctx, store.Filter{DatastoreTypeID: d.Type.ID})
	if err != nil {
		return err
	}
	for _, p := range have {
		if !offered[p.ID] {
			if err := tx.ConfigurationParameters().Delete(ctx, p.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
	}
	return nil
}

// PruneConfigs removes, from the configuration of every live datastore,
// the parameters its engine no longer lets a tenant set, so that none of
// them reaches an engine again; each removal is logged. Types whose
// catalog could not be read are left alone.
func PruneConfigs(ctx context.Context, s store.Store, found []Discovered, log *slog.Logger) error {
	return s.InTx(ctx, func(tx store.Tx) error {
		for _, d := range found {
			if len(d.Parameters) == 0 {
				continue
			}
			offered := make(map[string]bool, len(d.Parameters))
			for _, p := range d.Parameters {
				offered[p.Name] = true
			}
			list, err := tx.Datastores().List(ctx, store.Filter{TypeID: d.Type.ID, Deleted: store.No})
			if err != nil {
				return err
			}
			for i := range list {
				ds := &list[i]
				var gone []string
				for k := range ds.Config {
					if !offered[k] {
						gone = append(gone, k)
					}
				}
				if len(gone) == 0 {
					continue
				}
				sort.Strings(gone)
				for _, k := range gone {
					delete(ds.Config, k)
				}
				if err := tx.Datastores().Update(ctx, ds); err != nil {
					return err
				}
				log.Warn("configuration parameters a tenant may no longer set were removed from a datastore",
					"datastore_id", ds.ID, "engine", d.Type.Engine, "parameters", gone)
			}
		}
		return nil
	})
}

func syncExtensions(ctx context.Context, tx store.Tx, found []Discovered) error {
	byName := map[string]*model.AvailableExtension{}
	var names []string
	for _, d := range found {
		for _, e := range d.Extensions {
			ae, ok := byName[e.Name]
			if !ok {
				ae = &model.AvailableExtension{ID: ExtensionID(e.Name), Name: e.Name, DatastoreTypeIDs: []string{}, DependencyIDs: []string{}}
				byName[e.Name] = ae
				names = append(names, e.Name)
			}
			ae.DatastoreTypeIDs = appendUnique(ae.DatastoreTypeIDs, d.Type.ID)
			for _, r := range e.Requires {
				ae.DependencyIDs = appendUnique(ae.DependencyIDs, ExtensionID(r))
			}
		}
	}
	for _, n := range names {
		if err := upsert(ctx, tx.AvailableExtensions(), byName[n], byName[n].ID); err != nil {
			return err
		}
	}
	return nil
}

func pruneTypes(ctx context.Context, tx store.Tx, present map[string]bool) error {
	types, err := tx.DatastoreTypes().List(ctx, store.Filter{})
	if err != nil {
		return err
	}
	for _, t := range types {
		if present[t.ID] {
			continue
		}
		n, err := tx.Datastores().Count(ctx, store.Filter{TypeID: t.ID, Deleted: store.No})
		if err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		params, err := tx.ConfigurationParameters().List(ctx, store.Filter{DatastoreTypeID: t.ID})
		if err != nil {
			return err
		}
		for _, p := range params {
			if err := tx.ConfigurationParameters().Delete(ctx, p.ID); err != nil {
				return err
			}
		}
		if err := tx.DatastoreTypes().Delete(ctx, t.ID); err != nil {
			return err
		}
	}
	return nil
}

func upsert[T any](ctx context.Context, r store.Repo[T], v *T, id string) error {
	err := r.Update(ctx, v)
	if errors.Is(err, store.ErrNotFound) {
		err = r.Insert(ctx, v)
	}
	if err != nil {
		return fmt.Errorf("sync catalog record %s: %w", id, err)
	}
	return nil
}

func appendUnique(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}
