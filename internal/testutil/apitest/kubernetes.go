package apitest

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/daemon"
	"github.com/dbaasd/dbaasd/internal/engine/cnpg"
)

// Bed describes the Kubernetes cluster the tests of the Kubernetes runtime
// run on: the single-node test bed of scripts/k8s (up.sh writes
// /var/lib/dbaasd-k8s/env), or any cluster described by an env file of the
// same form (README, "Running the Kubernetes tests on your own cluster").
type Bed map[string]string

// KubernetesBed reads the env file named by DBAAS_K8S_ENV. Without the
// variable the test skips, so that make test never needs a cluster, even
// on a machine where a test bed happens to run (make test-k8s starts one
// and sets it). A named file that cannot be read fails the test.
func KubernetesBed(t testing.TB) Bed {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a Kubernetes cluster")
	}
	path := os.Getenv("DBAAS_K8S_ENV")
	if path == "" {
		t.Skip("no Kubernetes test bed: make test-k8s starts one, or set DBAAS_K8S_ENV to an env file (docs/kubernetes.md)")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("DBAAS_K8S_ENV: %v", err)
	}
	defer func() { _ = f.Close() }()
	b := Bed{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok && !strings.HasPrefix(k, "#") {
			b[k] = v
		}
	}
	return b
}

// File returns the content of the file the bed names under key ("" when
// it names none).
func (b Bed) File(t testing.TB, key string) string {
	t.Helper()
	if b[key] == "" {
		return ""
	}
	v, err := os.ReadFile(b[key])
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(v))
}

// AdminKubeconfig is the kubeconfig the tests look at the cluster with
// (DBAAS_K8S_ADMIN_KUBECONFIG; DBAAS_K8S_KUBECONFIG, dbaasd's own, when
// the bed names none).
func (b Bed) AdminKubeconfig() string {
	if v := b["DBAAS_K8S_ADMIN_KUBECONFIG"]; v != "" {
		return v
	}
	return b["DBAAS_K8S_KUBECONFIG"]
}

// ClientCIDR is where connections of this host come from, as the
// cluster's database servers see them ("" when the bed does not say).
func (b Bed) ClientCIDR() string { return b["DBAAS_K8S_CLIENT_CIDR"] }

// Options returns the options of a dbaasd with a reconciler on the
// Kubernetes runtime of the bed.
func (b Bed) Options(t testing.TB) Options {
	t.Helper()
	k := daemon.KubernetesConfig{
		Kubeconfig: b["DBAAS_K8S_KUBECONFIG"], PostgresImage: b["DBAAS_K8S_POSTGRES_IMAGE"],
		MySQLImage: b["DBAAS_K8S_MYSQL_IMAGE"], RedisImage: b["DBAAS_K8S_REDIS_IMAGE"],
		ImagePullPolicy: b["DBAAS_K8S_IMAGE_PULL_POLICY"], StorageClass: b["DBAAS_K8S_STORAGE_CLASS"],
		RequestFraction: 0.1,
	}
	if v := b.ClientCIDR(); v != "" {
		k.AdminCIDRs = []string{v}
	}
	if v := b["DBAAS_K8S_POD_CIDR"]; v != "" {
		k.TrustedCIDRs = []string{v}
	}
	if b["DBAAS_K8S_S3_ENDPOINT"] != "" {
		k.ObjectStore = &cnpg.ObjectStore{Endpoint: b["DBAAS_K8S_S3_ENDPOINT"], Bucket: b["DBAAS_K8S_S3_BUCKET"],
			Region: b["DBAAS_K8S_S3_REGION"], Prefix: fmt.Sprintf("run-%d", time.Now().UnixNano()),
			AccessKey: b.File(t, "DBAAS_K8S_S3_ACCESS_KEY_FILE"), SecretKey: b.File(t, "DBAAS_K8S_S3_SECRET_KEY_FILE")}
	}
	return Options{Reconcile: true, Runtime: daemon.RuntimeKubernetes, Kubernetes: k,
		EngineHost: b["DBAAS_K8S_ENGINE_HOST"], ProbeInterval: time.Second, MetricsInterval: 2 * time.Second}
}
