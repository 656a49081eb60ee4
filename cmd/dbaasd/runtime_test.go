package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbaasd/dbaasd/internal/daemon"
)

func TestRuntimeFlags(t *testing.T) {
	t.Parallel()
	cfg, err := parseConfig(nil, env(nil))
	if err != nil || cfg.Runtime != daemon.RuntimeLocal || cfg.Kubernetes.ObjectStore != nil || cfg.BackupStore != nil {
		t.Fatalf("default: %q %+v, %v", cfg.Runtime, cfg.Kubernetes, err)
	}
	dir := t.TempDir()
	ak, sk := filepath.Join(dir, "ak"), filepath.Join(dir, "sk")
	if err := os.WriteFile(ak, []byte("AKID\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sk, []byte("the-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = parseConfig([]string{"--runtime", "kubernetes", "--k8s-admin-cidr", "10.0.0.1/32", "--k8s-request-fraction", "0.5",
		"--backup-store", "s3://bucket/some/prefix/?endpoint=http://10.0.0.2:9000&region=eu-1",
		"--backup-store-access-key-file", ak, "--backup-store-secret-key-file", sk},
		env(map[string]string{"DBAAS_K8S_KUBECONFIG": "/etc/kubeconfig"}))
	if err != nil {
		t.Fatal(err)
	}
	k := cfg.Kubernetes
	o := cfg.BackupStore
	if cfg.Runtime != daemon.RuntimeKubernetes || k.Kubeconfig != "/etc/kubeconfig" || k.RequestFraction != 0.5 ||
		len(k.AdminCIDRs) != 1 || o == nil || o.Bucket != "bucket" || o.Prefix != "some/prefix" ||
		o.Endpoint != "http://10.0.0.2:9000" || o.Region != "eu-1" || o.AccessKey != "AKID" || o.SecretKey != "the-secret" {
		t.Fatalf("parsed %+v %+v", k, o)
	}
	// The local runtime takes the same flags (and environment), one way.
	cfg, err = parseConfig(nil, env(map[string]string{"DBAAS_BACKUP_STORE": "s3://bucket?endpoint=https://s3.example",
		"DBAAS_BACKUP_STORE_ACCESS_KEY_FILE": ak, "DBAAS_BACKUP_STORE_SECRET_KEY_FILE": sk}))
	if err != nil {
		t.Fatal(err)
	}
	if o := cfg.BackupStore; cfg.Runtime != daemon.RuntimeLocal || o == nil || o.Bucket != "bucket" || o.Prefix != "" ||
		o.Endpoint != "https://s3.example" || o.AccessKey != "AKID" || o.SecretKey != "the-secret" {
		t.Fatalf("local runtime: parsed %+v", o)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--runtime", "docker"}, "--runtime"},
		{[]string{"--runtime", "kubernetes", "--k8s-admin-cidr", "everywhere"}, "--k8s-admin-cidr"},
		{[]string{"--runtime", "kubernetes", "--k8s-request-fraction", "2"}, "--k8s-request-fraction"},
		{[]string{"--runtime", "kubernetes", "--backup-store", "http://bucket"}, "--backup-store"},
		// Credentials belong in files, never in a URL that ends up in ps or logs.
		{[]string{"--runtime", "kubernetes", "--backup-store", "s3://AKID:secret@bucket"}, "credentials in files"},
		{[]string{"--runtime", "kubernetes", "--backup-store", "s3://bucket"}, "--backup-store-access-key-file"},
		{[]string{"--runtime", "kubernetes", "--backup-store", "s3://bucket", "--backup-store-access-key-file", ak,
			"--backup-store-secret-key-file", filepath.Join(dir, "missing")}, "--backup-store-secret-key-file"},
		{[]string{"--backup-store", "s3://AKID:secret@bucket?endpoint=http://s3"}, "credentials in files"},
		{[]string{"--backup-store", "s3://bucket?endpoint=http://AKID:secret@s3"}, "without credentials"},
		{[]string{"--backup-store", "s3://bucket?endpoint=ftp://s3"}, "http(s) URL"},
		{[]string{"--backup-store", "s3://bucket?endpoint=http://s3&secret=AKID:secret"}, `unknown parameter "secret"`},
		{[]string{"--backup-store", "s3:///path?endpoint=http://AKID:secret@s3"}, "want s3://BUCKET"},
	} {
		_, err := parseConfig(tc.args, env(nil))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one naming %q", tc.args, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "AKID:secret") {
			t.Errorf("%v: the error repeats the credentials: %v", tc.args, err)
		}
	}
}
