package service

import (
	"strings"
	"testing"

	"github.com/dbaasd/dbaasd/internal/model"
)

// TestAcceptsObjects: changes of the objects inside a datastore are
// queued behind whatever the datastore is doing, except where they cannot
// be carried out; a refusal says why.
func TestAcceptsObjects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status string
		refuse string // part of the error; "" = accepted
	}{
		{model.StatusActive, ""},
		{model.StatusPendingCreate, ""},
		{model.StatusPendingUpdate, ""},
		{model.StatusResizing, ""},
		{model.StatusDegraded, ""},
		{model.StatusDiskFull, ""},
		{model.StatusPendingDelete, "is being deleted"},
		{model.StatusDeleted, "is being deleted"},
		{model.StatusDown, "is DOWN"},
		{model.StatusError, "is in ERROR"},
	}
	for _, tc := range tests {
		t.Run(tc.status, func(t *testing.T) {
			t.Parallel()
			err := acceptsObjects(&model.Datastore{Base: model.Base{ID: "ds-1"}, Status: tc.status})
			if tc.refuse == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			e, ok := AsError(err)
			if !ok || e.Field != "datastore_id" || !strings.Contains(e.Message, tc.refuse) || !strings.Contains(e.Message, "ds-1") {
				t.Fatalf("error %v, want one on datastore_id naming ds-1 and saying %q", err, tc.refuse)
			}
		})
	}
}
