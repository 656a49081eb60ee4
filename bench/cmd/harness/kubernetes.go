package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/dbaasd/dbaasd/bench/internal/dbaasd"
	"github.com/dbaasd/dbaasd/bench/internal/report"
	"github.com/dbaasd/dbaasd/internal/engine/kube"
)

// runKubernetes is the kubernetes section: a 3-node datastore of each
// engine in k8sEngines on the Kubernetes runtime (the cluster named by
// -k8s-env, e.g. the test bed of scripts/k8s) beside one on the local
// runtime, in the same run: create → ACTIVE, and failover (the primary's pod deleted,
// resp. its server killed → first acknowledged write on the new primary).
func runKubernetes(ctx context.Context, e *env, res *results) error {
	const sec = "kubernetes"
	if e.cfg.k8sEnv == "" {
		res.note(sec, "not measured: no Kubernetes cluster given (-k8s-env FILE, written by scripts/k8s/up.sh)")
		return nil
	}
	bed, err := readEnvFile(e.cfg.k8sEnv)
	if err != nil {
		return err
	}
	k8s, err := startK8sServer(ctx, e, bed)
	if err != nil {
		return err
	}
	defer k8s.stop(e)
	local, err := startClusterServer(ctx, e, "kl")
	if err != nil {
		return err
	}
	defer local.stop(e)
	admin := bed["DBAAS_K8S_ADMIN_KUBECONFIG"] // to look at the cluster; dbaasd runs with its own
	if admin == "" {
		admin = bed["DBAAS_K8S_KUBECONFIG"]
	}
	cfg, err := kube.RESTConfig(admin)
	if err != nil {
		return err
	}
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	runs := min(e.cfg.runs, 3) // a Kubernetes create takes a minute or more

	d := &detail{title: "PostgreSQL (CloudNativePG), MySQL (mariadb-operator, semi-sync) and Redis (Sentinel, dbaasd's StatefulSet) on Kubernetes beside the local runtime, 3 nodes",
		header: []string{"figure", "local runtime", "Kubernetes runtime"}}
	for _, k8sEng := range k8sEngines {
		eng := k8sEng.name
		var createLocal, createK8s, foLocal, foK8s []float64
		for run := 1; run <= runs; run++ {
			for _, rt := range []struct {
				cs   *clusterServer
				out  *[]float64
				name string
			}{{local, &createLocal, "local"}, {k8s, &createK8s, "kubernetes"}} {
				took, err := createOnce(ctx, rt.cs.cl, rt.cs.types[eng], eng, fmt.Sprintf("bench-k8s-create-%s-%d", rt.name, run))
				if err != nil {
					return fmt.Errorf("%s %s create, run %d: %w", rt.name, eng, run, err)
				}
				e.logf("run %d/%d %s create → ACTIVE on %s: %.1f s", run, runs, eng, rt.name, took.Seconds())
				*rt.out = append(*rt.out, took.Seconds())
			}
			r, err := failoverOnce(ctx, local.cl, local.types[eng], eng, run, killServer(local.dataDir, eng))
			if err != nil {
				return fmt.Errorf("local %s failover, run %d: %w", eng, run, err)
			}
			foLocal = append(foLocal, r.took.Seconds())
			kill := deletePrimaryPod(kc, k8sEng.primary)
			if k8sEng.primary == "" {
				kill = deleteMasterPod(kc, k8s.cl)
			}
			r, err = failoverOnce(ctx, k8s.cl, k8s.types[eng], eng, run, kill)
			if err != nil {
				return fmt.Errorf("kubernetes %s failover, run %d: %w", eng, run, err)
			}
			e.logf("run %d/%d %s failover: local %.1f s, kubernetes %.1f s (%d acknowledged, %d lost)",
				run, runs, eng, foLocal[len(foLocal)-1], r.took.Seconds(), r.acked, r.lost)
			foK8s = append(foK8s, r.took.Seconds())
		}
		res.add(&figure{section: sec, name: eng + ", 3 nodes on Kubernetes: create → ACTIVE", unit: "s", values: createK8s,
			baseName: "the same on the local runtime", base: createLocal})
		res.add(&figure{section: sec, name: eng + ", 3 nodes on Kubernetes: failover (primary's pod deleted → new primary accepting writes)",
			unit: "s", values: foK8s, baseName: "the local runtime (primary killed)", base: foLocal})
		d.rows = append(d.rows,
			[]string{eng + " create → ACTIVE (s)", report.Summary(summarize(createLocal), ""), report.Summary(summarize(createK8s), "")},
			[]string{eng + " failover (s)", report.Summary(summarize(foLocal), ""), report.Summary(summarize(foK8s), "")})
	}
	d.notes = append(d.notes,
		"Kubernetes: the single-node test bed of scripts/k8s (Kubernetes v1.34.4, CloudNativePG v1.27.1, mariadb-operator v25.10.2, containerd, hostPath volumes) on the same machine as the local runtime; pods request a tenth of the flavor.",
		"PostgreSQL's create includes the operator's initdb job, three pods started one after the other (each clones the primary with pg_basebackup) and dbaasd's node Services and pooler; MySQL's, the operator's three pods started together and its replication set up, and dbaasd's node Services; Redis's, dbaasd's StatefulSet's three pods started together (server, Sentinel and firewall forwarder each), the replicas synced and the node Services.",
		"Failover on Kubernetes is the operator's (Sentinel's for Redis): the primary's pod is deleted with no grace period, the operator notices and promotes a replica; dbaasd moves connection.master once it observes the new primary.")
	res.addDetail(sec, d)
	return nil
}

