package httpapi

import (
	"context"

	"github.com/dbaasd/dbaasd/internal/httpapi/gen"
)

// Actions

func (s *Server) ListActions(ctx context.Context, r gen.ListActionsRequestObject) (gen.ListActionsResponseObject, error) {
	f := actionsFilter(r.Params)
	list, err := s.svc.ListActions(ctx, callerFrom(ctx), f)
	if err != nil {
		return nil, err
	}
	return gen.ListActions200JSONResponse{Actions: mapList(list, actionOut)}, nil
}

func (s *Server) GetAction(ctx context.Context, r gen.GetActionRequestObject) (gen.GetActionResponseObject, error) {
	a, err := s.svc.GetAction(ctx, callerFrom(ctx), r.ActionId.String())
	if err != nil {
		return nil, err
	}
	return gen.GetAction200JSONResponse{Action: actionOut(a)}, nil
}

// Prometheus metrics tokens

func (s *Server) ListPrometheusMetricsTokens(ctx context.Context, r gen.ListPrometheusMetricsTokensRequestObject) (gen.ListPrometheusMetricsTokensResponseObject, error) {
	f := metricsTokensFilter(r.Params)
	list, err := s.svc.ListMetricsTokens(ctx, callerFrom(ctx), f, r.Params.Value)
	if err != nil {
		return nil, err
	}
	return gen.ListPrometheusMetricsTokens200JSONResponse{PrometheusMetricsTokens: mapList(list, tokenOut)}, nil
}

func (s *Server) CreatePrometheusMetricsToken(ctx context.Context, r gen.CreatePrometheusMetricsTokenRequestObject) (gen.CreatePrometheusMetricsTokenResponseObject, error) {
	t, err := s.svc.CreateMetricsToken(ctx, callerFrom(ctx), r.Body.PrometheusMetricsToken.Name)
	if err != nil {
		return nil, err
	}
	return gen.CreatePrometheusMetricsToken201JSONResponse{PrometheusMetricsToken: tokenOut(t)}, nil
}

func (s *Server) GetPrometheusMetricsToken(ctx context.Context, r gen.GetPrometheusMetricsTokenRequestObject) (gen.GetPrometheusMetricsTokenResponseObject, error) {
	t, err := s.svc.GetMetricsToken(ctx, callerFrom(ctx), r.PrometheusMetricsTokenId.String())
	if err != nil {
		return nil, err
	}
	return getTokenResponse{bothShapes(tokenOut(t))}, nil
}

func (s *Server) UpdatePrometheusMetricsToken(ctx context.Context, r gen.UpdatePrometheusMetricsTokenRequestObject) (gen.UpdatePrometheusMetricsTokenResponseObject, error) {
	t, err := s.svc.RenameMetricsToken(ctx, callerFrom(ctx), r.PrometheusMetricsTokenId.String(), r.Body.PrometheusMetricsToken.Name)
	if err != nil {
		return nil, err
	}
	return updateTokenResponse{bothShapes(tokenOut(t))}, nil
}

func (s *Server) DeletePrometheusMetricsToken(ctx context.Context, r gen.DeletePrometheusMetricsTokenRequestObject) (gen.DeletePrometheusMetricsTokenResponseObject, error) {
	if err := s.svc.RevokeMetricsToken(ctx, callerFrom(ctx), r.PrometheusMetricsTokenId.String()); err != nil {
		return nil, err
	}
	return gen.DeletePrometheusMetricsToken204Response{}, nil
}
