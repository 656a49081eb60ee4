package cnpg

import (
	"errors"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
)

func TestValidateName(t *testing.T) {
	t.Parallel()
	d := &Driver{}
	for _, tc := range []struct {
		kind, name string
		refused    bool
	}{
		{engine.ObjectUser, "app_user", false},
		{engine.ObjectUser, "streaming_replica", true},
		{engine.ObjectUser, "Streaming_Replica", true},
		{engine.ObjectUser, "cnpg_pooler_pgbouncer", true},
		{engine.ObjectUser, "cnpg_anything", true},
		{engine.ObjectUser, "postgres", true},
		{engine.ObjectUser, "pg_monitor", true},
		{engine.ObjectUser, "cnpgx", false},
		{engine.ObjectDatabase, "cnpg_db", false},
		{engine.ObjectDatabase, "template1", true},
	} {
		err := d.ValidateName(tc.kind, tc.name)
		var inv *engine.InvalidError
		if refused := errors.As(err, &inv); refused != tc.refused || (err != nil && !refused) {
			t.Errorf("ValidateName(%s, %q) = %v; refused want %v", tc.kind, tc.name, err, tc.refused)
		}
	}
	if err := d.ValidateFirewall([]string{"fe80::1%eth0"}); err == nil {
		t.Error("a firewall entry with an IPv6 zone is taken")
	}
}
