package httpapi

import (
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/dbaasd/dbaasd/internal/httpapi/gen"
	"github.com/dbaasd/dbaasd/internal/store"
)

// The query parameters of each list operation, mapped one by one to the
// store's typed filter. A text parameter given empty matches nothing: no
// record has an empty ID, name, status or project.

type filter struct{ f store.Filter }

func (b *filter) text(dst *string, v *string) {
	if v == nil {
		return
	}
	if *v == "" {
		b.f.Nothing = true
	}
	*dst = *v
}

func (b *filter) id(dst *string, v *openapi_types.UUID) {
	if v != nil {
		*dst = v.String()
	}
}

func (b *filter) flag(dst *store.Flag, v *bool) {
	if v != nil {
		*dst = store.FlagOf(*v)
	}
}

func datastoreTypesFilter(p gen.ListDatastoreTypesParams) store.Filter {
	var b filter
	b.id(&b.f.ID, p.Id)
	b.text(&b.f.Engine, p.Engine)
	b.text(&b.f.Version, p.Version)
	return b.f
}

func flavorsFilter(p gen.ListFlavorsParams) store.Filter {
	var b filter
	b.id(&b.f.ID, p.Id)
	b.text(&b.f.Name, p.Name)
	b.text(&b.f.FlSize, p.FlSize)
	return b.f
}

// parametersFilter leaves out ram, vcpus and disk: they are the flavor the
// bounds are computed for, not a filter.
func parametersFilter(p gen.ListConfigurationParametersParams) store.Filter {
	var b filter
	b.id(&b.f.ID, p.Id)
	b.id(&b.f.DatastoreTypeID, p.DatastoreTypeId)
	b.text(&b.f.Name, p.Name)
	return b.f
}

// availableExtensionsFilter leaves out datastore_type_id: an extension
// lists the types it is available for (see service.ListAvailableExtensions).
func availableExtensionsFilter(p gen.ListAvailableExtensionsParams) store.Filter {
	var b filter
	b.id(&b.f.ID, p.Id)
	b.text(&b.f.Name, p.Name)
	return b.f
}

func datastoresFilter(p gen.ListDatastoresParams) store.Filter {
	var b filter
	b.id(&b.f.ID, p.Id)
	b.text(&b.f.ProjectID, p.ProjectId)
	b.text(&b.f.Name, p.Name)
	b.text(&b.f.Status, p.Status)
	b.flag(&b.f.Enabled, p.Enabled)
	b.id(&b.f.TypeID, p.TypeId)
	b.id(&b.f.FlavorID, p.FlavorId)
	b.id(&b.f.SubnetID, p.SubnetId)
	b.flag(&b.f.AllowRestore, p.AllowRestore)
	b.flag(&b.f.IsMaintenance, p.IsMaintenance)
	b.flag(&b.f.IsProtected, p.IsProtected)
	b.flag(&b.f.Deleted, p.Deleted)
	return b.f
}

func countDatastoresFilter(p gen.CountDatastoresParams) store.Filter {
	return datastoresFilter(gen.ListDatastoresParams(p))
}

func actionsFilter(p gen.ListActionsParams) store.Filter {
	var b filter
	b.id(&b.f.ID, p.Id)
	b.text(&b.f.Name, p.Name)
	b.text(&b.f.Status, p.Status)
	b.text(&b.f.ProjectID, p.ProjectId)
	b.text(&b.f.RequestID, p.RequestId)
	b.id(&b.f.DatastoreID, p.DatastoreId)
	return b.f
}

// metricsTokensFilter leaves out value: the service matches it by its hash.
func metricsTokensFilter(p gen.ListPrometheusMetricsTokensParams) store.Filter {
	var b filter
	b.id(&b.f.ID, p.Id)
	b.text(&b.f.ProjectID, p.ProjectId)
	b.text(&b.f.Name, p.Name)
	return b.f
}

func usersFilter(p gen.ListUsersParams) store.Filter {
	var b filter
	b.id(&b.f.ID, p.Id)
	b.text(&b.f.ProjectID, p.ProjectId)
	b.text(&b.f.Name, p.Name)
	b.id(&b.f.DatastoreID, p.DatastoreId)
	b.text(&b.f.Status, p.Status)
	return b.f
}

func databasesFilter(p gen.ListDatabasesParams) store.Filter {
	var b filter
	b.id(&b.f.ID, p.Id)
	b.text(&b.f.ProjectID, p.ProjectId)
	b.text(&b.f.Name, p.Name)
	b.id(&b.f.DatastoreID, p.DatastoreId)
	b.text(&b.f.Status, p.Status)
	return b.f
}

func grantsFilter(p gen.ListGrantsParams) store.Filter {
	var b filter
	b.id(&b.f.ID, p.Id)
	b.text(&b.f.ProjectID, p.ProjectId)
	b.id(&b.f.DatastoreID, p.DatastoreId)
	b.id(&b.f.DatabaseID, p.DatabaseId)
	b.id(&b.f.UserID, p.UserId)
	b.text(&b.f.Status, p.Status)
	return b.f
}

func extensionsFilter(p gen.ListExtensionsParams) store.Filter {
	var b filter
	b.id(&b.f.ID, p.Id)
	b.text(&b.f.ProjectID, p.ProjectId)
	b.id(&b.f.AvailableExtensionID, p.AvailableExtensionId)
	b.id(&b.f.DatastoreID, p.DatastoreId)
	b.id(&b.f.DatabaseID, p.DatabaseId)
	b.text(&b.f.Status, p.Status)
	return b.f
}

func slotsFilter(p gen.ListLogicalReplicationSlotsParams) store.Filter {
	var b filter
	b.id(&b.f.ID, p.Id)
	b.text(&b.f.ProjectID, p.ProjectId)
	b.text(&b.f.Name, p.Name)
	b.id(&b.f.DatastoreID, p.DatastoreId)
	b.id(&b.f.DatabaseID, p.DatabaseId)
	b.text(&b.f.Status, p.Status)
	b.flag(&b.f.InUse, p.InUse)
	return b.f
}

func topicsFilter(p gen.ListTopicsParams) store.Filter {
	var b filter
	b.id(&b.f.ID, p.Id)
	b.text(&b.f.ProjectID, p.ProjectId)
	b.text(&b.f.Name, p.Name)
	b.id(&b.f.DatastoreID, p.DatastoreId)
	b.text(&b.f.Status, p.Status)
	return b.f
}

func aclsFilter(p gen.ListAclsParams) store.Filter {
	var b filter
	b.id(&b.f.ID, p.Id)
	b.text(&b.f.ProjectID, p.ProjectId)
	b.id(&b.f.DatastoreID, p.DatastoreId)
	b.text(&b.f.PatternType, p.PatternType)
	if p.Pattern != nil && *p.Pattern == "" {
		// The ACLs without a pattern are those of every topic.
		if b.f.PatternType != "" && b.f.PatternType != "all" {
			b.f.Nothing = true
		}
		b.f.PatternType = "all"
	} else {
		b.text(&b.f.Pattern, p.Pattern)
	}
	b.text(&b.f.Status, p.Status)
	b.id(&b.f.UserID, p.UserId)
	return b.f
}
