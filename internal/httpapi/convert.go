package httpapi

import (
	"time"

	"github.com/google/uuid"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/dbaasd/dbaasd/internal/httpapi/gen"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/service"
)

// TimeFormat is the API's timestamp format: UTC, no zone suffix.
const TimeFormat = "2006-01-02T15:04:05"

func ts(t time.Time) string { return t.UTC().Format(TimeFormat) }

func tsPtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := ts(*t)
	return &s
}

func id(s string) openapi_types.UUID {
	u, _ := uuid.Parse(s)
	return u
}

func idPtr(s string) *openapi_types.UUID {
	if s == "" {
		return nil
	}
	u := id(s)
	return &u
}

func ids(list []string) []openapi_types.UUID {
	out := make([]openapi_types.UUID, 0, len(list))
	for _, s := range list {
		out = append(out, id(s))
	}
	return out
}

func strs(list []openapi_types.UUID) []string {
	out := make([]string, 0, len(list))
	for _, u := range list {
		out = append(out, u.String())
	}
	return out
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func datastoreOut(v *service.DatastoreView) gen.Datastore {
	d := gen.Datastore{
		AllowRestore: v.AllowRestore, BackupRetentionDays: v.BackupRetentionDays, Config: v.Config,
		Connection: v.Connection, CreatedAt: ts(v.CreatedAt), CreationFinishedAt: tsPtr(v.CreationFinishedAt),
		DatabasesCount: v.DatabasesCount, DiskUsed: int(v.DiskUsed), Enabled: v.Enabled,
		Firewall: make([]gen.Firewall, 0, len(v.Firewall)),
		Flavor: gen.DatastoreFlavor{Disk: v.Flavor.Disk, DiskType: v.Flavor.DiskType, Ram: v.Flavor.RAM,
			Vcpus: v.Flavor.VCPUs},
		FlavorId: idPtr(v.FlavorID), Id: id(v.ID), Instances: make([]gen.Instance, 0, len(v.Instances)),
		IsMaintenance: v.IsMaintenance, IsProtected: v.IsProtected, Name: v.Name, NodeCount: v.NodeCount,
		ProjectId: v.ProjectID, SecurityGroups: ids(v.SecurityGroups), Status: v.Status, SubnetId: id(v.SubnetID),
		TopicsCount: v.TopicsCount, TypeId: id(v.TypeID), UpdatedAt: ts(v.UpdatedAt),
	}
	if d.Config == nil {
		d.Config = map[string]any{}
	}
	if d.Connection == nil {
		d.Connection = map[string]string{}
	}
	for _, ip := range v.Firewall {
		d.Firewall = append(d.Firewall, gen.Firewall{Ip: ip})
	}
	for _, in := range v.Instances {
		d.Instances = append(d.Instances, gen.Instance{
			AvailabilityZone: in.AvailabilityZone, FloatingIp: strPtr(in.FloatingIP), Hostname: in.Hostname,
			Id: id(in.ID), Ip: in.Host, Role: in.Role, RoleName: in.RoleName, Status: in.Status,
		})
	}
	if v.LogGroup != "" {
		d.LogPlatform = &gen.LogPlatform{LogGroup: v.LogGroup}
	}
	if v.Pooler != nil {
		d.Pooler = &gen.Pooler{Mode: v.Pooler.Mode, Size: v.Pooler.Size}
	}
	return d
}

func userOut(u *model.User) gen.User {
	return gen.User{CreatedAt: ts(u.CreatedAt), DatastoreId: id(u.DatastoreID), Id: id(u.ID), Name: u.Name,
		ProjectId: u.ProjectID, Status: u.Status, UpdatedAt: ts(u.UpdatedAt)}
}

func databaseOut(d *model.Database) gen.Database {
	return gen.Database{CreatedAt: ts(d.CreatedAt), DatastoreId: id(d.DatastoreID), Id: id(d.ID),
		LcCollate: strPtr(d.LcCollate), LcCtype: strPtr(d.LcCtype), Name: d.Name, OwnerId: idPtr(d.OwnerID),
		ProjectId: d.ProjectID, Status: d.Status, UpdatedAt: ts(d.UpdatedAt)}
}

func grantOut(g *model.Grant) gen.Grant {
	return gen.Grant{CreatedAt: ts(g.CreatedAt), DatabaseId: id(g.DatabaseID), DatastoreId: id(g.DatastoreID),
		Id: id(g.ID), ProjectId: g.ProjectID, Status: g.Status, UpdatedAt: ts(g.UpdatedAt), UserId: id(g.UserID)}
}

func extensionOut(e *model.Extension) gen.Extension {
	return gen.Extension{AvailableExtensionId: id(e.AvailableExtensionID), CreatedAt: ts(e.CreatedAt),
		DatabaseId: id(e.DatabaseID), DatastoreId: id(e.DatastoreID), Id: id(e.ID), ProjectId: e.ProjectID,
		Status: e.Status, UpdatedAt: ts(e.UpdatedAt)}
}

func slotOut(s *model.Slot) gen.LogicalReplicationSlot {
	return gen.LogicalReplicationSlot{CreatedAt: ts(s.CreatedAt), DatabaseId: id(s.DatabaseID),
		DatastoreId: id(s.DatastoreID), Id: id(s.ID), InUse: s.InUse, Name: s.Name, ProjectId: s.ProjectID,
		Size: int(s.Size), Status: s.Status, UpdatedAt: ts(s.UpdatedAt)}
}

func topicOut(t *model.Topic) gen.Topic {
	return gen.Topic{CreatedAt: ts(t.CreatedAt), DatastoreId: id(t.DatastoreID), Id: id(t.ID), Name: t.Name,
		Partitions: t.Partitions, ProjectId: t.ProjectID, Status: t.Status, UpdatedAt: ts(t.UpdatedAt)}
}

func aclOut(a *model.ACL) gen.Acl {
	return gen.Acl{AllowRead: a.AllowRead, AllowWrite: a.AllowWrite, CreatedAt: ts(a.CreatedAt),
		DatastoreId: id(a.DatastoreID), Id: id(a.ID), Pattern: strPtr(a.Pattern), PatternType: a.PatternType,
		ProjectId: a.ProjectID, Status: a.Status, UpdatedAt: ts(a.UpdatedAt), UserId: id(a.UserID)}
}

func tokenOut(t *model.MetricsToken) gen.PrometheusMetricsToken {
	return gen.PrometheusMetricsToken{CreatedAt: ts(t.CreatedAt), Id: id(t.ID), Name: t.Name, ProjectId: t.ProjectID,
		UpdatedAt: ts(t.UpdatedAt), Value: t.Value}
}

func actionOut(a *model.Action) gen.Action {
	return gen.Action{CreatedAt: ts(a.CreatedAt), DatastoreId: id(a.DatastoreID), Error: strPtr(a.Error),
		FinishTime: tsPtr(a.FinishTime), Id: id(a.ID), Name: a.Name, Progress: a.Progress, ProjectId: a.ProjectID,
		RequestId: a.RequestID, StartTime: tsPtr(a.StartTime), Status: a.Status, UpdatedAt: ts(a.UpdatedAt)}
}

func typeOut(t *model.DatastoreType) gen.DatastoreType {
	return gen.DatastoreType{Engine: t.Engine, Id: id(t.ID), Version: t.Version}
}

func flavorOut(f *service.FlavorView) gen.Flavor {
	return gen.Flavor{DatastoreTypeIds: ids(f.DatastoreTypeIDs), Description: f.Description, Disk: f.Disk,
		FlSize: f.FlSize, Host: &gen.FlavorHost{AvailableCount: f.AvailableCount, Line: f.HostLine, Processor: f.HostProcessor},
		Id: id(f.ID), Name: f.Name, Ram: f.RAM, Subtype: f.Subtype, Vcpus: f.VCPUs}
}

func paramOut(p *service.ParameterView) gen.ConfigurationParameter {
	choices, invalid := p.Choices, p.InvalidValues
	if choices == nil {
		choices = []any{}
	}
	if invalid == nil {
		invalid = []any{}
	}
	return gen.ConfigurationParameter{CanBeEmpty: p.CanBeEmpty, Choices: choices, DatastoreTypeId: id(p.DatastoreTypeID),
		DefaultValue: p.Default, Factor: p.Factor, Id: id(p.ID), InvalidValues: invalid, IsChangeable: p.IsChangeable,
		IsMultipleChoiceAvailable: p.IsMultipleChoiceAvailable, IsRestartRequired: p.IsRestartRequired, Max: p.Max,
		Min: p.Min, Name: p.Name, Type: p.Type, Unit: strPtr(p.Unit)}
}

func availableExtensionOut(e *model.AvailableExtension) gen.AvailableExtension {
	return gen.AvailableExtension{DatastoreTypeIds: ids(e.DatastoreTypeIDs), DependencyIds: ids(e.DependencyIDs),
		Id: id(e.ID), Name: e.Name}
}

// mapList converts a list, never returning nil.
func mapList[T, U any](in []T, f func(*T) U) []U {
	out := make([]U, 0, len(in))
	for i := range in {
		out = append(out, f(&in[i]))
	}
	return out
}

func dsOK(v *service.DatastoreView) gen.DatastoreOKJSONResponse {
	return gen.DatastoreOKJSONResponse{Datastore: datastoreOut(v)}
}
