// Package cnpg is dbaasd's Kubernetes runtime for PostgreSQL: a driver
// (engine.Driver and its capability interfaces) that hands each datastore
// to the CloudNativePG operator instead of running servers itself.
//
// Layout in the cluster. Every datastore gets a namespace of its own,
// named dbaasd-<datastore id> and labelled with the datastore's id, so
// that deleting the namespace removes everything it had (the CNPG Cluster,
// its pods, volumes claims, secrets, services and pooler) and a policy or
// quota of the cluster's can be set per datastore. In it:
//
//   - the Cluster "pg": instances = node count, resources from the
//     flavor, storage from its disk, parameters from the datastore's
//     configuration, pg_hba rules from its firewall, managed roles for its
//     users (passwords in secrets user-<hash>), and, when object storage
//     is configured, a barman object store for WAL archiving and backups;
//   - a Database object per database (owner, extensions);
//   - a Pooler "pg-pooler" (PgBouncer) when the datastore has a pooler,
//     with dbaasd's own user lookup (poolerauth.go): the managed role
//     dbaasd_pooler (a client certificate in the secret pooler-client)
//     and, in every database, a function in a schema the superuser owns;
//   - one Service per node and one for the pooler, each on the address and
//     port dbaasd allocated (spec.externalIPs = the engine host, the port
//     allocated to the node), so the API's connection addresses have the
//     same shape as with the local runtime and follow the node when its pod
//     is rebuilt elsewhere. externalTrafficPolicy Local keeps the client's
//     address, which the firewall rules check.
//
// Status is read, never assumed: a node is ACTIVE when its pod is Ready
// (CNPG's readiness probe asks the server), MASTER when the Cluster's
// status names it the current primary. Failover is the operator's:
// the driver implements engine.SelfFailover, and the reconciler records
// the roles it observes.
//
// The driver talks to the API server with client-go's dynamic client
// (kube.go): objects are read into the operator's types of package crd
// (the fields dbaasd uses, as CloudNativePG v1.27.1 names them) or
// Kubernetes' own, created whole, and changed with JSON merge patches of
// what dbaasd changed, so that what it does not own (the operator's
// defaults, an administrator's edits) stays as it is.
//
// Grants and logical replication slots have no CNPG object; they are
// applied with SQL over the primary's node address as the superuser
// (postgres, password = the datastore's admin password), which pg_hba
// admits from the addresses in Options.AdminCIDRs only.
package cnpg
