package compat_test

import (
	"os"
	"testing"

	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

func TestMain(m *testing.M) { os.Exit(at.Main(m)) }
