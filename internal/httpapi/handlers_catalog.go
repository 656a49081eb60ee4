package httpapi

import (
	"context"

	"github.com/dbaasd/dbaasd/internal/catalog"
	"github.com/dbaasd/dbaasd/internal/httpapi/gen"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/service"
)

func (s *Server) ListDatastoreTypes(ctx context.Context, r gen.ListDatastoreTypesRequestObject) (gen.ListDatastoreTypesResponseObject, error) {
	f := datastoreTypesFilter(r.Params)
	list, err := s.svc.ListDatastoreTypes(ctx, f)
	if err != nil {
		return nil, err
	}
	return gen.ListDatastoreTypes200JSONResponse{DatastoreTypes: mapList(list, typeOut)}, nil
}

func (s *Server) GetDatastoreType(ctx context.Context, r gen.GetDatastoreTypeRequestObject) (gen.GetDatastoreTypeResponseObject, error) {
	t, err := s.svc.GetDatastoreType(ctx, r.DatastoreTypeId.String())
	if err != nil {
		return nil, err
	}
	return gen.GetDatastoreType200JSONResponse{DatastoreType: typeOut(t)}, nil
}

func (s *Server) ListFlavors(ctx context.Context, r gen.ListFlavorsRequestObject) (gen.ListFlavorsResponseObject, error) {
	f := flavorsFilter(r.Params)
	list, err := s.svc.ListFlavors(ctx, f)
	if err != nil {
		return nil, err
	}
	return gen.ListFlavors200JSONResponse{Flavors: mapList(list, flavorOut)}, nil
}

func (s *Server) GetFlavor(ctx context.Context, r gen.GetFlavorRequestObject) (gen.GetFlavorResponseObject, error) {
	f, err := s.svc.GetFlavor(ctx, r.FlavorId.String())
	if err != nil {
		return nil, err
	}
	return gen.GetFlavor200JSONResponse{Flavor: flavorOut(f)}, nil
}

func (s *Server) CreateFlavor(ctx context.Context, r gen.CreateFlavorRequestObject) (gen.CreateFlavorResponseObject, error) {
	b := r.Body.Flavor
	spec := model.FlavorSpec{Name: b.Name, Description: deref(b.Description), VCPUs: b.Vcpus, RAM: b.Ram, Disk: b.Disk,
		FlSize: catalog.FlStandard, Subtype: deref(b.Subtype), IsPublic: true, Template: deref(b.Template),
		DatastoreTypeIDs: strs(b.DatastoreTypeIds)}
	if b.FlSize != nil {
		spec.FlSize = string(*b.FlSize)
	}
	if b.IsPublic != nil {
		spec.IsPublic = *b.IsPublic
	}
	if b.Host != nil {
		spec.HostLine, spec.HostProcessor, spec.HostTotalCount = b.Host.Line, b.Host.Processor, b.Host.TotalCount
	}
	f, err := s.svc.CreateFlavor(ctx, callerFrom(ctx), spec)
	if err != nil {
		return nil, err
	}
	return gen.CreateFlavor201JSONResponse{Flavor: flavorOut(f)}, nil
}

func (s *Server) UpdateFlavor(ctx context.Context, r gen.UpdateFlavorRequestObject) (gen.UpdateFlavorResponseObject, error) {
	var name, desc *string
	if r.Body.Flavor != nil {
		name, desc = r.Body.Flavor.Name, r.Body.Flavor.Description
	}
	f, err := s.svc.UpdateFlavor(ctx, callerFrom(ctx), r.FlavorId.String(), name, desc)
	if err != nil {
		return nil, err
	}
	return gen.UpdateFlavor200JSONResponse{Flavor: flavorOut(f)}, nil
}

func (s *Server) UpdateFlavorHost(ctx context.Context, r gen.UpdateFlavorHostRequestObject) (gen.UpdateFlavorHostResponseObject, error) {
	h := r.Body.Host
	f, err := s.svc.UpdateFlavorHost(ctx, callerFrom(ctx), r.FlavorId.String(), h.Line, h.Processor, &h.TotalCount)
	if err != nil {
		return nil, err
	}
	return gen.UpdateFlavorHost200JSONResponse{Flavor: flavorOut(f)}, nil
}

func (s *Server) DeleteFlavor(ctx context.Context, r gen.DeleteFlavorRequestObject) (gen.DeleteFlavorResponseObject, error) {
	if err := s.svc.DeleteFlavor(ctx, callerFrom(ctx), r.FlavorId.String()); err != nil {
		return nil, err
	}
	return gen.DeleteFlavor204Response{}, nil
}

func (s *Server) ListConfigurationParameters(ctx context.Context, r gen.ListConfigurationParametersRequestObject) (gen.ListConfigurationParametersResponseObject, error) {
	p := r.Params
	var env *catalog.Env
	if p.Ram != nil || p.Vcpus != nil || p.Disk != nil {
		env = &catalog.Env{RAM: deref(p.Ram), VCPUs: deref(p.Vcpus), Disk: deref(p.Disk)}
	}
	f := parametersFilter(p)
	list, err := s.svc.ListParameters(ctx, f, env)
	if err != nil {
		return nil, err
	}
	return gen.ListConfigurationParameters200JSONResponse{ConfigurationParameters: mapList(list, paramOut)}, nil
}

