package httpapi

import (
	"context"
	"time"

	"github.com/dbaasd/dbaasd/internal/httpapi/gen"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/service"
)

func (s *Server) ListDatastores(ctx context.Context, r gen.ListDatastoresRequestObject) (gen.ListDatastoresResponseObject, error) {
	f := datastoresFilter(r.Params)
	list, err := s.svc.ListDatastores(ctx, callerFrom(ctx), f)
	if err != nil {
		return nil, err
	}
	return listDatastoresAnswer{mapList(list, datastoreOut)}, nil
}

func (s *Server) CountDatastores(ctx context.Context, r gen.CountDatastoresRequestObject) (gen.CountDatastoresResponseObject, error) {
	f := countDatastoresFilter(r.Params)
	n, err := s.svc.CountDatastores(ctx, callerFrom(ctx), f)
	if err != nil {
		return nil, err
	}
	return gen.CountDatastores200JSONResponse{Kafka: n["kafka"], MysqlSemisync: n["mysql_semisync"],
		MysqlSync: n["mysql_sync"], Postgresql: n["postgresql"], Redis: n["redis"]}, nil
}

func (s *Server) CreateDatastore(ctx context.Context, r gen.CreateDatastoreRequestObject) (gen.CreateDatastoreResponseObject, error) {
	b := r.Body.Datastore
	in := service.DatastoreCreate{
		ProjectID: deref(b.ProjectId), Name: b.Name, TypeID: b.TypeId.String(), SubnetID: b.SubnetId,
		NodeCount: b.NodeCount, Config: deref(b.Config), RedisPassword: deref(b.RedisPassword),
		BackupRetentionDays: b.BackupRetentionDays,
	}
	if b.FlavorId != nil {
		in.FlavorID = b.FlavorId.String()
	}
	if b.Flavor != nil {
		in.Flavor = &model.Flavor{VCPUs: b.Flavor.Vcpus, RAM: b.Flavor.Ram, Disk: b.Flavor.Disk, DiskType: string(deref(b.Flavor.DiskType))}
	}
	if b.Disk != nil {
		in.Disk = &service.DiskSpec{Size: b.Disk.Size, Type: string(b.Disk.Type)}
	}
	if b.Pooler != nil {
		in.Pooler = &service.PoolerSpec{Mode: string(deref(b.Pooler.Mode)), Size: deref(b.Pooler.Size)}
	}
	if b.Restore != nil {
		in.Restore = &model.Restore{}
		if b.Restore.DatastoreId != nil {
			in.Restore.DatastoreID = b.Restore.DatastoreId.String()
		}
		if b.Restore.TargetTime != nil {
			t, err := time.Parse(TimeFormat, *b.Restore.TargetTime)
			if err != nil {
				return nil, service.Invalid("restore.target_time", "must be YYYY-MM-DDTHH:MM:SS (UTC)")
			}
			in.Restore.TargetTime = &t
		}
	}
	if b.SecurityGroups != nil {
		in.SecurityGroups = strs(*b.SecurityGroups)
	}
	if b.FloatingIps != nil {
		in.FloatingIPs = &model.FloatingIPs{Master: b.FloatingIps.Master, Replica: b.FloatingIps.Replica}
	}
	if b.LogPlatform != nil {
		in.LogGroup = b.LogPlatform.LogGroup
	}
	v, err := s.svc.CreateDatastore(ctx, callerFrom(ctx), in)
	if err != nil {
		return nil, err
	}
	return gen.CreateDatastore201JSONResponse{Datastore: datastoreOut(v)}, nil
}

func (s *Server) GetDatastore(ctx context.Context, r gen.GetDatastoreRequestObject) (gen.GetDatastoreResponseObject, error) {
	v, err := s.svc.GetDatastore(ctx, callerFrom(ctx), r.DatastoreId.String())
	if err != nil {
		return nil, err
	}
	if v.Deleted {
		// Clients wait for 404 after a delete (the Terraform provider polls
		// until it); deleted datastores stay listable with deleted=true.
		return nil, service.NotFound("datastore %s was deleted", v.ID)
	}
	return getDatastoreAnswer{datastoreOut(v)}, nil
}

