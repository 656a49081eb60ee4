package kafka

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// How an engine.ACL maps to Kafka ACLs (all ALLOW, from any host):
//
//   - the topic resource is the pattern itself: literal → LITERAL name,
//     prefixed → PREFIXED name, all → LITERAL "*" (every topic);
//   - Write (produce) is WRITE + DESCRIBE on the topics (WRITE on any topic
//     also lets the idempotent producer initialise, as in Kafka ≥ 2.8);
//   - Read (consume) is READ + DESCRIBE on the topics, plus READ on every
//     consumer group (GROUP LITERAL "*"). Consumer groups are not modelled
//     by the API, so a user who may read any topic may use any group name;
//     the group ACL exists while the user has at least one Read ACL.
//
// EnsureACL makes the ACLs of (user, topic resource) exactly these; DropACL
// removes them. Both then add or remove the user's group ACL.

// aclEntry is one Kafka ACL.
type aclEntry struct {
	resType   kmsg.ACLResourceType
	name      string
	pattern   kmsg.ACLResourcePatternType
	principal string
	host      string
	op        kmsg.ACLOperation
	perm      kmsg.ACLPermissionType
}

// aclFilter selects ACLs; zero fields match anything.
type aclFilter struct {
	principal string
	resType   kmsg.ACLResourceType
	name      *string
	pattern   kmsg.ACLResourcePatternType
	op        kmsg.ACLOperation
	perm      kmsg.ACLPermissionType
	host      *string
}

func principal(user string) string { return "User:" + user }

func strp(s string) *string { return &s }

// topicResource is the Kafka topic resource of an ACL.
func topicResource(a engine.ACL) (string, kmsg.ACLResourcePatternType, error) {
	switch a.PatternType {
	case engine.PatternLiteral:
		if err := checkTopicName(a.Pattern); err != nil {
			return "", 0, err
		}
		return a.Pattern, kmsg.ACLResourcePatternTypeLiteral, nil
	case engine.PatternPrefixed:
		if err := checkTopicName(a.Pattern); err != nil {
			return "", 0, fmt.Errorf("prefix: %w", err)
		}
		return a.Pattern, kmsg.ACLResourcePatternTypePrefixed, nil
	case engine.PatternAll:
		return "*", kmsg.ACLResourcePatternTypeLiteral, nil
	default:
		return "", 0, fmt.Errorf("%w: unknown ACL pattern type %q", engine.ErrInvalid, a.PatternType)
	}
}

// EnsureACL makes the user's permissions on the pattern exactly a's: the
// topic ACLs for Read and/or Write, none when both are false.
func (d *Driver) EnsureACL(ctx context.Context, c *engine.Cluster, a engine.ACL) error {
	if err := checkUserName(a.User); err != nil {
		return err
	}
	name, pattern, err := topicResource(a)
	if err != nil {
		return err
	}
	p := principal(a.User)
	want := map[kmsg.ACLOperation]bool{}
	if a.Read {
		want[kmsg.ACLOperationRead], want[kmsg.ACLOperationDescribe] = true, true
	}
	if a.Write {
		want[kmsg.ACLOperationWrite], want[kmsg.ACLOperationDescribe] = true, true
	}
	return withAdmin(ctx, c, func(_ *kadm.Client, cl *kgo.Client) error {
		have, err := describeACLs(ctx, cl, aclFilter{principal: p, resType: kmsg.ACLResourceTypeTopic, name: &name, pattern: pattern})
		if err != nil {
			return err
		}
		present := map[kmsg.ACLOperation]bool{}
		for _, e := range have {
			if want[e.op] && e.host == "*" && e.perm == kmsg.ACLPermissionTypeAllow {
				present[e.op] = true
				continue
			}
			if err := deleteACLs(ctx, cl, exactFilter(e)); err != nil {
				return err
			}
		}
		var create []aclEntry
		for op := range want {
			if !present[op] {
				create = append(create, aclEntry{
					resType: kmsg.ACLResourceTypeTopic, name: name, pattern: pattern,
					principal: p, host: "*", op: op, perm: kmsg.ACLPermissionTypeAllow,
				})
			}
		}
		if err := createACLs(ctx, cl, create); err != nil {
			return err
		}
		return syncGroupACL(ctx, cl, a.User)
	})
}

// DropACL removes the user's permissions on the pattern.
func (d *Driver) DropACL(ctx context.Context, c *engine.Cluster, a engine.ACL) error {
	if err := checkUserName(a.User); err != nil {
		return err
	}
	name, pattern, err := topicResource(a)
	if err != nil {
		return err
	}
	return withAdmin(ctx, c, func(_ *kadm.Client, cl *kgo.Client) error {
		if err := deleteACLs(ctx, cl, aclFilter{principal: principal(a.User), resType: kmsg.ACLResourceTypeTopic, name: &name, pattern: pattern}); err != nil {
			return err
		}
		return syncGroupACL(ctx, cl, a.User)
	})
}

