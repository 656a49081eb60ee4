package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dbaasd/dbaasd/internal/httpapi/gen"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/service"
)

// TestDatastoreJSON: the hand-written answers of GET /v1/datastores and
// /v1/datastores/{id} are byte for byte what encoding/json writes for the
// generated types, over datastores with every optional part and with
// strings that need escaping.
func TestDatastoreJSON(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var views []service.DatastoreView
	for i, name := range []string{"plain", `quo"te\back`, "<html>&amp;", "ünïcödé ✓", "tab\tnew\nline", "\u2028sep", string([]byte{0xff, 'x'})} {
		v := service.DatastoreView{
			Datastore: model.Datastore{
				Base: model.Base{ID: uuid.NewString(), ProjectID: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", CreatedAt: now, UpdatedAt: now},
				Name: name, TypeID: uuid.NewString(), SubnetID: uuid.NewString(), NodeCount: i%3 + 1,
				Flavor: model.Flavor{VCPUs: i + 1, RAM: 1024, Disk: 5, DiskType: "local"}, Status: model.StatusActive,
				Enabled: i%2 == 0, IsProtected: i%3 == 0, BackupRetentionDays: 7, DiskUsed: int64(i) << 20,
			},
			DatabasesCount: i, TopicsCount: 2 * i,
			Connection: map[string]string{"master": "127.0.0.1:5432", "replica-1": "127.0.0.1:5433", "pooler": name},
		}
		if i%2 == 1 {
			v.FlavorID, v.LogGroup, v.CreationFinishedAt = uuid.NewString(), name, &now
			v.Pooler = &model.Pooler{Mode: "transaction", Size: 30}
			v.Firewall = []string{"10.0.0.0/8", name}
			v.SecurityGroups = []string{uuid.NewString()}
			v.Config = map[string]any{"work_mem": float64(4096), "jit": false, "search_path": name}
		}
		for n := 0; n < v.NodeCount; n++ {
			in := model.Instance{ID: uuid.NewString(), Role: model.RoleReplica, RoleName: "replica", Status: model.StatusActive,
				Host: "127.0.0.1", Hostname: fmt.Sprintf("node-%d-%s", n, name), AvailabilityZone: "local"}
			if n == 1 {
				in.FloatingIP = "127.0.100.7"
			}
			v.Instances = append(v.Instances, in)
		}
		views = append(views, v)
	}
	var list []gen.Datastore
	for i := range views {
		d := datastoreOut(&views[i])
		list = append(list, d)
		w := httptest.NewRecorder()
		if err := (getDatastoreAnswer{d}).VisitGetDatastoreResponse(w); err != nil {
			t.Fatal(err)
		}
		want := encode(t, gen.GetDatastore200JSONResponse{DatastoreOKJSONResponse: gen.DatastoreOKJSONResponse{Datastore: d}})
		if !bytes.Equal(w.Body.Bytes(), want) {
			t.Errorf("datastore %q:\n got %s\nwant %s", views[i].Name, w.Body, want)
		}
	}
	for _, l := range [][]gen.Datastore{list, {}} {
		w := httptest.NewRecorder()
		if err := (listDatastoresAnswer{l}).VisitListDatastoresResponse(w); err != nil {
			t.Fatal(err)
		}
		if want := encode(t, gen.ListDatastores200JSONResponse{Datastores: l}); !bytes.Equal(w.Body.Bytes(), want) {
			t.Errorf("list of %d:\n got %s\nwant %s", len(l), w.Body, want)
		}
		if w.Header().Get("Content-Type") != "application/json" || w.Code != 200 {
			t.Errorf("list answer: %d %v", w.Code, w.Header())
		}
	}
}

// encode is what the generated answer writes.
func encode(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