func (s *Server) UpdateDatastore(ctx context.Context, r gen.UpdateDatastoreRequestObject) (gen.UpdateDatastoreResponseObject, error) {
	c := callerFrom(ctx)
	var v *service.DatastoreView
	var err error
	if r.Body != nil && r.Body.Datastore != nil {
		v, err = s.svc.UpdateDatastoreName(ctx, c, r.DatastoreId.String(), r.Body.Datastore.Name)
	} else {
		v, err = s.svc.GetDatastore(ctx, c, r.DatastoreId.String())
	}
	if err != nil {
		return nil, err
	}
	return gen.UpdateDatastore200JSONResponse{DatastoreOKJSONResponse: dsOK(v)}, nil
}

func (s *Server) DeleteDatastore(ctx context.Context, r gen.DeleteDatastoreRequestObject) (gen.DeleteDatastoreResponseObject, error) {
	if err := s.svc.DeleteDatastore(ctx, callerFrom(ctx), r.DatastoreId.String()); err != nil {
		return nil, err
	}
	return gen.DeleteDatastore204Response{}, nil
}

func (s *Server) UpdateDatastoreConfig(ctx context.Context, r gen.UpdateDatastoreConfigRequestObject) (gen.UpdateDatastoreConfigResponseObject, error) {
	v, err := s.svc.UpdateConfig(ctx, callerFrom(ctx), r.DatastoreId.String(), r.Body.Config)
	if err != nil {
		return nil, err
	}
	return gen.UpdateDatastoreConfig200JSONResponse{DatastoreOKJSONResponse: dsOK(v)}, nil
}

func (s *Server) UpdateDatastoreFirewall(ctx context.Context, r gen.UpdateDatastoreFirewallRequestObject) (gen.UpdateDatastoreFirewallResponseObject, error) {
	v, err := s.svc.UpdateFirewall(ctx, callerFrom(ctx), r.DatastoreId.String(), r.Body.Firewall.Ips)
	if err != nil {
		return nil, err
	}
	return gen.UpdateDatastoreFirewall200JSONResponse{DatastoreOKJSONResponse: dsOK(v)}, nil
}

func (s *Server) UpdateDatastorePooler(ctx context.Context, r gen.UpdateDatastorePoolerRequestObject) (gen.UpdateDatastorePoolerResponseObject, error) {
	p := service.PoolerSpec{Mode: string(deref(r.Body.Pooler.Mode)), Size: deref(r.Body.Pooler.Size)}
	v, err := s.svc.UpdatePooler(ctx, callerFrom(ctx), r.DatastoreId.String(), p)
	if err != nil {
		return nil, err
	}
	return gen.UpdateDatastorePooler200JSONResponse{DatastoreOKJSONResponse: dsOK(v)}, nil
}

func (s *Server) UpdateDatastorePassword(ctx context.Context, r gen.UpdateDatastorePasswordRequestObject) (gen.UpdateDatastorePasswordResponseObject, error) {
	v, err := s.svc.UpdatePassword(ctx, callerFrom(ctx), r.DatastoreId.String(), r.Body.Password.RedisPassword)
	if err != nil {
		return nil, err
	}
	return gen.UpdateDatastorePassword200JSONResponse{DatastoreOKJSONResponse: dsOK(v)}, nil
}

func (s *Server) UpdateDatastoreSecurityGroups(ctx context.Context, r gen.UpdateDatastoreSecurityGroupsRequestObject) (gen.UpdateDatastoreSecurityGroupsResponseObject, error) {
	v, err := s.svc.UpdateSecurityGroups(ctx, callerFrom(ctx), r.DatastoreId.String(), strs(r.Body.SecurityGroups))
	if err != nil {
		return nil, err
	}
	return gen.UpdateDatastoreSecurityGroups200JSONResponse{DatastoreOKJSONResponse: dsOK(v)}, nil
}

func (s *Server) UpdateDatastoreBackups(ctx context.Context, r gen.UpdateDatastoreBackupsRequestObject) (gen.UpdateDatastoreBackupsResponseObject, error) {
	v, err := s.svc.UpdateBackups(ctx, callerFrom(ctx), r.DatastoreId.String(), r.Body.Backups.BackupRetentionDays)
	if err != nil {
		return nil, err
	}
	return gen.UpdateDatastoreBackups200JSONResponse{DatastoreOKJSONResponse: dsOK(v)}, nil
}

