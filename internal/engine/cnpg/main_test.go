package cnpg

import (
	"os"
	"testing"

	"github.com/dbaasd/dbaasd/internal/testutil/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
