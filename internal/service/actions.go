package service

import (
	"context"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

func actionProject(a *model.Action) string { return a.ProjectID }

// ListActions lists the caller's actions.
func (s *Service) ListActions(ctx context.Context, c Caller, f store.Filter) ([]model.Action, error) {
	return list(ctx, s.store.Actions(), c, f)
}

// GetAction returns one of the caller's actions.
func (s *Service) GetAction(ctx context.Context, c Caller, id string) (*model.Action, error) {
	return owned(ctx, s.store.Actions(), c, id, "action", actionProject)
}
