package e2e_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbaasd/dbaasd/internal/daemon"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
	"github.com/dbaasd/dbaasd/internal/layout"
	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
	"github.com/dbaasd/dbaasd/internal/testutil/intruder"
)

// Each datastore runs as an OS account of its own. Acting as one
// datastore's account (as if its engine had been taken over), and as a
// local user of the machine, the test tries to reach the other
// datastores: read, list or write their files, connect to their Unix
// sockets (which need no password), read their processes' environment.
// Everything is refused; the account can do all of it to its own
// datastore, so the refusals mean something.
func TestDatastoresAreIsolated(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	if os.Geteuid() != 0 {
		t.Skip("per-datastore OS accounts need root")
	}
	t.Parallel()
	e := at.Start(t, at.Options{Reconcile: true})
	own := e.CreateDatastore(at.TokenA, "postgresql", "own-pg", 1)
	others := map[string]string{
		e.CreateDatastore(at.TokenB, "postgresql", "other-pg", 1):   "postgresql",
		e.CreateDatastore(at.TokenB, "mysql_native", "other-my", 1): "mysql_native",
		e.CreateDatastore(at.TokenB, "redis", "other-redis", 1):     "redis",
		e.CreateDatastore(at.TokenB, "kafka", "other-kafka", 1):     "kafka",
	}
	e.WaitStatus(at.TokenA, "/v1/datastores/"+own, "datastore", "ACTIVE", wait)
	for id := range others {
		e.WaitStatus(at.TokenB, "/v1/datastores/"+id, "datastore", "ACTIVE", wait)
	}

	l := layout.Layout{DataDir: e.DataDir, RunDir: daemon.DefaultRunDir()}
	trees := func(id string) []string { return []string{l.ClusterDir(id), l.ClusterRunDir(id)} }
	account := func(id string) intruder.User { return intruder.Lookup(t, proc.AccountName(id)) }
	ownAcc := account(own)

	// Sanity: the account reaches everything of its own datastore.
	ownAttempts := intruder.TreeAttempts(t, trees(own)...)
	ownAttempts = append(ownAttempts, intruder.EnvironAttempts(intruder.ProcessesOf(ownAcc.UID))...)
	if countKind(ownAttempts, intruder.Connect) == 0 || countKind(ownAttempts, intruder.Environ) == 0 {
		t.Fatalf("found no socket or process of the datastore's own account: %v", ownAttempts)
	}
	intruder.Allowed(t, ownAcc, ownAttempts)

	local := intruder.NewLocalUser(t)
	for id, eng := range others {
		acc := account(id)
		if acc.UID == ownAcc.UID {
			t.Fatalf("%s datastore %s shares OS account %s", eng, id, acc.Name)
		}
		attempts := intruder.TreeAttempts(t, trees(id)...)
		pids := intruder.ProcessesOf(acc.UID)
		if len(pids) == 0 {
			t.Fatalf("no process runs as the %s datastore's account %s", eng, acc.Name)
		}
		attempts = append(attempts, intruder.EnvironAttempts(pids)...)
		if countKind(attempts, intruder.Read) == 0 {
			t.Fatalf("%s datastore %s: no files found to try", eng, id)
		}
		t.Logf("%s datastore: %d attempts as %s and as %s", eng, len(attempts), ownAcc.Name, local.Name)
		intruder.Denied(t, ownAcc, attempts)
		intruder.Denied(t, local, attempts)
		// Nothing of the datastore's secrets is on a command line, which
		// every user can read.
		for _, pid := range pids {
			if args := strings.Join(proc.Cmdline(pid), " "); strings.Contains(args, "Redis-Secret-1") {
				t.Errorf("%s process %d has the password on its command line: %s", eng, pid, args)
			}
		}
	}
	// The local user reaches nothing of the first datastore either, nor
	// lists the data and runtime directories.
	intruder.Denied(t, local, append(intruder.TreeAttempts(t, trees(own)...),
		intruder.Attempt{Kind: intruder.List, Target: e.DataDir},
		intruder.Attempt{Kind: intruder.List, Target: filepath.Join(e.DataDir, "clusters")},
		intruder.Attempt{Kind: intruder.List, Target: l.RunDir},
		intruder.Attempt{Kind: intruder.Write, Target: l.RunDir}))
}

func countKind(attempts []intruder.Attempt, kind string) int {
	n := 0
	for _, a := range attempts {
		if a.Kind == kind {
			n++
		}
	}
	return n
}
