package service

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/secret"
	"github.com/dbaasd/dbaasd/internal/store"
)

func metricsTokenProject(t *model.MetricsToken) string { return t.ProjectID }

// CreateMetricsToken issues a Prometheus metrics token. Its value is
// stored sealed (like engine passwords) and returned in every answer, as
// the API text shows; the exporter finds a token by the keyed hash of its
// value.
func (s *Service) CreateMetricsToken(ctx context.Context, c Caller, name string) (*model.MetricsToken, error) {
	if err := checkName("prometheus-metrics-token.name", name, 255); err != nil {
		return nil, err
	}
	value := secret.Token()
	t := &model.MetricsToken{Base: s.base(c), Name: name, ValueHash: s.cfg.Hasher.Hash(value), Value: value}
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		if err := s.checkQuota(ctx, tx, c.ProjectID, store.Usage{MetricsTokens: 1}); err != nil {
			return err
		}
		return tx.MetricsTokens().Insert(ctx, t)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// GetMetricsToken returns one of the caller's tokens, with its value.
func (s *Service) GetMetricsToken(ctx context.Context, c Caller, id string) (*model.MetricsToken, error) {
	return owned(ctx, s.store.MetricsTokens(), c, id, "prometheus metrics token", metricsTokenProject)
}

// ListMetricsTokens lists the caller's tokens matching f; a value, when
// given, matches the token with that value.
func (s *Service) ListMetricsTokens(ctx context.Context, c Caller, f store.Filter, value *string) ([]model.MetricsToken, error) {
	if value != nil {
		if _, err := s.upgradeMetricsToken(ctx, *value); err != nil {
			return nil, err
		}
		f.ValueHash = s.cfg.Hasher.Hash(*value)
	}
	return list(ctx, s.store.MetricsTokens(), c, f)
}

// RenameMetricsToken changes a token's name.
func (s *Service) RenameMetricsToken(ctx context.Context, c Caller, id, name string) (*model.MetricsToken, error) {
	if err := checkName("prometheus-metrics-token.name", name, 255); err != nil {
		return nil, err
	}
	var out *model.MetricsToken
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		t, err := ownedForUpdate(ctx, tx.MetricsTokens(), c, id, "prometheus metrics token", metricsTokenProject)
		if err != nil {
			return err
		}
		t.Name, t.UpdatedAt = name, s.stamp()
		out = t
		return tx.MetricsTokens().Update(ctx, t)
	})
	return out, err
}

// RevokeMetricsToken deletes a token; it stops working at once.
func (s *Service) RevokeMetricsToken(ctx context.Context, c Caller, id string) error {
	return s.store.InTx(ctx, func(tx store.Tx) error {
		if _, err := ownedForUpdate(ctx, tx.MetricsTokens(), c, id, "prometheus metrics token", metricsTokenProject); err != nil {
			return err
		}
		return tx.MetricsTokens().Delete(ctx, id)
	})
}

// MetricsTokenProject returns the project of a metrics token value, for the
// Prometheus exporter; ok is false for unknown (or revoked) values. The
// token is found by the keyed hash of the value, and the value it holds is
// then compared with the one presented in constant time.
func (s *Service) MetricsTokenProject(ctx context.Context, value string) (string, bool) {
	if value == "" {
		return "", false
	}
	list, err := s.store.MetricsTokens().List(ctx, store.Filter{ValueHash: s.cfg.Hasher.Hash(value)})
	if err != nil {
		s.log.Error("look up metrics token", "error", err)
		return "", false
	}
	if len(list) == 0 {
		t, err := s.upgradeMetricsToken(ctx, value)
		if err != nil {
			s.log.Error("upgrade metrics token", "error", err)
			return "", false
		}
		if t == nil {
			return "", false
		}
		list = []model.MetricsToken{*t}
	}
	if subtle.ConstantTimeCompare([]byte(list[0].Value), []byte(value)) != 1 {
		return "", false
	}
	return list[0].ProjectID, true
}

// upgradeMetricsToken finds a token issued before values were kept (stored
// under the legacy hash of its value) and, now that its value is known,
// stores it sealed under the keyed hash. It returns the upgraded token, or
// nil when no legacy token has this value.
func (s *Service) upgradeMetricsToken(ctx context.Context, value string) (*model.MetricsToken, error) {
	legacy := secret.LegacyHash(value)
	found, err := s.store.MetricsTokens().List(ctx, store.Filter{ValueHash: legacy})
	if err != nil || len(found) == 0 {
		return nil, err
	}
	var out *model.MetricsToken
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		t, err := tx.MetricsTokens().GetForUpdate(ctx, found[0].ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil // revoked meanwhile
		}
		if err != nil {
			return err
		}
		if t.ValueHash == legacy {
			t.ValueHash, t.Value = s.cfg.Hasher.Hash(value), value
			if err := tx.MetricsTokens().Update(ctx, t); err != nil {
				return err
			}
		}
		out = t
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("upgrade metrics token: %w", err)
	}
	return out, nil
}
