package daemon

import (
	"net/http"

	"github.com/dbaasd/dbaasd/internal/console"
)

// mountConsole adds the web console (/console) to the handlers served
// beside the API.
func mountConsole(mounts map[string]http.Handler) error {
	h, err := console.New()
	if err != nil {
		return err
	}
	mounts[console.Prefix] = h
	return nil
}
