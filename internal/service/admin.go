package service

import (
	"context"
	"errors"

	"github.com/dbaasd/dbaasd/internal/catalog"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// The deprecated catalog writes. Each needs an admin token.

func requireAdmin(c Caller) error {
	if !c.Admin {
		return Forbidden("", "this operation needs an admin token")
	}
	return nil
}

func (s *Service) checkTypes(ctx context.Context, tx store.Tx, ids []string, field string) error {
	for _, id := range ids {
		if _, err := tx.DatastoreTypes().Get(ctx, id); errors.Is(err, store.ErrNotFound) {
			return Invalid(field, "no datastore type %s", id)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// CreateFlavor adds a flavor.
func (s *Service) CreateFlavor(ctx context.Context, c Caller, f model.FlavorSpec) (*FlavorView, error) {
	if err := requireAdmin(c); err != nil {
		return nil, err
	}
	if err := checkName("flavor.name", f.Name, 255); err != nil {
		return nil, err
	}
	if f.VCPUs < 1 || f.RAM < 1 || f.Disk < 1 || f.VCPUs > maxEnv || f.RAM > maxEnv || f.Disk > maxEnv {
		return nil, Invalid("flavor", "vcpus, ram and disk must be between 1 and %d", maxEnv)
	}
	if f.HostTotalCount < 0 {
		return nil, Invalid("flavor.host.total_count", "must not be negative")
	}
	if f.FlSize != catalog.FlStandard && f.FlSize != catalog.FlHighFreq {
		return nil, Invalid("flavor.fl_size", "must be standard or high_freq, got %q", f.FlSize)
	}
	f.ID = newID()
	if f.DatastoreTypeIDs == nil {
		f.DatastoreTypeIDs = []string{}
	}
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		if err := s.checkTypes(ctx, tx, f.DatastoreTypeIDs, "flavor.datastore_type_ids"); err != nil {
			return err
		}
		return tx.Flavors().Insert(ctx, &f)
	})
	if err != nil {
		return nil, err
	}
	return s.GetFlavor(ctx, f.ID)
}

// UpdateFlavor changes a flavor's name and description.
func (s *Service) UpdateFlavor(ctx context.Context, c Caller, id string, name, description *string) (*FlavorView, error) {
	return s.changeFlavor(ctx, c, id, func(f *model.FlavorSpec) error {
		if name != nil {
			if err := checkName("flavor.name", *name, 255); err != nil {
				return err
			}
			f.Name = *name
		}
		if description != nil {
			f.Description = *description
		}
		return nil
	})
}

// UpdateFlavorHost changes a flavor's host line, processor and capacity.
func (s *Service) UpdateFlavorHost(ctx context.Context, c Caller, id, line, processor string, total *int) (*FlavorView, error) {
	return s.changeFlavor(ctx, c, id, func(f *model.FlavorSpec) error {
		if line != "" {
			f.HostLine = line
		}
		if processor != "" {
			f.HostProcessor = processor
		}
		if total != nil {
			if *total < 0 {
				return Invalid("host.total_count", "must not be negative")
			}
			f.HostTotalCount = *total
		}
		return nil
	})
}

func (s *Service) changeFlavor(ctx context.Context, c Caller, id string, fn func(*model.FlavorSpec) error) (*FlavorView, error) {
	if err := requireAdmin(c); err != nil {
		return nil, err
	}
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		f, err := get(ctx, tx.Flavors(), id, "flavor")
		if err != nil {
			return err
		}
		if err := fn(f); err != nil {
			return err
		}
		return tx.Flavors().Update(ctx, f)
	})
	if err != nil {
		return nil, err
	}
	return s.GetFlavor(ctx, id)
}

// DeleteFlavor removes a flavor no live datastore uses.
func (s *Service) DeleteFlavor(ctx context.Context, c Caller, id string) error {
	if err := requireAdmin(c); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx store.Tx) error {
		if _, err := get(ctx, tx.Flavors(), id, "flavor"); err != nil {
			return err
		}
		n, err := tx.Datastores().Count(ctx, store.Filter{FlavorID: id, Deleted: store.No})
		if err != nil {
			return err
		}
		if n > 0 {
			return Conflict("flavor_id", "%d datastores use flavor %s", n, id)
		}
		return tx.Flavors().Delete(ctx, id)
	})
}

