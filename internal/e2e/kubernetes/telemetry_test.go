package kubernetes_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

// series is one metric of one instance or database in an answer of the
// metrics API.
type series struct {
	Values []float64
	IP     string
	Last   *float64
}

// metricsOf reads an answer of the metrics API: metric → key (instance
// hostname or database name) → series.
func metricsOf(t *testing.T, r *at.Response) map[string]map[string]series {
	t.Helper()
	var body struct {
		Metrics map[string]json.RawMessage `json:"metrics"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]series{}
	for name, raw := range body.Metrics {
		m := map[string]series{}
		if name == "step" || json.Unmarshal(raw, &m) != nil {
			continue
		}
		out[name] = m
	}
	return out
}

// checkMetrics: the metrics of a datastore on Kubernetes come from its
// servers, asked through the nodes' addresses. Every instance is up and
// has its data's size (at least minDisk bytes) and its connections; the
// database db has its size.
func checkMetrics(t *testing.T, e *at.Env, ds, db string, minDisk float64) {
	t.Helper()
	r := e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+ds, nil)
	hosts := map[string]string{} // hostname → ip
	for i := range r.Get("datastore.instances").([]any) {
		hosts[r.Str(fmt.Sprintf("datastore.instances.%d.hostname", i))] = r.Str(fmt.Sprintf("datastore.instances.%d.ip", i))
	}
	path := "/v1/datastores/" + ds + "/metrics"
	recent := "?start=" + url.QueryEscape(time.Now().UTC().Add(-10*time.Minute).Format("2006-01-02T15:04:05"))
	var problems []string
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(2 * time.Second) {
		problems = nil
		inst := metricsOf(t, e.Do(at.TokenA, http.MethodGet, path+recent, nil))
		dbs := metricsOf(t, e.Do(at.TokenA, http.MethodGet, path+"/databases"+recent, nil))
		for host, ip := range hosts {
			if s := inst["up"][host]; s.Last == nil || *s.Last != 1 || s.IP != ip {
				problems = append(problems, fmt.Sprintf("instance %s up: %+v", host, s))
			}
			if s := inst["disk_used_bytes"][host]; s.Last == nil || *s.Last < minDisk {
				problems = append(problems, fmt.Sprintf("instance %s disk_used_bytes: %+v", host, s))
			}
			if s, ok := inst["connections"][host]; !ok || len(s.Values) == 0 {
				problems = append(problems, fmt.Sprintf("instance %s connections: %+v", host, s))
			}
		}
		if s := dbs["size_bytes"][db]; s.Last == nil || *s.Last <= 0 {
			problems = append(problems, fmt.Sprintf("database %s size_bytes: %+v", db, s))
		}
		if len(problems) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, p := range problems {
		t.Errorf("metrics on Kubernetes: %s", p)
	}
}

// checkLogs: the logs of a datastore on Kubernetes are its servers' logs,
// read from the pods: a failed login at the primary's address shows, with
// the user, the database and the instance, and the filters apply.
func checkLogs(t *testing.T, e *at.Env, ds, addr string) {
	t.Helper()
	if c, err := connect(addr, "app_user", "Wrong-Password-9", "appdb"); err == nil {
		_ = c.Close(context.Background())
		t.Fatal("a wrong password was accepted")
	}
	want := `password authentication failed for user "app_user"`
	path := "/v1/datastores/" + ds + "/logs?job=postgresql&limit=20&databases=appdb"
	var found map[string]any
	for deadline := time.Now().Add(time.Minute); found == nil; time.Sleep(time.Second) {
		r := e.Do(at.TokenA, http.MethodGet, path, nil)
		lines, _ := r.Get("logs").([]any)
		for _, l := range lines {
			if line := l.(map[string]any); strings.Contains(line["value"].(string), want) {
				found = line
			}
		}
		if found == nil && time.Now().After(deadline) {
			t.Fatalf("the failed login is not in the logs: %d %s", r.Status, r.Body)
		}
	}
	labels := found["labels"].(map[string]any)
	if labels["user"] != "app_user" || labels["database"] != "appdb" || labels["level"] != "fatal" ||
		labels["job"] != "postgresql" || labels["instance"] != addr {
		t.Errorf("log line %v", found)
	}
	for _, q := range []string{"?databases=postgres", "?job=mysql-error", "?ips=10.9.9.9"} {
		if r := e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+ds+"/logs"+q, nil); r.Status != http.StatusOK || strings.Contains(string(r.Body), "Wrong-Password") ||
			strings.Contains(string(r.Body), `password authentication failed for user \"app_user\"`) {
			t.Errorf("filter %s kept the failed login: %d %s", q, r.Status, r.Body)
		}
	}
}
