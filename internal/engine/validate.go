package engine

import (
	"context"
	"errors"
)

// Validator is implemented by drivers that check what a request asks of
// their engine against the engine itself before dbaasd accepts it: a value
// the engine would refuse, or with which a server would not start, is
// answered at once with the engine's own words instead of failing later in
// the reconciler. Every method may start short-lived scratch processes of
// the engine; none touches a running cluster.
type Validator interface {
	// ValidateConfig checks the configuration c would run with (c.Config
	// is the whole configuration after the request, for c.Flavor; c has
	// no nodes, directories or passwords). changed names the parameters
	// the request sets to a value. A refused value is an *InvalidError
	// naming the parameter.
	ValidateConfig(ctx context.Context, c *Cluster, changed []string) error
	// ValidateName checks the name of a new object of a kind (ObjectUser,
	// ObjectDatabase, ...). A refused name is an *InvalidError.
	ValidateName(kind, name string) error
	// ValidateFirewall checks firewall entries (canonical IP addresses or
	// CIDR prefixes). A refused entry is an *InvalidError.
	ValidateFirewall(entries []string) error
}

// DiskValidator is implemented by drivers whose disks may be unable to
// grow in place (volumes of a Kubernetes storage class without volume
// expansion). ValidateDiskGrowth checks, before dbaasd accepts a bigger
// disk for a datastore, that its nodes' disks can grow; a refusal is an
// *InvalidError.
type DiskValidator interface {
	ValidateDiskGrowth(ctx context.Context, datastoreID string) error
}

// Kinds of named objects, for Validator.ValidateName.
const (
	ObjectUser     = "user"
	ObjectDatabase = "database"
	ObjectTopic    = "topic"
)

// InvalidError is a value the engine refuses. Field is the parameter or
// field at fault as the request names it ("" when it is the request as a
// whole); Message says why, in the engine's own words where it has some.
type InvalidError struct {
	Field   string
	Message string
}

func (e *InvalidError) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Unwrap makes an InvalidError an ErrInvalid.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

// Invalid returns an *InvalidError.
func Invalid(field, message string) error { return &InvalidError{Field: field, Message: message} }

// AsInvalid returns the *InvalidError in err's chain, if any.
func AsInvalid(err error) (*InvalidError, bool) {
	var e *InvalidError
	ok := errors.As(err, &e)
	return e, ok
}
