package kubernetes_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/dbaasd/dbaasd/internal/engine/kube"
	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

// checkRetention: after a backup, the instance that took it applied the
// datastore's retention to the object store (barman's recovery window of
// backup_retention_days, 7 by default) without failing; a new retention
// through the API reaches the operator's Cluster.
func checkRetention(t *testing.T, e *at.Env, k kubernetes.Interface, ds string) {
	t.Helper()
	ctx := context.Background()
	ns := kube.Namespace(ds)
	if got := retentionPolicy(t, k, ds); got != "7d" {
		t.Errorf("the Cluster's retention policy is %q, want 7d (backup_retention_days)", got)
	}
	var applied bool
	for deadline := time.Now().Add(time.Minute); !applied && time.Now().Before(deadline); time.Sleep(2 * time.Second) {
		pods, err := k.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "cnpg.io/podRole=instance"})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			raw, err := k.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{Container: "postgres"}).DoRaw(ctx)
			if err != nil {
				continue
			}
			for _, line := range strings.Split(string(raw), "\n") {
				if strings.Contains(line, "Applying backup retention policy") && strings.Contains(line, `"7d"`) {
					applied = true
				}
			}
		}
	}
	if !applied {
		t.Error("no instance applied the retention policy after the backup")
	}
	events, err := k.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range events.Items {
		if ev.Reason == "RetentionPolicyFailed" {
			t.Errorf("retention failed in the object store: %s", ev.Message)
		}
	}

	at.MustPut(t, e, "/v1/datastores/"+ds+"/backups", map[string]any{"backups": map[string]any{"backup_retention_days": 3}})
	r := e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	if days := r.Get("datastore.backup_retention_days"); days != float64(3) {
		t.Errorf("backup_retention_days %v after PUT", days)
	}
	if got := retentionPolicy(t, k, ds); got != "3d" {
		t.Errorf("after backup_retention_days 3, the Cluster's retention policy is %q", got)
	}
	if r := e.Do(at.TokenA, http.MethodPut, "/v1/datastores/"+ds+"/backups", map[string]any{"backups": map[string]any{"backup_retention_days": 0}}); r.Status != http.StatusBadRequest {
		t.Errorf("backup_retention_days 0: %d %s", r.Status, r.Body)
	}
}

// retentionPolicy reads the retention policy of the datastore's Cluster.
func retentionPolicy(t *testing.T, k kubernetes.Interface, ds string) string {
	t.Helper()
	raw, err := k.CoreV1().RESTClient().Get().AbsPath("/apis/postgresql.cnpg.io/v1/namespaces/" + kube.Namespace(ds) + "/clusters").DoRaw(context.Background())
	if err != nil {
		t.Fatalf("list clusters: %v", err)
	}
	var list struct {
		Items []struct {
			Spec struct {
				Backup *struct {
					RetentionPolicy string `json:"retentionPolicy"`
				} `json:"backup"`
			} `json:"spec"`
		} `json:"items"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Spec.Backup == nil {
		t.Fatalf("%d clusters in %s, or none with backups: %s", len(list.Items), kube.Namespace(ds), raw)
	}
	return list.Items[0].Spec.Backup.RetentionPolicy
}
