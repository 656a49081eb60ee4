package redis

// Who may do what on a cluster's servers and sentinels.
//
// Every server and every sentinel has two users:
//
//   - default, the tenant's: the datastore's password (Cluster.Password),
//     with the rules below. It reads and writes every key and uses pub/sub,
//     scripts and functions, but cannot change what dbaasd manages: no
//     CONFIG (GET included: it would show the internal secret), ACL
//     changes, REPLICAOF/SLAVEOF, FAILOVER, SHUTDOWN, DEBUG, MODULE,
//     SAVE/BGSAVE/BGREWRITEAOF, MONITOR, SYNC/PSYNC/REPLCONF (a fake replica
//     would count in WAIT), CLIENT KILL/PAUSE/UNPAUSE/UNBLOCK/NO-EVICT,
//     CLUSTER, MIGRATE (the server would connect where the tenant says),
//     and no PUBLISH to channels starting with "__" (Sentinel's
//     __sentinel__:hello would let a tenant announce a fake master). It may
//     still subscribe to every channel and read what is harmless: CLIENT
//     LIST, ROLE, LASTSAVE, SLOWLOG GET/LEN (Redis redacts secrets in it),
//     LATENCY's reports, INFO. On sentinels it may only ask: PING, INFO,
//     ROLE, the SENTINEL queries (GET-MASTER-ADDR-BY-NAME, MASTER(S),
//     REPLICAS/SLAVES, SENTINELS, MYID, CKQUORUM) and subscribe to events.
//   - dbaasd, the internal user: every command, with a secret derived from
//     the cluster's AdminPassword (never the tenant's password). dbaasd's
//     own connections use it (over the Unix sockets), replicas use it
//     towards their master (masteruser/masterauth), sentinels towards the
//     servers (auth-user/auth-pass) and towards each other
//     (sentinel-user/sentinel-pass). A tenant who changes or forgets the
//     password, or runs CONFIG SET requirepass (refused anyway), cannot lock
//     dbaasd out or break replication.
//
// Config files hold the users' passwords hashed (#sha256); only the
// internal secret appears in clear, in masterauth and the sentinels'
// auth-pass/sentinel-pass, in files only the cluster's OS account reads.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// internalUser is the ACL user of dbaasd, replicas and sentinels.
const internalUser = "dbaasd"

// tenantServerRules are the ACL rules of the tenant's default user on a
// server (after "reset on #<hash>").
var tenantServerRules = []string{
	"~*", "resetchannels", "&[^_]*", "&_[^_]*", "&_",
	"+@all", "-@admin", "-migrate",
	"+client|list", "+role", "+lastsave", "+slowlog|get", "+slowlog|len",
	"+latency|doctor", "+latency|graph", "+latency|histogram", "+latency|history", "+latency|latest",
	"(&* -@all +subscribe +psubscribe +ssubscribe)",
}

// tenantSentinelRules are the ACL rules of the tenant's default user on a
// sentinel.
var tenantSentinelRules = []string{
	"resetchannels", "&*", "-@all",
	"+ping", "+auth", "+hello", "+info", "+role", "+command",
	"+client|setname", "+client|getname", "+client|id", "+client|info",
	"+sentinel|get-master-addr-by-name", "+sentinel|master", "+sentinel|masters",
	"+sentinel|replicas", "+sentinel|slaves", "+sentinel|sentinels", "+sentinel|myid", "+sentinel|ckquorum",
	"+subscribe", "+psubscribe", "+unsubscribe", "+punsubscribe",
}

// internalRules are the ACL rules of the internal user.
var internalRules = []string{"~*", "&*", "+@all"}

// internalSecret is the internal user's password: derived from the
// cluster's AdminPassword, so it survives a restart of dbaasd without
// being stored anywhere else, and differs from cluster to cluster.
func internalSecret(c *engine.Cluster) string {
	m := hmac.New(sha256.New, []byte(c.AdminPassword))
	m.Write([]byte("dbaasd redis internal user\x00" + c.ID))
	return hex.EncodeToString(m.Sum(nil))
}

// InternalUser is the name and password of dbaasd's internal user of c,
// for tools and tests that act as dbaasd (a tenant's user may not read the
// configuration).
func InternalUser(c *engine.Cluster) (name, password string) { return internalUser, internalSecret(c) }

// passwordHash is how ACL rules name a password without holding it.
func passwordHash(pw string) string {
	h := sha256.Sum256([]byte(pw))
	return "#" + hex.EncodeToString(h[:])
}

// userRules are the arguments of ACL SETUSER (or of a config file's user
// directive, after the name) that give a user exactly these rules.
func userRules(password string, rules []string) []string {
	return append([]string{"reset", "on", passwordHash(password)}, rules...)
}

// userLine is a config file's user directive.
func userLine(name, password string, rules []string) string {
	args := []string{"user", name}
	for _, a := range userRules(password, rules)[1:] { // a file starts from a fresh user
		args = append(args, quote(a))
	}
	return strings.Join(args, " ")
}

// cred is a user and password to authenticate with.
type cred struct {
	user string // "" is the default user
	pass string
}

// internalCred is the internal user's credential.
func internalCred(c *engine.Cluster) cred { return cred{user: internalUser, pass: internalSecret(c)} }

// setUsers gives a server's or sentinel's users their rules and passwords
// (ACL SETUSER … reset …: idempotent, and it keeps the users' connections),
// the internal user first: cl may be a connection of the default user of a
// server set up before the internal user existed.
func setUsers(ctx context.Context, cl *goredis.Client, c *engine.Cluster, tenantRules []string) error {
	for _, u := range []struct {
		name, pw string
		rules    []string
	}{{internalUser, internalSecret(c), internalRules}, {"default", c.Password, tenantRules}} {
		args := []any{"ACL", "SETUSER", u.name}
		for _, a := range userRules(u.pw, u.rules) {
			args = append(args, a)
		}
		if err := cl.Do(ctx, args...).Err(); err != nil {
			return fmt.Errorf("ACL SETUSER %s: %w", u.name, err)
		}
	}
	return nil
}

// ensureUsers is setUsers, and reports whether it changed the users (ACL
// LIST before and after differ).
func ensureUsers(ctx context.Context, cl *goredis.Client, c *engine.Cluster, tenantRules []string) (bool, error) {
	before, err := cl.Do(ctx, "ACL", "LIST").StringSlice()
	if err != nil {
		return false, fmt.Errorf("ACL LIST: %w", err)
	}
	if err := setUsers(ctx, cl, c, tenantRules); err != nil {
		return false, err
	}
	after, err := cl.Do(ctx, "ACL", "LIST").StringSlice()
	if err != nil {
		return false, fmt.Errorf("ACL LIST: %w", err)
	}
	return strings.Join(before, "\n") != strings.Join(after, "\n"), nil
}

// connectInternal connects to ep as the internal user. A server or
// sentinel set up before the internal user existed (only its default user
// gets in) is given its users first (setUsers), then connected to again.
func connectInternal(ctx context.Context, c *engine.Cluster, ep endpoint, cands []cred, tenantRules []string) (*goredis.Client, error) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cl, used, err := connect(cctx, ep, cands)
	if err != nil || used == internalCred(c) {
		return cl, err
	}
	err = setUsers(ctx, cl, c, tenantRules)
	_ = cl.Close()
	if err != nil {
		return nil, err
	}
	cl, _, err = connect(cctx, ep, []cred{internalCred(c)})
	return cl, err
}