func (s *Server) GetConfigurationParameter(ctx context.Context, r gen.GetConfigurationParameterRequestObject) (gen.GetConfigurationParameterResponseObject, error) {
	p, err := s.svc.GetParameter(ctx, r.ConfigurationParameterId.String(), nil)
	if err != nil {
		return nil, err
	}
	return gen.GetConfigurationParameter200JSONResponse{ConfigurationParameter: paramOut(p)}, nil
}

func (s *Server) CreateConfigurationParameter(ctx context.Context, r gen.CreateConfigurationParameterRequestObject) (gen.CreateConfigurationParameterResponseObject, error) {
	b := r.Body.ConfigurationParameter
	p := model.ConfigurationParameter{DatastoreTypeID: b.DatastoreTypeId.String(), Name: b.Name, Type: b.Type,
		Unit: deref(b.Unit), MinTemplate: deref(b.MinTemplate), MaxTemplate: deref(b.MaxTemplate),
		DefaultValueTemplate: deref(b.DefaultValueTemplate), Choices: deref(b.Choices), InvalidValues: deref(b.InvalidValues),
		IsRestartRequired: deref(b.IsRestartRequired), IsChangeable: true, CanBeEmpty: deref(b.CanBeEmpty),
		IsMultipleChoiceAvailable: deref(b.IsMultipleChoiceAvailable), IsAvailableForCustomer: true, Factor: deref(b.Factor)}
	if b.IsChangeable != nil {
		p.IsChangeable = *b.IsChangeable
	}
	if b.IsAvailableForCustomer != nil {
		p.IsAvailableForCustomer = *b.IsAvailableForCustomer
	}
	v, err := s.svc.CreateParameter(ctx, callerFrom(ctx), p)
	if err != nil {
		return nil, err
	}
	return gen.CreateConfigurationParameter201JSONResponse{ConfigurationParameter: paramOut(v)}, nil
}

func (s *Server) DeleteConfigurationParameter(ctx context.Context, r gen.DeleteConfigurationParameterRequestObject) (gen.DeleteConfigurationParameterResponseObject, error) {
	if err := s.svc.DeleteParameter(ctx, callerFrom(ctx), r.ConfigurationParameterId.String()); err != nil {
		return nil, err
	}
	return gen.DeleteConfigurationParameter204Response{}, nil
}

func (s *Server) ListAvailableExtensions(ctx context.Context, r gen.ListAvailableExtensionsRequestObject) (gen.ListAvailableExtensionsResponseObject, error) {
	p := r.Params
	var typeID string
	if p.DatastoreTypeId != nil {
		typeID = p.DatastoreTypeId.String()
	}
	f := availableExtensionsFilter(p)
	list, err := s.svc.ListAvailableExtensions(ctx, f, typeID)
	if err != nil {
		return nil, err
	}
	return gen.ListAvailableExtensions200JSONResponse{AvailableExtensions: mapList(list, availableExtensionOut)}, nil
}

func (s *Server) GetAvailableExtension(ctx context.Context, r gen.GetAvailableExtensionRequestObject) (gen.GetAvailableExtensionResponseObject, error) {
	e, err := s.svc.GetAvailableExtension(ctx, r.AvailableExtensionId.String())
	if err != nil {
		return nil, err
	}
	return gen.GetAvailableExtension200JSONResponse{AvailableExtension: availableExtensionOut(e)}, nil
}

func (s *Server) CreateAvailableExtension(ctx context.Context, r gen.CreateAvailableExtensionRequestObject) (gen.CreateAvailableExtensionResponseObject, error) {
	b := r.Body.AvailableExtension
	e := model.AvailableExtension{Name: b.Name, DatastoreTypeIDs: strs(b.DatastoreTypeIds)}
	if b.DependencyIds != nil {
		e.DependencyIDs = strs(*b.DependencyIds)
	}
	out, err := s.svc.CreateAvailableExtension(ctx, callerFrom(ctx), e)
	if err != nil {
		return nil, err
	}
	return gen.CreateAvailableExtension201JSONResponse{AvailableExtension: availableExtensionOut(out)}, nil
}

func (s *Server) UpdateAvailableExtension(ctx context.Context, r gen.UpdateAvailableExtensionRequestObject) (gen.UpdateAvailableExtensionResponseObject, error) {
	b := r.Body.AvailableExtension
	var types, deps []string
	if b.DatastoreTypeIds != nil {
		types = strs(*b.DatastoreTypeIds)
	}
	if b.DependencyIds != nil {
		deps = strs(*b.DependencyIds)
	}
	out, err := s.svc.UpdateAvailableExtension(ctx, callerFrom(ctx), r.AvailableExtensionId.String(), types, deps)
	if err != nil {
		return nil, err
	}
	return gen.UpdateAvailableExtension200JSONResponse{AvailableExtension: availableExtensionOut(out)}, nil
}

