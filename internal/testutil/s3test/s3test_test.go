package s3test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestVersionMatchesScripts: the tests run the versitygw that
// scripts/install-deps.sh builds (scripts/k8s/env.sh names its version).
func TestVersionMatchesScripts(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "scripts", "k8s", "env.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`VERSITYGW_VERSION=\$\{VERSITYGW_VERSION:-([^}]+)\}`).FindSubmatch(b)
	if m == nil || string(m[1]) != Version {
		t.Fatalf("scripts/k8s/env.sh builds versitygw %q, the tests look for %s", m, Version)
	}
}
