package cnpg

import (
	"context"
	"fmt"
	"strings"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/postgres"
)

var _ engine.Validator = (*Driver)(nil)

// ValidateName implements engine.Validator: PostgreSQL's reserved names,
// and the role names the operator keeps for itself (streaming_replica and
// names starting with cnpg_), which it refuses as managed roles: a user
// with such a name is refused before dbaasd accepts it, instead of
// failing once accepted.
func (d *Driver) ValidateName(kind, name string) error {
	if err := postgres.CheckName(kind, name); err != nil {
		return err
	}
	low := strings.ToLower(name)
	if kind == engine.ObjectUser && (low == "streaming_replica" || strings.HasPrefix(low, "cnpg_")) {
		return engine.Invalid("", fmt.Sprintf("role name %q is reserved by CloudNativePG", name))
	}
	return nil
}

// ValidateFirewall implements engine.Validator: the entries become
// pg_hba rules, as with the local runtime.
func (d *Driver) ValidateFirewall(entries []string) error { return postgres.CheckFirewall(entries) }

// ValidateConfig implements engine.Validator. The values are checked
// against the catalog (types and ranges; the parameters the operator
// manages are not in it, so setting one is refused there); this runtime
// has no scratch server to start with them.
func (d *Driver) ValidateConfig(context.Context, *engine.Cluster, []string) error { return nil }