func (s *Server) DeleteAvailableExtension(ctx context.Context, r gen.DeleteAvailableExtensionRequestObject) (gen.DeleteAvailableExtensionResponseObject, error) {
	if err := s.svc.DeleteAvailableExtension(ctx, callerFrom(ctx), r.AvailableExtensionId.String()); err != nil {
		return nil, err
	}
	return gen.DeleteAvailableExtension204Response{}, nil
}

func byEngine(l map[string]catalog.Limits, f func(catalog.Limits) int) gen.LimitByEngine {
	return gen.LimitByEngine{Kafka: f(l["kafka"]), Mysql: f(l["mysql"]), MysqlNative: f(l["mysql_native"]),
		Postgresql: f(l["postgresql"]), Redis: f(l["redis"])}
}

func (s *Server) GetLimits(ctx context.Context, _ gen.GetLimitsRequestObject) (gen.GetLimitsResponseObject, error) {
	l := s.svc.LimitsByEngine()
	return gen.GetLimits200JSONResponse{Limits: []gen.Limit{{
		DiskLocalMax:                byEngine(l, func(x catalog.Limits) int { return x.DiskLocalMax }),
		DiskLocalMin:                byEngine(l, func(x catalog.Limits) int { return x.DiskLocalMin }),
		DiskNetworkUltraMax:         byEngine(l, func(x catalog.Limits) int { return x.DiskNetworkUltraMax }),
		DiskNetworkUltraMin:         byEngine(l, func(x catalog.Limits) int { return x.DiskNetworkUltraMin }),
		DiskTypes:                   []string{catalog.DiskLocal, catalog.DiskNetworkUltra},
		DiskVcpusMultiplier:         byEngine(l, func(x catalog.Limits) int { return x.DiskVCPUsMultiplier }),
		RamMax:                      byEngine(l, func(x catalog.Limits) int { return x.RAMMax }),
		RamMin:                      byEngine(l, func(x catalog.Limits) int { return x.RAMMin }),
		RamVcpusMultiplier:          byEngine(l, func(x catalog.Limits) int { return x.RAMVCPUsMultiplier }),
		VcpusMax:                    byEngine(l, func(x catalog.Limits) int { return x.VCPUsMax }),
		VcpusMin:                    byEngine(l, func(x catalog.Limits) int { return x.VCPUsMin }),
		VcpusMultiplierMinThreshold: byEngine(l, func(x catalog.Limits) int { return x.VCPUsMultiplierMinThreshold }),
	}}}, nil
}

func (s *Server) ListCapabilities(ctx context.Context, _ gen.ListCapabilitiesRequestObject) (gen.ListCapabilitiesResponseObject, error) {
	engines, err := s.svc.Engines(ctx)
	if err != nil {
		return nil, err
	}
	has := map[string]bool{}
	for _, e := range engines {
		has[e] = true
	}
	return gen.ListCapabilities200JSONResponse{Capabilities: []gen.Capability{{LogPlatformDsTypes: gen.CapabilityDatastoreTypes{
		Kafka: has["kafka"], MysqlSemisync: has["mysql_native"], MysqlSync: has["mysql"], Postgresql: has["postgresql"],
		Redis: has["redis"]}}}}, nil
}

func (s *Server) GetQuotas(ctx context.Context, _ gen.GetQuotasRequestObject) (gen.GetQuotasResponseObject, error) {
	q, err := s.svc.Quotas(ctx, callerFrom(ctx))
	if err != nil {
		return nil, err
	}
	l, u := func(k string) int { return int(q.Limits[k]) }, func(k string) int { return int(q.InUse[k]) }
	return gen.GetQuotas200JSONResponse{Quotas: []gen.Quota{{
		Acls: l("acls"), Cores: l("cores"), Databases: l("databases"), Datastores: l("datastores"),
		DiskLocal: l("disk_local"), DiskNetworkUltra: l("disk_network_ultra"), FirewallRules: l("firewall_rules"),
		LocalGb: l("disk_local"), PrometheusMetricsTokens: l("prometheus_metrics_tokens"), Ram: l("ram"),
		Topics: l("topics"), Users: l("users"),
		InUseAcls: u("acls"), InUseCores: u("cores"), InUseDatabases: u("databases"), InUseDatastores: u("datastores"),
		InUseDiskLocal: u("disk_local"), InUseDiskNetworkUltra: u("disk_network_ultra"),
		InUseFirewallRules: u("firewall_rules"), InUseLocalGb: u("disk_local"),
		InUsePrometheusMetricsTokens: u("prometheus_metrics_tokens"), InUseRam: u("ram"), InUseTopics: u("topics"),
		InUseUsers: u("users"),
	}}}, nil
}

var _ = service.Caller{}
