package kubernetes_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
	"github.com/dbaasd/dbaasd/internal/testutil/intruder"
)

// checkBedSecrets: a local user of the machine reads none of the test
// bed's credentials (the kubeconfigs, the cluster's private keys, the
// object store's keys) nor what the bed keeps of the tenants' data (etcd,
// where Kubernetes keeps Secrets; the object store's backups; the pods'
// volumes). TestPostgreSQLOnKubernetes calls it once a datastore and its
// backups exist.
func checkBedSecrets(t *testing.T, b at.Bed) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Log("the bed's files are not tried as another user: needs root")
		return
	}
	var files []string
	for _, k := range []string{"DBAAS_K8S_KUBECONFIG", "DBAAS_K8S_ADMIN_KUBECONFIG", "DBAAS_K8S_S3_ACCESS_KEY_FILE", "DBAAS_K8S_S3_SECRET_KEY_FILE"} {
		if b[k] != "" {
			files = append(files, b[k])
		}
	}
	// On the bed of scripts/k8s, what it keeps beside its env file.
	run := filepath.Dir(os.Getenv("DBAAS_K8S_ENV"))
	for _, sub := range []struct {
		dir  string
		keep func(path string) bool
	}{
		{"pki", func(p string) bool { return strings.HasSuffix(p, ".key") }},
		{"etcd", nil},
		{"s3", nil},
		{"pv", nil},
	} {
		files = append(files, bedFiles(t, filepath.Join(run, sub.dir), sub.keep, 100)...)
	}
	if len(files) == 0 {
		t.Fatal("the bed names no credential files")
	}
	// Nor can it change what is in the volumes or the object store (a
	// volume directory any user may write to lets one rename a server's
	// data directory away).
	dirs, _ := filepath.Glob(filepath.Join(run, "pv", "*"))
	dirs = append(dirs, filepath.Join(run, "s3"))
	var attempts []intruder.Attempt
	for _, f := range files {
		attempts = append(attempts, intruder.Attempt{Kind: intruder.Read, Target: f})
	}
	for _, d := range dirs {
		attempts = append(attempts, intruder.Attempt{Kind: intruder.Write, Target: d})
	}
	intruder.Denied(t, intruder.Lookup(t, "nobody"), attempts)
	t.Logf("%d files and %d directories tried as user nobody", len(files), len(dirs))
}

// bedFiles lists up to limit regular files under dir that keep accepts
// (nil: every file); none when dir does not exist.
func bedFiles(t *testing.T, dir string, keep func(string) bool, limit int) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if len(out) >= limit {
			return filepath.SkipAll
		}
		if d.Type().IsRegular() && (keep == nil || keep(p)) {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return out
}
