package daemon

import (
	"net/http"

	"github.com/dbaasd/dbaasd/internal/console"
)

// mountConsole adds the web console (/console) to the handlers served
// beside the API; it is prepared on its first request.
func mountConsole(mounts map[string]http.Handler) error {
	mounts[console.Prefix] = console.Lazy()
	return nil
}