// CreateParameter adds a configuration parameter to a datastore type.
func (s *Service) CreateParameter(ctx context.Context, c Caller, p model.ConfigurationParameter) (*ParameterView, error) {
	if err := requireAdmin(c); err != nil {
		return nil, err
	}
	if err := checkName("configuration-parameter.name", p.Name, 255); err != nil {
		return nil, err
	}
	switch p.Type {
	case "int", "float", "bool", "str":
	default:
		return nil, Invalid("configuration-parameter.type", "must be int, float, bool or str, got %q", p.Type)
	}
	for field, t := range map[string]string{"min_template": p.MinTemplate, "max_template": p.MaxTemplate,
		"default_value_template": p.DefaultValueTemplate} {
		if _, err := catalog.Eval(t, &catalog.Env{RAM: 1024, VCPUs: 1, Disk: 10}); err != nil {
			return nil, Invalid("configuration-parameter."+field, "%v", err)
		}
	}
	p.ID = newID()
	if p.Factor == 0 {
		p.Factor = 1
	}
	if p.Choices == nil {
		p.Choices = []any{}
	}
	if p.InvalidValues == nil {
		p.InvalidValues = []any{}
	}
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		if err := s.checkTypes(ctx, tx, []string{p.DatastoreTypeID}, "configuration-parameter.datastore_type_id"); err != nil {
			return err
		}
		if err := tx.ConfigurationParameters().Insert(ctx, &p); errors.Is(err, store.ErrConflict) {
			return Conflict("configuration-parameter.name", "%s already exists for this datastore type", p.Name)
		} else if err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	v := evalParam(p, nil)
	return &v, nil
}

// DeleteParameter removes a configuration parameter.
func (s *Service) DeleteParameter(ctx context.Context, c Caller, id string) error {
	if err := requireAdmin(c); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx store.Tx) error {
		if _, err := get(ctx, tx.ConfigurationParameters(), id, "configuration parameter"); err != nil {
			return err
		}
		return tx.ConfigurationParameters().Delete(ctx, id)
	})
}

// CreateAvailableExtension adds an available extension.
func (s *Service) CreateAvailableExtension(ctx context.Context, c Caller, e model.AvailableExtension) (*model.AvailableExtension, error) {
	if err := requireAdmin(c); err != nil {
		return nil, err
	}
	if err := checkName("available-extension.name", e.Name, 63); err != nil {
		return nil, err
	}
	e.ID = newID()
	if e.DatastoreTypeIDs == nil {
		e.DatastoreTypeIDs = []string{}
	}
	if e.DependencyIDs == nil {
		e.DependencyIDs = []string{}
	}
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		if err := s.checkExtensionRefs(ctx, tx, e); err != nil {
			return err
		}
		if err := tx.AvailableExtensions().Insert(ctx, &e); errors.Is(err, store.ErrConflict) {
			return Conflict("available-extension.name", "%s already exists", e.Name)
		} else if err != nil {
			return err
		}
		return nil
	})
	return &e, err
}

func (s *Service) checkExtensionRefs(ctx context.Context, tx store.Tx, e model.AvailableExtension) error {
	if err := s.checkTypes(ctx, tx, e.DatastoreTypeIDs, "available-extension.datastore_type_ids"); err != nil {
		return err
	}
	for _, d := range e.DependencyIDs {
		if _, err := tx.AvailableExtensions().Get(ctx, d); errors.Is(err, store.ErrNotFound) {
			return Invalid("available-extension.dependency_ids", "no available extension %s", d)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// UpdateAvailableExtension changes an extension's types and dependencies.
func (s *Service) UpdateAvailableExtension(ctx context.Context, c Caller, id string, typeIDs, depIDs []string) (*model.AvailableExtension, error) {
	if err := requireAdmin(c); err != nil {
		return nil, err
	}
	var out *model.AvailableExtension
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		e, err := get(ctx, tx.AvailableExtensions(), id, "available extension")
		if err != nil {
			return err
		}
		if typeIDs != nil {
			e.DatastoreTypeIDs = typeIDs
		}
		if depIDs != nil {
			e.DependencyIDs = depIDs
		}
		if err := s.checkExtensionRefs(ctx, tx, *e); err != nil {
			return err
		}
		out = e
		return tx.AvailableExtensions().Update(ctx, e)
	})
	return out, err
}

// DeleteAvailableExtension removes an available extension that no database uses.
func (s *Service) DeleteAvailableExtension(ctx context.Context, c Caller, id string) error {
	if err := requireAdmin(c); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx store.Tx) error {
		if _, err := get(ctx, tx.AvailableExtensions(), id, "available extension"); err != nil {
			return err
		}
		n, err := tx.Extensions().Count(ctx, store.Filter{AvailableExtensionID: id})
		if err != nil {
			return err
		}
		if n > 0 {
			return Conflict("available_extension_id", "%d databases use this extension", n)
		}
		return tx.AvailableExtensions().Delete(ctx, id)
	})
}
