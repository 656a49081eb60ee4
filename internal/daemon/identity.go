package daemon

import (
	"context"
	"net/http"

	"github.com/dbaasd/dbaasd/internal/auth/identity"
)

// mounts returns the handlers served beside the API: the identity service
// the official clients log in to, and the web console.
func (d *Daemon) mounts(ctx context.Context) (map[string]http.Handler, error) {
	id, err := identity.New(ctx, identity.Config{
		Store: d.Store, Auth: d.Auth, Users: d.cfg.Users, Region: d.cfg.Region,
		PublicURL: d.cfg.PublicURL, Listen: d.cfg.Listen, TokenTTL: d.cfg.TokenTTL,
		Logger: d.log.With("component", "identity"),
	})
	if err != nil {
		return nil, err
	}
	mounts := map[string]http.Handler{identity.Prefix: id}
	if err := mountConsole(mounts); err != nil {
		return nil, err
	}
	return mounts, nil
}
