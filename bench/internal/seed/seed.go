// Package seed fills a dbaasd store directly (through internal/store, not
// the API) with projects, API tokens and datastores with their instances,
// so that read benchmarks can run against a large store in seconds. It
// writes one transaction per project.
//
// Seeded datastores look like converged ones (instances with hosts, ports
// and hostnames, a pooler for PostgreSQL) but carry the status ERROR: it is
// the one state dbaasd's reconciler leaves alone, whereas an ACTIVE record
// without servers would make dbaasd re-adopt (that is, start) every one of
// them when it starts.
package seed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/dbaasd/dbaasd/internal/auth"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/secret"
	"github.com/dbaasd/dbaasd/internal/store"
)

// Type is a datastore type of the store's catalog.
type Type struct {
	ID     string
	Engine string
}

// Spec says what to seed.
type Spec struct {
	// Projects and PerProject: how many projects, and datastores in each.
	Projects, PerProject int
	// Types are used in turn for successive datastores (at least one).
	Types []Type
	// Region is the availability zone of the instances (default "local").
	Region string
	// Salt makes project IDs and tokens differ between seeded stores.
	Salt string
	// Hasher computes the keyed hashes tokens are stored under (the
	// store's dbaasd derives it from the same secret key file).
	Hasher interface{ Hash(token string) string }
}

// Project is a seeded project.
type Project struct {
	ID           string
	Token        string
	DatastoreIDs []string
}

// Seed writes the projects of spec, one transaction per project, and
// returns them in order.
func Seed(ctx context.Context, st store.Store, spec Spec) ([]Project, error) {
	if len(spec.Types) == 0 {
		return nil, errors.New("seed: no datastore types")
	}
	if spec.Hasher == nil {
		return nil, errors.New("seed: no token hasher")
	}
	if spec.Region == "" {
		spec.Region = "local"
	}
	now := time.Now().UTC().Truncate(time.Second)
	out := make([]Project, 0, spec.Projects)
	port := 30000
	for p := 0; p < spec.Projects; p++ {
		proj := Project{ID: ProjectID(spec.Salt, p), Token: Token(spec.Salt, p)}
		err := st.InTx(ctx, func(tx store.Tx) error {
			proj.DatastoreIDs = proj.DatastoreIDs[:0]
			if err := tx.Projects().Insert(ctx, &model.Project{ID: proj.ID, Name: fmt.Sprintf("bench-%03d", p), CreatedAt: now}); err != nil {
				return fmt.Errorf("project: %w", err)
			}
			if err := tx.PutToken(ctx, model.Token{Hash: spec.Hasher.Hash(proj.Token), ProjectID: proj.ID,
				Source: auth.SourceProvisioned, CreatedAt: now}); err != nil {
				return fmt.Errorf("token: %w", err)
			}
			subnet := uuid.NewSHA1(uuid.NameSpaceOID, []byte("subnet/"+proj.ID)).String()
			for i := 0; i < spec.PerProject; i++ {
				typ := spec.Types[(p*spec.PerProject+i)%len(spec.Types)]
				created := now.Add(time.Duration(i-spec.PerProject) * time.Minute)
				ds, insts := datastore(proj.ID, subnet, typ, i, created, spec.Region, &port)
				if err := tx.Datastores().Insert(ctx, ds); err != nil {
					return fmt.Errorf("datastore: %w", err)
				}
				for j := range insts {
					if err := tx.Instances().Insert(ctx, &insts[j]); err != nil {
						return fmt.Errorf("instance: %w", err)
					}
				}
				proj.DatastoreIDs = append(proj.DatastoreIDs, ds.ID)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("seed project %d: %w", p, err)
		}
		out = append(out, proj)
	}
	return out, nil
}

// nodesOf gives every third datastore three nodes, the others one.
func nodesOf(i int) int {
	if i%3 == 2 {
		return 3
	}
	return 1
}

// datastore builds the i-th datastore of a project and its instances.
func datastore(project, subnet string, typ Type, i int, created time.Time, region string, port *int) (*model.Datastore, []model.Instance) {
	nodes := nodesOf(i)
	finished := created.Add(5 * time.Second)
	ds := &model.Datastore{
		Base: model.Base{ID: uuid.NewString(), ProjectID: project, CreatedAt: created, UpdatedAt: finished},
		Name: fmt.Sprintf("bench-%s-%03d", typ.Engine, i), TypeID: typ.ID, SubnetID: subnet,
		Flavor:    model.Flavor{VCPUs: 1, RAM: 1024, Disk: 5, DiskType: "local"},
		NodeCount: nodes, Status: model.StatusError, Enabled: true, BackupRetentionDays: 7,
		Config: map[string]any{}, Firewall: []string{}, SecurityGroups: []string{},
		AdminPassword: secret.Password(32), CreationFinishedAt: &finished, DiskUsed: 40 << 20,
		Generation: 1, ObservedGeneration: 1,
	}
	if typ.Engine == "postgresql" {
		ds.Pooler = &model.Pooler{Mode: "transaction", Size: 30}
		ds.PoolerPort = next(port)
	}
	if typ.Engine == "redis" {
		ds.RedisPassword = "Redis-Secret-1"
	}
	insts := make([]model.Instance, nodes)
	for n := range insts {
		role := model.RoleReplica
		if n == 0 {
			role = model.RoleMaster
		}
		insts[n] = model.Instance{
			ID: uuid.NewString(), ProjectID: project, DatastoreID: ds.ID, Index: n,
			Role: role, RoleName: strings.ToLower(role), Status: model.StatusDown, // no server runs
			Host: "127.0.0.1", Port: next(port), Hostname: fmt.Sprintf("node-%d-%s", n, ds.ID[:8]),
			AvailabilityZone: region, CreatedAt: created,
		}
	}
	return ds, insts
}

// next hands out ports in 30000–59999 (seeded records never listen).
func next(port *int) int {
	p := *port
	*port++
	if *port > 59999 {
		*port = 30000
	}
	return p
}

// ProjectID is the ID of the n-th seeded project (32 hex characters).
func ProjectID(salt string, n int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("bench-project/%s/%d", salt, n)))
	return hex.EncodeToString(sum[:16])
}

// Token is the API token of the n-th seeded project.
func Token(salt string, n int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("bench-token/%s/%d", salt, n)))
	return "bench-" + hex.EncodeToString(sum[:12])
}