// k8sEngines are the engines the Kubernetes section measures, with the
// label their operator gives the primary's pod ("": none, the pod is found
// behind the master's address).
var k8sEngines = []struct{ name, primary string }{
	{"postgresql", "cnpg.io/instanceRole=primary"},
	{"mysql_native", "k8s.mariadb.com/role=primary"},
	{"redis", ""},
}

// createOnce times one 3-node create to ACTIVE; the datastore is deleted
// afterwards.
func createOnce(ctx context.Context, cl *dbaasd.Client, typeID, eng, name string) (time.Duration, error) {
	t := time.Now()
	id, err := cl.CreateDatastore(ctx, typeID, eng, name, 3)
	if err != nil {
		return 0, err
	}
	defer func() { _ = cl.DeleteDatastore(context.WithoutCancel(ctx), id, 10*time.Minute) }()
	if err := cl.WaitStatus(ctx, id, "ACTIVE", 100*time.Millisecond, 20*time.Minute); err != nil {
		return 0, err
	}
	return time.Since(t), nil
}

// deletePrimaryPod deletes the pod the operator labels primary (selector).
func deletePrimaryPod(kc kubernetes.Interface, selector string) func(datastoreID, nodeID string) error {
	return func(datastoreID, _ string) error {
		ctx := context.Background()
		ns := kube.Namespace(datastoreID)
		pods, err := kc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return err
		}
		if len(pods.Items) != 1 {
			return fmt.Errorf("%d pods labelled primary", len(pods.Items))
		}
		now := int64(0)
		return kc.CoreV1().Pods(ns).Delete(ctx, pods.Items[0].Name, metav1.DeleteOptions{GracePeriodSeconds: &now})
	}
}

// deleteMasterPod deletes the pod behind the master's address: the pod
// the node Service on that address selects.
func deleteMasterPod(kc kubernetes.Interface, cl *dbaasd.Client) func(datastoreID, nodeID string) error {
	return func(datastoreID, _ string) error {
		ctx := context.Background()
		addr, _, err := masterOf(ctx, cl, datastoreID)
		if err != nil {
			return err
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return err
		}
		ns := kube.Namespace(datastoreID)
		svcs, err := kc.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, svc := range svcs.Items {
			pod := svc.Spec.Selector["statefulset.kubernetes.io/pod-name"]
			if pod == "" || !slices.Contains(svc.Spec.ExternalIPs, host) || len(svc.Spec.Ports) == 0 || strconv.Itoa(int(svc.Spec.Ports[0].Port)) != port {
				continue
			}
			now := int64(0)
			return kc.CoreV1().Pods(ns).Delete(ctx, pod, metav1.DeleteOptions{GracePeriodSeconds: &now})
		}
		return fmt.Errorf("no pod behind the master's address %s", addr)
	}
}

// startK8sServer runs a dbaasd on the Kubernetes runtime of the cluster
// the env file describes.
func startK8sServer(ctx context.Context, e *env, bed map[string]string) (*clusterServer, error) {
	token, tokenFlag := bootToken()
	dataDir, err := e.dir("k8s")
	if err != nil {
		return nil, err
	}
	args := []string{"--runtime", "kubernetes", "--k8s-request-fraction", "0.1"}
	for flagName, key := range map[string]string{
		"--k8s-kubeconfig": "DBAAS_K8S_KUBECONFIG", "--engine-host": "DBAAS_K8S_ENGINE_HOST",
		"--k8s-postgres-image": "DBAAS_K8S_POSTGRES_IMAGE", "--k8s-mysql-image": "DBAAS_K8S_MYSQL_IMAGE", "--k8s-redis-image": "DBAAS_K8S_REDIS_IMAGE", "--k8s-image-pull-policy": "DBAAS_K8S_IMAGE_PULL_POLICY",
		"--k8s-storage-class": "DBAAS_K8S_STORAGE_CLASS", "--k8s-admin-cidr": "DBAAS_K8S_CLIENT_CIDR",
		"--k8s-trusted-cidr": "DBAAS_K8S_POD_CIDR",
	} {
		if v := bed[key]; v != "" {
			args = append(args, flagName, v)
		}
	}
	srv, err := e.startDbaasd(ctx, "k8s", dbaasd.Options{DataDir: dataDir, Tokens: []string{tokenFlag}, Quotas: provisionQuotas, Args: args})
	if err != nil {
		return nil, err
	}
	cs := &clusterServer{srv: srv, cl: dbaasd.NewClient(srv.URL, token), dataDir: dataDir}
	if cs.types, err = cs.cl.TypeIDs(ctx); err != nil {
		cs.stop(e)
		return nil, err
	}
	return cs, nil
}

// readEnvFile reads KEY=VALUE lines.
func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("-k8s-env: %w", err)
	}
	defer func() { _ = f.Close() }()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok && !strings.HasPrefix(k, "#") {
			out[k] = v
		}
	}
	return out, sc.Err()
}
