package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// scramMechanisms are the mechanisms every user gets a credential for, so a
// client may pick either.
var scramMechanisms = []kadm.ScramMechanism{kadm.ScramSha256, kadm.ScramSha512}

func checkUserName(name string) error {
	switch name {
	case "":
		return fmt.Errorf("%w: empty user name", engine.ErrInvalid)
	case SuperUser:
		return fmt.Errorf("%w: user name %q is reserved for dbaasd", engine.ErrInvalid, name)
	}
	return nil
}

// EnsureUser creates the SASL user or sets its password, with a
// SCRAM-SHA-256 and a SCRAM-SHA-512 credential. kfake persists credentials
// (salted) in its data directory, so users survive restarts.
func (d *Driver) EnsureUser(ctx context.Context, c *engine.Cluster, u engine.User) error {
	if err := checkUserName(u.Name); err != nil {
		return err
	}
	if u.Password == "" {
		return fmt.Errorf("%w: user %s has no password", engine.ErrInvalid, u.Name)
	}
	return withAdmin(ctx, c, func(adm *kadm.Client, _ *kgo.Client) error {
		// One request per mechanism: kfake refuses two alterations of
		// one user in a single request.
		for _, m := range scramMechanisms {
			up := kadm.UpsertSCRAM{User: u.Name, Mechanism: m, Iterations: scramIterations, Password: u.Password}
			res, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{up})
			if err != nil {
				return fmt.Errorf("set %s credential of user %s: %w", m, u.Name, err)
			}
			if err := scramErr(res); err != nil {
				if errors.Is(err, kerr.UnacceptableCredential) {
					return fmt.Errorf("%w: set %s credential of user %s: %v", engine.ErrInvalid, m, u.Name, err)
				}
				return fmt.Errorf("set %s credential of user %s: %w", m, u.Name, err)
			}
		}
		return nil
	})
}

// DropUser removes the user's credentials and every ACL that names it, so a
// later user of the same name starts with no permission.
func (d *Driver) DropUser(ctx context.Context, c *engine.Cluster, name string) error {
	if err := checkUserName(name); err != nil {
		return err
	}
	return withAdmin(ctx, c, func(adm *kadm.Client, cl *kgo.Client) error {
		for _, m := range scramMechanisms {
			res, err := adm.AlterUserSCRAMs(ctx, []kadm.DeleteSCRAM{{User: name, Mechanism: m}}, nil)
			if err != nil {
				return fmt.Errorf("delete credentials of user %s: %w", name, err)
			}
			if err := scramErr(res); err != nil && !errors.Is(err, kerr.ResourceNotFound) {
				return fmt.Errorf("delete %s credential of user %s: %w", m, name, err)
			}
		}
		return deleteACLs(ctx, cl, aclFilter{principal: principal(name)})
	})
}

// scramErr returns the first error of an alteration with the broker's
// message.
func scramErr(res kadm.AlteredUserSCRAMs) error {
	for _, a := range res.Sorted() {
		if a.Err != nil {
			if a.ErrMessage != "" {
				return fmt.Errorf("%w: %s", a.Err, a.ErrMessage)
			}
			return a.Err
		}
	}
	return nil
}
