package httpapi

import (
	"context"

	"github.com/dbaasd/dbaasd/internal/httpapi/gen"
	"github.com/dbaasd/dbaasd/internal/service"
)

// Users

func (s *Server) ListUsers(ctx context.Context, r gen.ListUsersRequestObject) (gen.ListUsersResponseObject, error) {
	f := usersFilter(r.Params)
	list, err := s.svc.ListUsers(ctx, callerFrom(ctx), f)
	if err != nil {
		return nil, err
	}
	return gen.ListUsers200JSONResponse{Users: mapList(list, userOut)}, nil
}

func (s *Server) CreateUser(ctx context.Context, r gen.CreateUserRequestObject) (gen.CreateUserResponseObject, error) {
	b := r.Body.User
	u, err := s.svc.CreateUser(ctx, callerFrom(ctx), b.DatastoreId.String(), b.Name, b.Password)
	if err != nil {
		return nil, err
	}
	return gen.CreateUser201JSONResponse{User: userOut(u)}, nil
}

func (s *Server) GetUser(ctx context.Context, r gen.GetUserRequestObject) (gen.GetUserResponseObject, error) {
	u, err := s.svc.GetUser(ctx, callerFrom(ctx), r.UserId.String())
	if err != nil {
		return nil, err
	}
	return gen.GetUser200JSONResponse{User: userOut(u)}, nil
}

func (s *Server) UpdateUser(ctx context.Context, r gen.UpdateUserRequestObject) (gen.UpdateUserResponseObject, error) {
	u, err := s.svc.UpdateUserPassword(ctx, callerFrom(ctx), r.UserId.String(), r.Body.User.Password)
	if err != nil {
		return nil, err
	}
	return gen.UpdateUser200JSONResponse{User: userOut(u)}, nil
}

func (s *Server) DeleteUser(ctx context.Context, r gen.DeleteUserRequestObject) (gen.DeleteUserResponseObject, error) {
	if err := s.svc.DeleteUser(ctx, callerFrom(ctx), r.UserId.String()); err != nil {
		return nil, err
	}
	return gen.DeleteUser204Response{}, nil
}

// Databases

func (s *Server) ListDatabases(ctx context.Context, r gen.ListDatabasesRequestObject) (gen.ListDatabasesResponseObject, error) {
	f := databasesFilter(r.Params)
	list, err := s.svc.ListDatabases(ctx, callerFrom(ctx), f)
	if err != nil {
		return nil, err
	}
	return gen.ListDatabases200JSONResponse{Databases: mapList(list, databaseOut)}, nil
}

func (s *Server) CreateDatabase(ctx context.Context, r gen.CreateDatabaseRequestObject) (gen.CreateDatabaseResponseObject, error) {
	b := r.Body.Database
	in := service.DatabaseCreate{DatastoreID: b.DatastoreId.String(), Name: b.Name, LcCollate: deref(b.LcCollate),
		LcCtype: deref(b.LcCtype)}
	if b.OwnerId != nil {
		in.OwnerID = b.OwnerId.String()
	}
	d, err := s.svc.CreateDatabase(ctx, callerFrom(ctx), in)
	if err != nil {
		return nil, err
	}
	return gen.CreateDatabase201JSONResponse{Database: databaseOut(d)}, nil
}

func (s *Server) GetDatabase(ctx context.Context, r gen.GetDatabaseRequestObject) (gen.GetDatabaseResponseObject, error) {
	d, err := s.svc.GetDatabase(ctx, callerFrom(ctx), r.DatabaseId.String())
	if err != nil {
		return nil, err
	}
	return gen.GetDatabase200JSONResponse{Database: databaseOut(d)}, nil
}

func (s *Server) UpdateDatabase(ctx context.Context, r gen.UpdateDatabaseRequestObject) (gen.UpdateDatabaseResponseObject, error) {
	d, err := s.svc.UpdateDatabaseOwner(ctx, callerFrom(ctx), r.DatabaseId.String(), r.Body.Database.OwnerId.String())
	if err != nil {
		return nil, err
	}
	return gen.UpdateDatabase200JSONResponse{Database: databaseOut(d)}, nil
}

func (s *Server) DeleteDatabase(ctx context.Context, r gen.DeleteDatabaseRequestObject) (gen.DeleteDatabaseResponseObject, error) {
	if err := s.svc.DeleteDatabase(ctx, callerFrom(ctx), r.DatabaseId.String()); err != nil {
		return nil, err
	}
	return gen.DeleteDatabase204Response{}, nil
}

// Grants

func (s *Server) ListGrants(ctx context.Context, r gen.ListGrantsRequestObject) (gen.ListGrantsResponseObject, error) {
	f := grantsFilter(r.Params)
	list, err := s.svc.ListGrants(ctx, callerFrom(ctx), f)
	if err != nil {
		return nil, err
	}
	return gen.ListGrants200JSONResponse{Grants: mapList(list, grantOut)}, nil
}