// syncGroupACL gives the user READ on every consumer group while it may
// read some topic, and takes it away otherwise.
func syncGroupACL(ctx context.Context, cl *kgo.Client, user string) error {
	p := principal(user)
	reads, err := describeACLs(ctx, cl, aclFilter{
		principal: p, resType: kmsg.ACLResourceTypeTopic,
		op: kmsg.ACLOperationRead, perm: kmsg.ACLPermissionTypeAllow,
	})
	if err != nil {
		return err
	}
	group := aclEntry{
		resType: kmsg.ACLResourceTypeGroup, name: "*", pattern: kmsg.ACLResourcePatternTypeLiteral,
		principal: p, host: "*", op: kmsg.ACLOperationRead, perm: kmsg.ACLPermissionTypeAllow,
	}
	if len(reads) == 0 {
		return deleteACLs(ctx, cl, exactFilter(group))
	}
	have, err := describeACLs(ctx, cl, exactFilter(group))
	if err != nil || len(have) > 0 {
		return err
	}
	return createACLs(ctx, cl, []aclEntry{group})
}

// exactFilter selects exactly one ACL.
func exactFilter(e aclEntry) aclFilter {
	return aclFilter{
		principal: e.principal, resType: e.resType, name: strp(e.name), pattern: e.pattern,
		op: e.op, perm: e.perm, host: strp(e.host),
	}
}

// filterFields fills in the "any" defaults of a filter.
func (f aclFilter) fields() (kmsg.ACLResourceType, kmsg.ACLResourcePatternType, kmsg.ACLOperation, kmsg.ACLPermissionType, *string) {
	rt, pt, op, perm := f.resType, f.pattern, f.op, f.perm
	if rt == 0 {
		rt = kmsg.ACLResourceTypeAny
	}
	if pt == 0 {
		pt = kmsg.ACLResourcePatternTypeAny
	}
	if op == 0 {
		op = kmsg.ACLOperationAny
	}
	if perm == 0 {
		perm = kmsg.ACLPermissionTypeAny
	}
	var p *string
	if f.principal != "" {
		p = strp(f.principal)
	}
	return rt, pt, op, perm, p
}

// describeACLs lists the ACLs a filter selects.
func describeACLs(ctx context.Context, cl *kgo.Client, f aclFilter) ([]aclEntry, error) {
	req := kmsg.NewPtrDescribeACLsRequest()
	req.ResourceType, req.ResourcePatternType, req.Operation, req.PermissionType, req.Principal = f.fields()
	req.ResourceName, req.Host = f.name, f.host
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("describe ACLs: %w", err)
	}
	if err := codeErr(resp.ErrorCode, resp.ErrorMessage); err != nil {
		return nil, fmt.Errorf("describe ACLs: %w", err)
	}
	var out []aclEntry
	for _, r := range resp.Resources {
		for _, a := range r.ACLs {
			out = append(out, aclEntry{
				resType: r.ResourceType, name: r.ResourceName, pattern: r.ResourcePatternType,
				principal: a.Principal, host: a.Host, op: a.Operation, perm: a.PermissionType,
			})
		}
	}
	return out, nil
}

// deleteACLs deletes the ACLs a filter selects.
func deleteACLs(ctx context.Context, cl *kgo.Client, f aclFilter) error {
	req := kmsg.NewPtrDeleteACLsRequest()
	df := kmsg.NewDeleteACLsRequestFilter()
	df.ResourceType, df.ResourcePatternType, df.Operation, df.PermissionType, df.Principal = f.fields()
	df.ResourceName, df.Host = f.name, f.host
	req.Filters = append(req.Filters, df)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("delete ACLs: %w", err)
	}
	for _, r := range resp.Results {
		if err := codeErr(r.ErrorCode, r.ErrorMessage); err != nil {
			return fmt.Errorf("delete ACLs: %w", err)
		}
	}
	return nil
}

// createACLs creates ACLs.
func createACLs(ctx context.Context, cl *kgo.Client, es []aclEntry) error {
	if len(es) == 0 {
		return nil
	}
	req := kmsg.NewPtrCreateACLsRequest()
	for _, e := range es {
		cr := kmsg.NewCreateACLsRequestCreation()
		cr.ResourceType, cr.ResourceName, cr.ResourcePatternType = e.resType, e.name, e.pattern
		cr.Principal, cr.Host, cr.Operation, cr.PermissionType = e.principal, e.host, e.op, e.perm
		req.Creations = append(req.Creations, cr)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("create ACLs: %w", err)
	}
	for _, r := range resp.Results {
		if err := codeErr(r.ErrorCode, r.ErrorMessage); err != nil {
			return fmt.Errorf("create ACLs: %w", err)
		}
	}
	return nil
}
