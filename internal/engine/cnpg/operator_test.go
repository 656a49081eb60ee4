package cnpg

import (
	"encoding/base64"
	"strconv"
	"strings"
	"sync"

	"github.com/dbaasd/dbaasd/internal/engine/kube"
)

// operatorCA is the CA the stand-in operator gives every cluster
// (secret pg-ca), base64 as in a Secret.
var operatorCA = sync.OnceValues(func() (crt, key string) {
	c, k, err := newTestCA()
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(c), base64.StdEncoding.EncodeToString(k)
})

// catalogLog is what the catalog pod prints.
const catalogLog = `{"version": "15.8 (Debian 15.8-1.pgdg110+1)",
 "settings": [
  {"name": "archive_command", "vartype": "string", "unit": "", "min": null, "max": null, "enumvals": [], "boot": "", "context": "sighup", "category": "Write-Ahead Log / Archiving"},
  {"name": "work_mem", "vartype": "integer", "unit": "kB", "min": "64", "max": "2147483647", "enumvals": [], "boot": "4096", "context": "user", "category": "Resource Usage / Memory"}],
 "extensions": [{"name": "pg_trgm", "requires": []}, {"name": "earthdistance", "requires": ["cube"]}]}`

// operator plays CloudNativePG and the kubelet in a fakeAPI: it applies
// some of the CRDs' defaults (those of config/crd/bases of CNPG v1.27.1
// that the driver's objects reach), reports every cluster healthy with
// its instances' pods Ready, a database applied, a backup completed, the
// pooler's deployment rolled out, the catalog pod done.
func operator(f *fakeAPI, verb, key string) {
	p, _ := parse(key)
	if p.ns == "" {
		return
	}
	ns := p.ns
	clusterKey := "/apis/postgresql.cnpg.io/v1/namespaces/" + ns + "/clusters/pg"
	switch p.res {
	case "poolers":
		depKey := "/apis/apps/v1/namespaces/" + ns + "/deployments/" + p.name
		if verb == "delete" {
			delete(f.objs, depKey)
			return
		}
		pl := f.objs[key]
		spec := path(pl, "spec")
		pgb := path(spec, "pgbouncer")
		setDefault(pgb, "poolMode", "session")
		setDefault(pgb, "paused", false)
		f.objs[key] = roundTrip(pl)
		f.put(depKey, map[string]any{
			"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{
				"annotations": path(spec, "template", "metadata")["annotations"]}}},
			"status": map[string]any{"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1},
		})
		return
	case "databases":
		if verb == "delete" {
			return
		}
		db := f.objs[key]
		md := path(db, "metadata")
		if verb == "create" {
			md["finalizers"] = []any{"cnpg.io/deleteDatabase"}
		}
		spec := path(db, "spec")
		setDefault(spec, "databaseReclaimPolicy", "retain")
		var exts []any
		for _, e := range asList(spec["extensions"]) {
			exts = append(exts, map[string]any{"name": e.(map[string]any)["name"], "applied": true})
		}
		st := map[string]any{"observedGeneration": md["generation"], "applied": true}
		if exts != nil {
			st["extensions"] = exts
		}
		db["status"] = st
		f.objs[key] = roundTrip(db)
		return
	case "backups":
		if verb != "create" {
			return
		}
		b := f.objs[key]
		b["status"] = map[string]any{"phase": "completed", "backupId": "20260101T000001", "serverName": strings.TrimPrefix(ns, kube.Namespace("")),
			"destinationPath": "s3://bucket/prefix/", "beginWal": "000000010000000000000004", "endWal": "000000010000000000000005",
			"beginLSN": "0/4000028", "endLSN": "0/5000100", "startedAt": "2026-01-01T00:00:01Z", "stoppedAt": "2026-01-01T00:00:05Z",
			"method": "barmanObjectStore"}
		f.objs[key] = roundTrip(b)
		return
	case "pods":
		pod := f.objs[key]
		if verb == "create" && path(pod, "metadata", "labels")["app.kubernetes.io/component"] == "catalog" {
			pod["status"] = map[string]any{"phase": "Succeeded"}
			f.objs[key] = roundTrip(pod)
			f.logs[key] = catalogLog
		}
		return
	}
	// Anything else in the namespace: the operator reconciles the cluster.
	cl, ok := f.objs[clusterKey]
	podsKey := "/api/v1/namespaces/" + ns + "/pods/"
	if !ok {
		for k := range f.objs {
			if strings.HasPrefix(k, podsKey+"pg-") {
				delete(f.objs, k)
			}
		}
		return
	}
	spec := path(cl, "spec")
	for k, v := range map[string]any{"instances": 1, "logLevel": "info", "enablePDB": true, "failoverDelay": 0,
		"maxSyncReplicas": 0, "minSyncReplicas": 0, "postgresGID": 26, "postgresUID": 26, "primaryUpdateMethod": "restart",
		"primaryUpdateStrategy": "unsupervised", "enableSuperuserAccess": false, "smartShutdownTimeout": 180,
		"startDelay": 3600, "stopDelay": 1800, "switchoverDelay": 3600} {
		setDefault(spec, k, v)
	}
	if b, ok := spec["backup"].(map[string]any); ok {
		setDefault(b, "target", "prefer-standby")
	}
	var reconciled []any
	passwords := map[string]any{}
	if m, ok := spec["managed"].(map[string]any); ok {
		for _, r := range asList(m["roles"]) {
			role := r.(map[string]any)
			setDefault(role, "connectionLimit", -1)
			setDefault(role, "ensure", "present")
			setDefault(role, "inherit", true)
			name := role["name"].(string)
			if role["ensure"] == "present" {
				reconciled = append(reconciled, name)
			}
			if ref, ok := role["passwordSecret"].(map[string]any); ok {
				if sec, ok := f.objs["/api/v1/namespaces/"+ns+"/secrets/"+ref["name"].(string)]; ok {
					passwords[name] = map[string]any{"transactionID": 700, "resourceVersion": path(sec, "metadata")["resourceVersion"]}
				}
			}
		}
	}
	n := int(spec["instances"].(float64))
	hibernated := path(cl, "metadata", "annotations")["cnpg.io/hibernation"] == "on"
	var names []any
	for i := 1; i <= n; i++ {
		names = append(names, "pg-"+strconv.Itoa(i))
	}
	st := map[string]any{"instances": n, "readyInstances": n, "instanceNames": names, "phase": "Cluster in healthy state",
		"currentPrimary": "pg-1", "targetPrimary": "pg-1", "latestGeneratedNode": n,
		"conditions": []any{map[string]any{"type": "Ready", "status": "True", "reason": "ClusterIsReady",
			"message": "Cluster is Ready", "lastTransitionTime": "2026-01-01T00:00:00Z"}}}
	if reconciled != nil {
		st["managedRolesStatus"] = map[string]any{"byStatus": map[string]any{"reconciled": reconciled}, "passwordStatus": passwords}
	}
	cl["status"] = st
	f.objs[clusterKey] = roundTrip(cl)
	if caKey := "/api/v1/namespaces/" + ns + "/secrets/" + clusterName + "-ca"; f.objs[caKey] == nil {
		crt, key := operatorCA()
		f.put(caKey, map[string]any{"type": "Opaque", "data": map[string]any{"ca.crt": crt, "ca.key": key}})
	}
	for k := range f.objs {
		if strings.HasPrefix(k, podsKey+"pg-") {
			delete(f.objs, k)
		}
	}
	if hibernated {
		return
	}
	for i, name := range names {
		role := "replica"
		if i == 0 {
			role = "primary"
		}
		f.put(podsKey+name.(string), map[string]any{
			"metadata": map[string]any{"labels": map[string]any{labelCluster: clusterName, labelInstanceName: name,
				"cnpg.io/podRole": "instance", "cnpg.io/instanceRole": role}},
			"spec": map[string]any{"containers": []any{map[string]any{"name": "postgres", "image": spec["imageName"], "resources": spec["resources"]}}},
			"status": map[string]any{"phase": "Running", "conditions": []any{
				map[string]any{"type": "PodScheduled", "status": "True"}, map[string]any{"type": "Ready", "status": "True"}}},
		})
	}
}

func setDefault(m map[string]any, k string, v any) {
	if _, ok := m[k]; !ok {
		m[k] = v
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