func (s *Server) CreateGrant(ctx context.Context, r gen.CreateGrantRequestObject) (gen.CreateGrantResponseObject, error) {
	b := r.Body.Grant
	g, err := s.svc.CreateGrant(ctx, callerFrom(ctx), b.DatastoreId.String(), b.DatabaseId.String(), b.UserId.String())
	if err != nil {
		return nil, err
	}
	return gen.CreateGrant201JSONResponse{Grant: grantOut(g)}, nil
}

func (s *Server) GetGrant(ctx context.Context, r gen.GetGrantRequestObject) (gen.GetGrantResponseObject, error) {
	g, err := s.svc.GetGrant(ctx, callerFrom(ctx), r.GrantId.String())
	if err != nil {
		return nil, err
	}
	return gen.GetGrant200JSONResponse{Grant: grantOut(g)}, nil
}

func (s *Server) DeleteGrant(ctx context.Context, r gen.DeleteGrantRequestObject) (gen.DeleteGrantResponseObject, error) {
	if err := s.svc.DeleteGrant(ctx, callerFrom(ctx), r.GrantId.String()); err != nil {
		return nil, err
	}
	return gen.DeleteGrant204Response{}, nil
}

// Extensions

func (s *Server) ListExtensions(ctx context.Context, r gen.ListExtensionsRequestObject) (gen.ListExtensionsResponseObject, error) {
	f := extensionsFilter(r.Params)
	list, err := s.svc.ListExtensions(ctx, callerFrom(ctx), f)
	if err != nil {
		return nil, err
	}
	return gen.ListExtensions200JSONResponse{Extensions: mapList(list, extensionOut)}, nil
}

func (s *Server) CreateExtension(ctx context.Context, r gen.CreateExtensionRequestObject) (gen.CreateExtensionResponseObject, error) {
	b := r.Body.Extension
	e, err := s.svc.CreateExtension(ctx, callerFrom(ctx), b.DatastoreId.String(), b.DatabaseId.String(), b.AvailableExtensionId.String())
	if err != nil {
		return nil, err
	}
	return gen.CreateExtension201JSONResponse{Extension: extensionOut(e)}, nil
}

func (s *Server) GetExtension(ctx context.Context, r gen.GetExtensionRequestObject) (gen.GetExtensionResponseObject, error) {
	e, err := s.svc.GetExtension(ctx, callerFrom(ctx), r.ExtensionId.String())
	if err != nil {
		return nil, err
	}
	return gen.GetExtension200JSONResponse{Extension: extensionOut(e)}, nil
}

func (s *Server) DeleteExtension(ctx context.Context, r gen.DeleteExtensionRequestObject) (gen.DeleteExtensionResponseObject, error) {
	if err := s.svc.DeleteExtension(ctx, callerFrom(ctx), r.ExtensionId.String()); err != nil {
		return nil, err
	}
	return gen.DeleteExtension204Response{}, nil
}

// Logical replication slots

func (s *Server) ListLogicalReplicationSlots(ctx context.Context, r gen.ListLogicalReplicationSlotsRequestObject) (gen.ListLogicalReplicationSlotsResponseObject, error) {
	f := slotsFilter(r.Params)
	list, err := s.svc.ListSlots(ctx, callerFrom(ctx), f)
	if err != nil {
		return nil, err
	}
	return gen.ListLogicalReplicationSlots200JSONResponse{LogicalReplicationSlots: mapList(list, slotOut)}, nil
}

func (s *Server) CreateLogicalReplicationSlot(ctx context.Context, r gen.CreateLogicalReplicationSlotRequestObject) (gen.CreateLogicalReplicationSlotResponseObject, error) {
	b := r.Body.LogicalReplicationSlot
	sl, err := s.svc.CreateSlot(ctx, callerFrom(ctx), b.DatastoreId.String(), b.DatabaseId.String(), b.Name)
	if err != nil {
		return nil, err
	}
	return gen.CreateLogicalReplicationSlot201JSONResponse{LogicalReplicationSlot: slotOut(sl)}, nil
}

func (s *Server) GetLogicalReplicationSlot(ctx context.Context, r gen.GetLogicalReplicationSlotRequestObject) (gen.GetLogicalReplicationSlotResponseObject, error) {
	sl, err := s.svc.GetSlot(ctx, callerFrom(ctx), r.LogicalReplicationSlotId.String())
	if err != nil {
		return nil, err
	}
	return gen.GetLogicalReplicationSlot200JSONResponse{LogicalReplicationSlot: slotOut(sl)}, nil
}