func (s *Server) EnableDatastoreLogPlatform(ctx context.Context, r gen.EnableDatastoreLogPlatformRequestObject) (gen.EnableDatastoreLogPlatformResponseObject, error) {
	v, err := s.svc.SetLogPlatform(ctx, callerFrom(ctx), r.DatastoreId.String(), r.Body.LogPlatform.LogGroup)
	if err != nil {
		return nil, err
	}
	return gen.EnableDatastoreLogPlatform200JSONResponse{DatastoreOKJSONResponse: dsOK(v)}, nil
}

func (s *Server) DisableDatastoreLogPlatform(ctx context.Context, r gen.DisableDatastoreLogPlatformRequestObject) (gen.DisableDatastoreLogPlatformResponseObject, error) {
	if _, err := s.svc.SetLogPlatform(ctx, callerFrom(ctx), r.DatastoreId.String(), ""); err != nil {
		return nil, err
	}
	return gen.DisableDatastoreLogPlatform204Response{}, nil
}

func (s *Server) ResizeDatastore(ctx context.Context, r gen.ResizeDatastoreRequestObject) (gen.ResizeDatastoreResponseObject, error) {
	b := r.Body.Resize
	rz := service.Resize{NodeCount: b.NodeCount}
	if b.FlavorId != nil {
		rz.FlavorID = b.FlavorId.String()
	}
	if b.Flavor != nil {
		rz.Flavor = &model.Flavor{VCPUs: b.Flavor.Vcpus, RAM: b.Flavor.Ram, Disk: b.Flavor.Disk, DiskType: string(deref(b.Flavor.DiskType))}
	}
	if b.Disk != nil {
		rz.DiskSize = b.Disk.Size
	}
	v, err := s.svc.ResizeDatastore(ctx, callerFrom(ctx), r.DatastoreId.String(), rz)
	if err != nil {
		return nil, err
	}
	return gen.ResizeDatastore200JSONResponse{DatastoreOKJSONResponse: dsOK(v)}, nil
}

func (s *Server) SetDatastoreProtection(ctx context.Context, r gen.SetDatastoreProtectionRequestObject) (gen.SetDatastoreProtectionResponseObject, error) {
	v, err := s.svc.SetProtection(ctx, callerFrom(ctx), r.DatastoreId.String(), r.Body.Protection)
	if err != nil {
		return nil, err
	}
	return gen.SetDatastoreProtection200JSONResponse{DatastoreOKJSONResponse: dsOK(v)}, nil
}

func floatingIPInstance(kebab, plain *gen.FloatingIpCreate) (string, error) {
	switch {
	case plain != nil:
		return plain.InstanceId.String(), nil
	case kebab != nil:
		return kebab.InstanceId.String(), nil
	}
	return "", service.Invalid("floating_ip", "is required (with instance_id)")
}

func (s *Server) CreateFloatingIp(ctx context.Context, r gen.CreateFloatingIpRequestObject) (gen.CreateFloatingIpResponseObject, error) {
	inst, err := floatingIPInstance(r.Body.FloatingIpKebab, r.Body.FloatingIp)
	if err != nil {
		return nil, err
	}
	if err := s.svc.AddFloatingIP(ctx, callerFrom(ctx), inst); err != nil {
		return nil, err
	}
	return gen.CreateFloatingIp201Response{}, nil
}

func (s *Server) DeleteFloatingIp(ctx context.Context, r gen.DeleteFloatingIpRequestObject) (gen.DeleteFloatingIpResponseObject, error) {
	var kebab, plain *gen.FloatingIpCreate
	if r.Body.FloatingIpKebab != nil {
		kebab = &gen.FloatingIpCreate{InstanceId: r.Body.FloatingIpKebab.InstanceId}
	}
	if r.Body.FloatingIp != nil {
		plain = &gen.FloatingIpCreate{InstanceId: r.Body.FloatingIp.InstanceId}
	}
	inst, err := floatingIPInstance(kebab, plain)
	if err != nil {
		return nil, err
	}
	if err := s.svc.RemoveFloatingIP(ctx, callerFrom(ctx), inst); err != nil {
		return nil, err
	}
	return gen.DeleteFloatingIp204Response{}, nil
}
