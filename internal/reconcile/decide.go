package reconcile

import (
	"errors"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/model"
)

// The reconciler's decisions that depend only on what it observed and
// recorded, as pure functions: the loops in probe.go and reconcile.go
// gather the facts, call these, and act. Their tests (decide_test.go)
// cover each rule without engines or a store.

// statusOf derives a datastore's status from what was observed: a
// supporting process that is down (a pooler, a sentinel, a forwarder)
// makes an otherwise healthy datastore DEGRADED.
func statusOf(o engine.Observation) string {
	if len(o.Nodes) == 0 {
		return model.StatusDown
	}
	up, masterUp, full := 0, false, false
	for _, n := range o.Nodes {
		switch n.Status {
		case engine.NodeActive:
			up++
			if n.Role == engine.RoleMaster {
				masterUp = true
			}
		case engine.NodeDiskFull:
			full = true
			up++
			if n.Role == engine.RoleMaster {
				masterUp = true
			}
		}
	}
	switch {
	case full:
		return model.StatusDiskFull
	case up == 0 || !masterUp:
		return model.StatusDown
	case up < len(o.Nodes):
		return model.StatusDegraded
	}
	for _, p := range o.Processes {
		if !p.Up {
			return model.StatusDegraded
		}
	}
	return model.StatusActive
}

// answers reports whether a node counts as up: ACTIVE, or DISK_FULL
// (a full disk still serves reads).
func answers(status string) bool {
	return status == engine.NodeActive || status == engine.NodeDiskFull
}

// repairWanted is the probe's verdict on a datastore it just observed
// (status now, before: the status recorded before): a node down gets a
// repair; a disk that just filled gets one too, so the engine is made to
// refuse writes.
func repairWanted(now, before string) bool {
	return now == model.StatusDegraded || now == model.StatusDown ||
		(now == model.StatusDiskFull && before != model.StatusDiskFull)
}

// masterAnswers reports whether some node that sees itself as the
// primary answers (maybe one the engine just elected).
func masterAnswers(obs engine.Observation) bool {
	for _, n := range obs.Nodes {
		if n.Role == engine.RoleMaster && answers(n.Status) {
			return true
		}
	}
	return false
}

// failoverChoice is what an observation says about failing over from
// the recorded primary.
type failoverChoice struct {
	// PrimaryUp: the recorded primary answers; nothing to do.
	PrimaryUp bool
	// Blocker is a replica that does not answer as a replica (with its
	// observed status): promoting another could lose writes only it
	// acknowledged, so there is no failover.
	Blocker       *engine.Node
	BlockerStatus string
	// Best is the most advanced replica (the first of equals, in the
	// cluster's order) and Position how far it has come; nil when the
	// cluster has no replica.
	Best     *engine.Node
	Position uint64
}

// chooseFailover picks the replica to promote when master (a node of c)
// is down: every other node must answer as a replica, and the one with
// the highest replication position wins.
func chooseFailover(c *engine.Cluster, master *engine.Node, obs engine.Observation) failoverChoice {
	byID := map[string]engine.NodeState{}
	for _, n := range obs.Nodes {
		byID[n.ID] = n
	}
	if answers(byID[master.ID].Status) {
		return failoverChoice{PrimaryUp: true}
	}
	var ch failoverChoice
	for i := range c.Nodes {
		n := &c.Nodes[i]
		if n.ID == master.ID {
			continue
		}
		ns := byID[n.ID]
		if ns.Status != engine.NodeActive || ns.Role != engine.RoleReplica {
			return failoverChoice{Blocker: n, BlockerStatus: ns.Status}
		}
		if ch.Best == nil || ns.Position > ch.Position {
			ch.Best, ch.Position = n, ns.Position
		}
	}
	return ch
}

// retryBackoff is how long a failed action waits before its next
// attempt, after failures earlier failures: 2 s, 8 s, 18 s, 32 s, …
func retryBackoff(failures int) time.Duration {
	return time.Duration((failures+1)*(failures+1)) * 2 * time.Second
}

// finalFailure reports whether a failed action is given up rather than
// retried: the engine refused the input, retrying cannot help, or this
// was the last of maxAttempts (failures counts the earlier ones).
func finalFailure(cause error, failures, maxAttempts int) bool {
	return errors.Is(cause, engine.ErrInvalid) || errors.Is(cause, errPermanent) || failures+1 >= maxAttempts
}