func (s *Server) DeleteLogicalReplicationSlot(ctx context.Context, r gen.DeleteLogicalReplicationSlotRequestObject) (gen.DeleteLogicalReplicationSlotResponseObject, error) {
	if err := s.svc.DeleteSlot(ctx, callerFrom(ctx), r.LogicalReplicationSlotId.String()); err != nil {
		return nil, err
	}
	return gen.DeleteLogicalReplicationSlot204Response{}, nil
}

// Topics

func (s *Server) ListTopics(ctx context.Context, r gen.ListTopicsRequestObject) (gen.ListTopicsResponseObject, error) {
	f := topicsFilter(r.Params)
	list, err := s.svc.ListTopics(ctx, callerFrom(ctx), f)
	if err != nil {
		return nil, err
	}
	return gen.ListTopics200JSONResponse{Topics: mapList(list, topicOut)}, nil
}

func (s *Server) CreateTopic(ctx context.Context, r gen.CreateTopicRequestObject) (gen.CreateTopicResponseObject, error) {
	b := r.Body.Topic
	t, err := s.svc.CreateTopic(ctx, callerFrom(ctx), b.DatastoreId.String(), b.Name, b.Partitions)
	if err != nil {
		return nil, err
	}
	return gen.CreateTopic201JSONResponse{Topic: topicOut(t)}, nil
}

func (s *Server) GetTopic(ctx context.Context, r gen.GetTopicRequestObject) (gen.GetTopicResponseObject, error) {
	t, err := s.svc.GetTopic(ctx, callerFrom(ctx), r.TopicId.String())
	if err != nil {
		return nil, err
	}
	return gen.GetTopic200JSONResponse{Topic: topicOut(t)}, nil
}

func (s *Server) UpdateTopic(ctx context.Context, r gen.UpdateTopicRequestObject) (gen.UpdateTopicResponseObject, error) {
	t, err := s.svc.UpdateTopicPartitions(ctx, callerFrom(ctx), r.TopicId.String(), r.Body.Topic.Partitions)
	if err != nil {
		return nil, err
	}
	return gen.UpdateTopic200JSONResponse{Topic: topicOut(t)}, nil
}

func (s *Server) DeleteTopic(ctx context.Context, r gen.DeleteTopicRequestObject) (gen.DeleteTopicResponseObject, error) {
	if err := s.svc.DeleteTopic(ctx, callerFrom(ctx), r.TopicId.String()); err != nil {
		return nil, err
	}
	return gen.DeleteTopic204Response{}, nil
}

// ACLs

func (s *Server) ListAcls(ctx context.Context, r gen.ListAclsRequestObject) (gen.ListAclsResponseObject, error) {
	f := aclsFilter(r.Params)
	list, err := s.svc.ListACLs(ctx, callerFrom(ctx), f)
	if err != nil {
		return nil, err
	}
	return gen.ListAcls200JSONResponse{Acls: mapList(list, aclOut)}, nil
}

func (s *Server) CreateAcl(ctx context.Context, r gen.CreateAclRequestObject) (gen.CreateAclResponseObject, error) {
	b := r.Body.Acl
	a, err := s.svc.CreateACL(ctx, callerFrom(ctx), service.ACLCreate{DatastoreID: b.DatastoreId.String(),
		UserID: b.UserId.String(), Pattern: deref(b.Pattern), PatternType: string(b.PatternType),
		AllowRead: b.AllowRead, AllowWrite: b.AllowWrite})
	if err != nil {
		return nil, err
	}
	return gen.CreateAcl201JSONResponse{Acl: aclOut(a)}, nil
}

func (s *Server) GetAcl(ctx context.Context, r gen.GetAclRequestObject) (gen.GetAclResponseObject, error) {
	a, err := s.svc.GetACL(ctx, callerFrom(ctx), r.AclId.String())
	if err != nil {
		return nil, err
	}
	return gen.GetAcl200JSONResponse{Acl: aclOut(a)}, nil
}

func (s *Server) UpdateAcl(ctx context.Context, r gen.UpdateAclRequestObject) (gen.UpdateAclResponseObject, error) {
	a, err := s.svc.UpdateACL(ctx, callerFrom(ctx), r.AclId.String(), r.Body.Acl.AllowRead, r.Body.Acl.AllowWrite)
	if err != nil {
		return nil, err
	}
	return gen.UpdateAcl200JSONResponse{Acl: aclOut(a)}, nil
}

func (s *Server) DeleteAcl(ctx context.Context, r gen.DeleteAclRequestObject) (gen.DeleteAclResponseObject, error) {
	if err := s.svc.DeleteACL(ctx, callerFrom(ctx), r.AclId.String()); err != nil {
		return nil, err
	}
	return gen.DeleteAcl204Response{}, nil
}
