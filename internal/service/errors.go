package service

import (
	"errors"
	"fmt"

	"github.com/dbaasd/dbaasd/internal/store"
)

// Kinds of errors a caller can act on.
const (
	KindInvalid   = "invalid"   // the request is wrong: 400
	KindNotFound  = "not_found" // no such record in the caller's project: 404
	KindForbidden = "forbidden" // the caller may not do this: 403
	KindConflict  = "conflict"  // the current state forbids it: 400
)

// Error is an error the caller caused and can fix. Field names the request
// field at fault ("" when none).
type Error struct {
	Kind    string
	Field   string
	Message string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Invalid returns a KindInvalid error about field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Conflict returns a KindConflict error about field.
func Conflict(field, format string, args ...any) *Error {
	return &Error{Kind: KindConflict, Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFound returns a KindNotFound error.
func NotFound(format string, args ...any) *Error {
	return &Error{Kind: KindNotFound, Message: fmt.Sprintf(format, args...)}
}

// Forbidden returns a KindForbidden error about field.
func Forbidden(field, format string, args ...any) *Error {
	return &Error{Kind: KindForbidden, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrStoreFull marks (wrapped, with the database's own error) a change
// that could not be recorded because the store's database or disk is
// full; nothing was changed.
var ErrStoreFull = store.ErrFull

// AsError returns the *Error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
