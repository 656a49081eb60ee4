package daemon

import (
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/dbaasd/dbaasd/internal/secret"
)

// secretKeyMode is the mode of the secret key file: dbaasd's alone. (The
// data dir is 0711, see prepareDataDir: the engines, which run as other
// OS users, must enter it, but nobody else may list it; the store's files
// are 0600, see store.OpenSQLite.)
const secretKeyMode fs.FileMode = 0o600

// restrictKeyFile sets the mode of the secret key file at every start, so
// that a deployment from before is fixed too, logging a change. A mode
// that cannot be fixed (a key file on a read-only mount) is reported and
// the file used as it is.
func restrictKeyFile(keyFile string, log *slog.Logger) {
	old, changed, err := secret.Restrict(keyFile, secretKeyMode)
	switch {
	case err != nil:
		log.Error("secret key file mode cannot be fixed", "path", keyFile, "error", err)
	case changed:
		log.Warn("secret key file mode fixed", "path", keyFile, "old_mode", fmt.Sprintf("%#o", old),
			"mode", fmt.Sprintf("%#o", secretKeyMode))
	}
}
