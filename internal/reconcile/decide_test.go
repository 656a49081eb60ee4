package reconcile

import (
	"fmt"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
)

// Short names for the observation tables below.
const (
	up   = engine.NodeActive
	down = engine.NodeDown
	full = engine.NodeDiskFull
	m    = engine.RoleMaster
	r    = engine.RoleReplica
)

func node(id, status, role string) engine.NodeState {
	return engine.NodeState{ID: id, Status: status, Role: role}
}

func TestStatusOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		obs  engine.Observation
		want string
	}{
		{"nothing observed", engine.Observation{}, model.StatusDown},
		{"single primary up", engine.Observation{Nodes: []engine.NodeState{node("a", up, m)}}, model.StatusActive},
		{"primary and replica up", engine.Observation{Nodes: []engine.NodeState{node("a", up, m), node("b", up, r)}}, model.StatusActive},
		{"replica down", engine.Observation{Nodes: []engine.NodeState{node("a", up, m), node("b", down, r)}}, model.StatusDegraded},
		{"primary down, replica up", engine.Observation{Nodes: []engine.NodeState{node("a", down, m), node("b", up, r)}}, model.StatusDown},
		{"no node sees itself primary", engine.Observation{Nodes: []engine.NodeState{node("a", up, r), node("b", up, r)}}, model.StatusDown},
		{"all down", engine.Observation{Nodes: []engine.NodeState{node("a", down, m), node("b", down, r)}}, model.StatusDown},
		{"primary disk full", engine.Observation{Nodes: []engine.NodeState{node("a", full, m), node("b", up, r)}}, model.StatusDiskFull},
		{"replica disk full, primary down: full wins", engine.Observation{Nodes: []engine.NodeState{node("a", down, m), node("b", full, r)}}, model.StatusDiskFull},
		{"supporting process down", engine.Observation{Nodes: []engine.NodeState{node("a", up, m)},
			Processes: []engine.ProcessState{{Name: "pooler", NodeID: "a", Up: false}}}, model.StatusDegraded},
		{"supporting process up", engine.Observation{Nodes: []engine.NodeState{node("a", up, m)},
			Processes: []engine.ProcessState{{Name: "pooler", NodeID: "a", Up: true}}}, model.StatusActive},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := statusOf(tc.obs); got != tc.want {
				t.Errorf("statusOf = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestRepairWanted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		now, before string
		want        bool
	}{
		{model.StatusActive, model.StatusActive, false},
		{model.StatusActive, model.StatusDegraded, false},
		{model.StatusDegraded, model.StatusActive, true},
		{model.StatusDegraded, model.StatusDegraded, true},
		{model.StatusDown, model.StatusActive, true},
		{model.StatusDown, model.StatusDown, true},
		{model.StatusDiskFull, model.StatusActive, true},    // just filled: make the engine refuse writes
		{model.StatusDiskFull, model.StatusDiskFull, false}, // already handled
	}
	for _, tc := range tests {
		if got := repairWanted(tc.now, tc.before); got != tc.want {
			t.Errorf("repairWanted(%s, before %s) = %v, want %v", tc.now, tc.before, got, tc.want)
		}
	}
}

func TestMasterAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		nodes []engine.NodeState
		want  bool
	}{
		{"none", nil, false},
		{"primary up", []engine.NodeState{node("a", engine.NodeActive, engine.RoleMaster)}, true},
		{"primary disk full", []engine.NodeState{node("a", engine.NodeDiskFull, engine.RoleMaster)}, true},
		{"primary down", []engine.NodeState{node("a", engine.NodeDown, engine.RoleMaster), node("b", engine.NodeActive, engine.RoleReplica)}, false},
		{"newly elected", []engine.NodeState{node("a", engine.NodeDown, engine.RoleUnknown), node("b", engine.NodeActive, engine.RoleMaster)}, true},
	}
	for _, tc := range tests {
		if got := masterAnswers(engine.Observation{Nodes: tc.nodes}); got != tc.want {
			t.Errorf("%s: masterAnswers = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestChooseFailover(t *testing.T) {
	t.Parallel()
	cluster := &engine.Cluster{Nodes: []engine.Node{
		{ID: "a", Role: engine.RoleMaster}, {ID: "b", Role: engine.RoleReplica}, {ID: "c", Role: engine.RoleReplica},
	}}
	at := func(id, status, role string, pos uint64) engine.NodeState {
		return engine.NodeState{ID: id, Status: status, Role: role, Position: pos}
	}
	tests := []struct {
		name      string
		nodes     []engine.NodeState
		primaryUp bool
		blocker   string
		best      string
		pos       uint64
	}{
		{"primary up", []engine.NodeState{at("a", up, m, 9), at("b", up, r, 5), at("c", up, r, 7)}, true, "", "", 0},
		{"primary disk full still counts as up", []engine.NodeState{at("a", full, m, 9), at("b", up, r, 5), at("c", up, r, 7)}, true, "", "", 0},
		{"most advanced replica wins", []engine.NodeState{at("a", down, m, 0), at("b", up, r, 5), at("c", up, r, 7)}, false, "", "c", 7},
		{"first of equals wins", []engine.NodeState{at("a", down, m, 0), at("b", up, r, 7), at("c", up, r, 7)}, false, "", "b", 7},
		{"primary not observed at all", []engine.NodeState{at("b", up, r, 3), at("c", up, r, 2)}, false, "", "b", 3},
		{"a replica down blocks", []engine.NodeState{at("a", down, m, 0), at("b", up, r, 5), at("c", down, r, 9)}, false, "c", "", 0},
		{"a replica that claims primary blocks", []engine.NodeState{at("a", down, m, 0), at("b", up, m, 5), at("c", up, r, 9)}, false, "b", "", 0},
		{"a replica not observed blocks", []engine.NodeState{at("a", down, m, 0), at("b", up, r, 5)}, false, "c", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ch := chooseFailover(cluster, &cluster.Nodes[0], engine.Observation{Nodes: tc.nodes})
			got := fmt.Sprintf("up=%v blocker=%s best=%s pos=%d", ch.PrimaryUp, idOf(ch.Blocker), idOf(ch.Best), ch.Position)
			want := fmt.Sprintf("up=%v blocker=%s best=%s pos=%d", tc.primaryUp, tc.blocker, tc.best, tc.pos)
			if got != want {
				t.Errorf("chooseFailover = %s, want %s", got, want)
			}
		})
	}
	single := &engine.Cluster{Nodes: []engine.Node{{ID: "a", Role: engine.RoleMaster}}}
	if ch := chooseFailover(single, &single.Nodes[0], engine.Observation{}); ch.Best != nil || ch.Blocker != nil || ch.PrimaryUp {
		t.Errorf("single node down: %+v, want no candidate", ch)
	}
}

func idOf(n *engine.Node) string {
	if n == nil {
		return ""
	}
	return n.ID
}

func TestRetryBackoff(t *testing.T) {
	t.Parallel()
	want := []time.Duration{2 * time.Second, 8 * time.Second, 18 * time.Second, 32 * time.Second, 50 * time.Second}
	for failures, w := range want {
		if got := retryBackoff(failures); got != w {
			t.Errorf("retryBackoff(%d) = %s, want %s", failures, got, w)
		}
	}
}

func TestFinalFailure(t *testing.T) {
	t.Parallel()
	transient := fmt.Errorf("connect: connection refused")
	tests := []struct {
		name     string
		cause    error
		failures int
		want     bool
	}{
		{"transient, first failure", transient, 0, false},
		{"transient, before the last attempt", transient, 1, false},
		{"transient, last attempt", transient, 2, true},
		{"invalid input is final at once", fmt.Errorf("ensure: %w", engine.ErrInvalid), 0, true},
		{"permanent is final at once", fmt.Errorf("restore: %w", errPermanent), 0, true},
	}
	for _, tc := range tests {
		if got := finalFailure(tc.cause, tc.failures, 3); got != tc.want {
			t.Errorf("%s: finalFailure = %v, want %v", tc.name, got, tc.want)
		}
	}
}
