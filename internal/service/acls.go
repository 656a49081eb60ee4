package service

import (
	"context"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

var patternTypes = map[string]bool{"literal": true, "prefixed": true, "all": true}

// ACLCreate is a request for a new ACL.
type ACLCreate struct {
	DatastoreID string
	UserID      string
	Pattern     string
	PatternType string
	AllowRead   bool
	AllowWrite  bool
}

// CreateACL records a new Kafka ACL.
func (s *Service) CreateACL(ctx context.Context, c Caller, in ACLCreate) (*model.ACL, error) {
	if !patternTypes[in.PatternType] {
		return nil, Invalid("acl.pattern_type", "must be literal, prefixed or all, got %q", in.PatternType)
	}
	if in.PatternType == "all" {
		in.Pattern = ""
	} else if in.Pattern == "" || !topicRe.MatchString(in.Pattern) {
		return nil, Invalid("acl.pattern", "must be a topic name or prefix (letters, digits, . _ -) for pattern type %s", in.PatternType)
	}
	if !in.AllowRead && !in.AllowWrite {
		return nil, Invalid("acl.allow_read", "an ACL must allow reading, writing or both")
	}
	return create(ctx, s, c, aclKind, in.DatastoreID,
		func(tx store.Tx, d *model.Datastore, _ *model.DatastoreType) (*model.ACL, error) {
			if _, err := userIn(ctx, tx, c, d.ID, in.UserID, "acl.user_id"); err != nil {
				return nil, err
			}
			a := &model.ACL{Object: s.newObject(c, d.ID), UserID: in.UserID, Pattern: in.Pattern, PatternType: in.PatternType, AllowRead: in.AllowRead, AllowWrite: in.AllowWrite}
			return a, nil
		})
}

// GetACL returns one of the caller's ACLs.
func (s *Service) GetACL(ctx context.Context, c Caller, id string) (*model.ACL, error) {
	return getObject(ctx, s, c, aclKind, id)
}

// ListACLs lists the caller's ACLs.
func (s *Service) ListACLs(ctx context.Context, c Caller, f store.Filter) ([]model.ACL, error) {
	return list(ctx, s.store.ACLs(), c, f)
}

// UpdateACL changes what an ACL allows.
func (s *Service) UpdateACL(ctx context.Context, c Caller, id string, read, write bool) (*model.ACL, error) {
	if !read && !write {
		return nil, Invalid("acl.allow_read", "an ACL must allow reading, writing or both; delete it instead")
	}
	return change(ctx, s, c, aclKind, id, aclKind.Update,
		func(tx store.Tx, a *model.ACL) error {
			if a.Status == model.StatusPendingDelete {
				return Conflict("acl_id", "acl %s is being deleted", id)
			}
			a.AllowRead, a.AllowWrite, a.Status, a.UpdatedAt = read, write, model.StatusPendingUpdate, s.stamp()
			return nil
		})
}

// DeleteACL removes an ACL.
func (s *Service) DeleteACL(ctx context.Context, c Caller, id string) error {
	_, err := change(ctx, s, c, aclKind, id, aclKind.Delete,
		func(tx store.Tx, a *model.ACL) error {
			a.UpdatedAt = s.stamp()
			return pendingDelete(&a.Status, "acl", id)
		})
	return err
}
