package reconcile

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dbaasd/dbaasd/internal/model"
)

// Actions recorded where nothing wakes this reconciler (by another replica
// on the store) are found by the poll, and each one that ends wakes a
// worker for the next: three queued actions all run.
func TestPollFindsActionsRecordedElsewhere(t *testing.T) {
	t.Parallel()
	f := newObjectFixture(t)
	f.r.cfg.Poll = 20 * time.Millisecond
	f.r.cfg.Workers = 3
	// Not a datastore Run asks to repair at start: only the actions below
	// are queued.
	f.ds.Status = model.StatusError
	mustDo(t, f.s.Datastores().Update(context.Background(), f.ds))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.r.Run(ctx)
	}()
	time.Sleep(100 * time.Millisecond) // the workers' first looks found nothing

	var ids []string
	for i, name := range []string{"alice", "bob", "carol"} {
		u := &model.User{Object: f.head(model.StatusPendingCreate), Name: name, Password: "secret-1"}
		mustDo(t, f.s.Users().Insert(ctx, u))
		at := u.CreatedAt.Add(time.Duration(i) * time.Millisecond)
		a := &model.Action{Base: model.Base{ID: uuid.NewString(), ProjectID: u.ProjectID, CreatedAt: at, UpdatedAt: at},
			DatastoreID: f.ds.ID, Name: model.ActUserCreate, ResourceType: "user", ResourceID: u.ID,
			Status: model.ActionPending}
		mustDo(t, f.s.Actions().Insert(ctx, a))
		ids = append(ids, a.ID)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, id := range ids {
		for {
			a, err := f.s.Actions().Get(ctx, id)
			mustDo(t, err)
			if a.Status == model.ActionSuccess {
				break
			}
			if a.Status == model.ActionError || time.Now().After(deadline) {
				t.Fatalf("action %s: %s %q", id, a.Status, a.Error)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	f.eng.mu.Lock()
	n := len(f.eng.users)
	f.eng.mu.Unlock()
	if n != 3 {
		t.Fatalf("%d users in the engine, want 3", n)
	}
	cancel()
	<-done
}
