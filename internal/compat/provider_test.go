package compat_test

import (
	"context"
	"fmt"
	"maps"
	"slices"

	dbaas "github.com/selectel/dbaas-go"
)

// The provider's resources and data sources (selectel/selectel 8.3,
// selectel/*.go of its repository), each written as its CRUD functions
// are: the same SDK calls with the same options, the same waiters, and a
// Read that keeps the same attributes in state. Arguments are what a
// configuration sets; a resource's update compares the arguments it was
// applied with to the next ones, as HasChange does.

// Data sources.

// dataDatastoreType is selectel_dbaas_datastore_type_v1 with
// filter { engine, version } (either may be empty).
func dataDatastoreType(c *config, name, engine, version string) *node {
	addr := "data.selectel_dbaas_datastore_type_v1." + name
	return c.add(&node{addr: addr, data: true, read: func(ctx context.Context) error {
		types, err := c.s.api.DatastoreTypes(ctx)
		if err != nil {
			return err
		}
		for _, dt := range types {
			if (engine == "" || dt.Engine == engine) && (version == "" || dt.Version == version) {
				c.setID(addr, dt.ID) // datastore_types[0].id
				return nil
			}
		}
		return fmt.Errorf("no datastore type with engine %q and version %q in %+v", engine, version, types)
	}})
}

// dataFlavor is selectel_dbaas_flavor_v1 with filter { datastore_type_id,
// vcpus, ram, disk } (zero values are not set).
func dataFlavor(c *config, name, typeAddr string, vcpus, ram, disk int) *node {
	addr := "data.selectel_dbaas_flavor_v1." + name
	return c.add(&node{addr: addr, data: true, deps: []string{typeAddr}, read: func(ctx context.Context) error {
		flavors, err := c.s.api.Flavors(ctx)
		if err != nil {
			return err
		}
		typeID := c.id(typeAddr)
		for _, f := range flavors {
			if slices.Contains(f.DatastoreTypeIDs, typeID) && (vcpus == 0 || f.Vcpus == vcpus) &&
				(ram == 0 || f.RAM == ram) && (disk == 0 || f.Disk == disk) {
				c.setID(addr, f.ID) // flavors[0].id
				return nil
			}
		}
		return fmt.Errorf("no flavor of type %s with %d vCPU, %d MB, %d GB", typeID, vcpus, ram, disk)
	}})
}

// dataConfigurationParameter is selectel_dbaas_configuration_parameter_v1
// with filter { datastore_type_id, name }.
func dataConfigurationParameter(c *config, name, typeAddr, param string) *node {
	addr := "data.selectel_dbaas_configuration_parameter_v1." + name
	return c.add(&node{addr: addr, data: true, deps: []string{typeAddr}, read: func(ctx context.Context) error {
		params, err := c.s.api.ConfigurationParameters(ctx)
		if err != nil {
			return err
		}
		typeID := c.id(typeAddr)
		for _, p := range params {
			if p.DatastoreTypeID == typeID && p.Name == param {
				if p.ID == "" || p.Type == "" {
					return fmt.Errorf("parameter %s lacks an ID or a type: %+v", param, p)
				}
				c.setID(addr, p.ID)
				return nil
			}
		}
		return fmt.Errorf("no configuration parameter %s for type %s", param, typeID)
	}})
}

// dataAvailableExtension is selectel_dbaas_available_extension_v1 with
// filter { name }.
func dataAvailableExtension(c *config, name, ext string) *node {
	addr := "data.selectel_dbaas_available_extension_v1." + name
	return c.add(&node{addr: addr, data: true, read: func(ctx context.Context) error {
		exts, err := c.s.api.AvailableExtensions(ctx)
		if err != nil {
			return err
		}
		for _, x := range exts {
			if x.Name == ext {
				c.setID(addr, x.ID)
				return nil
			}
		}
		return fmt.Errorf("extension %s is not available", ext)
	}})
}

// dataMetricTokens is selectel_dbaas_prometheus_metric_token_v1 (the
// project's tokens). A data source refers to nothing here, so it is read
// before anything is created; once the token resource tokenAddr is in
// state, it must be listed.
func dataMetricTokens(c *config, name, tokenAddr string) *node {
	addr := "data.selectel_dbaas_prometheus_metric_token_v1." + name
	return c.add(&node{addr: addr, data: true, read: func(ctx context.Context) error {
		tokens, err := c.s.api.PrometheusMetricTokens(ctx)
		if err != nil {
			return err
		}
		id, ok := c.lookup(tokenAddr)
		if !ok {
			return nil
		}
		if !slices.ContainsFunc(tokens, func(t dbaas.PrometheusMetricToken) bool { return t.ID == id && t.ProjectID == projectP }) {
			return fmt.Errorf("token %s not listed in %+v", id, tokens)
		}
		return nil
	}})
}

// Datastores.

// dsArgs are the arguments of a datastore resource.
type dsArgs struct {
	name          string
	typeAddr      string
	flavorIDAddr  string        // flavor_id = data.selectel_dbaas_flavor_v1….id
	flavor        *dbaas.Flavor // flavor { vcpus, ram, disk } (disk_type defaults to local)
	nodeCount     int
	config        map[string]string // nil: not set (Optional+Computed)
	pooler        *dbaas.Pooler
	backupDays    int // 0: the schema's default (7), where the resource has it
	redisPassword string
}

// datastore is selectel_dbaas_{postgresql,mysql,redis,kafka}_datastore_v1:
// kind is the resource's engine family, engines the engines its type may
// have. next, when set, returns the arguments of the next configuration.
func datastore(c *config, kind, name string, engines []string, args dsArgs, next func() dsArgs) (*node, *dsArgs) {
	addr := "selectel_dbaas_" + kind + "_datastore_v1." + name
	deps := []string{args.typeAddr}
	if args.flavorIDAddr != "" {
		deps = append(deps, args.flavorIDAddr)
	}
	hasBackups := kind != "kafka"
	cur := args
	subnet := "8a9f3d5e-2c1b-4e7a-9d6f-0b1c2d3e4f5a"
	get := func(ctx context.Context) (dbaas.Status, error) {
		ds, err := c.s.api.Datastore(ctx, c.id(addr))
		return ds.Status, err
	}
	wait := func(ctx context.Context) error { return waitFor(ctx, "datastore", datastorePending, get) }
	n := &node{addr: addr, deps: deps}
	n.create = func(ctx context.Context) error {
		// validateDatastoreType
		dt, err := c.s.api.DatastoreType(ctx, c.id(args.typeAddr))
		if err != nil {
			return fmt.Errorf("couldnt get datastore type with id %s", c.id(args.typeAddr))
		}
		if !slices.Contains(engines, dt.Engine) {
			return fmt.Errorf("provided datastore type must have an engine %v, has %s", engines, dt.Engine)
		}
		opts := dbaas.DatastoreCreateOpts{ProjectID: projectP, Name: args.name, TypeID: dt.ID, SubnetID: subnet,
			NodeCount: args.nodeCount, Pooler: args.pooler, Config: anyMap(args.config)}
		if args.config == nil {
			opts.Config = map[string]any{} // d.Get of an unset map
		}
		if args.flavor != nil {
			f := *args.flavor
			if f.DiskType == "" {
				f.DiskType = dbaas.DiskLocal // the schema's default
			}
			opts.Flavor = &f
		}
		if args.flavorIDAddr != "" {
			opts.FlavorID = c.id(args.flavorIDAddr)
		}
		if hasBackups {
			opts.BackupRetentionDays = cmp(args.backupDays, 7)
		}
		opts.RedisPassword = args.redisPassword
		ds, err := c.s.api.CreateDatastore(ctx, opts)
		if err != nil {
			return fmt.Errorf("error creating datastore: %w", err)
		}
		c.setID(addr, ds.ID)
		return wait(ctx)
	}
	n.read = func(ctx context.Context) error {
		ds, err := c.s.api.Datastore(ctx, c.id(addr))
		if err != nil {
			return err
		}
		var d drift
		d.check("name", ds.Name, cur.name)
		d.check("project_id", ds.ProjectID, projectP)
		d.check("subnet_id", ds.SubnetID, subnet)
		d.check("type_id", ds.TypeID, c.id(cur.typeAddr))
		d.check("node_count", ds.NodeCount, cur.nodeCount)
		if hasBackups {
			d.check("backup_retention_days", ds.BackupRetentionDays, cmp(cur.backupDays, 7))
		}
		d.check("security_groups", len(ds.SecurityGroups), 0) // not configured, not Computed
		d.check("logs", ds.LogPlatform.LogGroup, "")
		if cur.flavor != nil {
			want := *cur.flavor
			if want.DiskType == "" {
				want.DiskType = dbaas.DiskLocal
			}
			d.check("flavor", ds.Flavor, want)
		}
		if cur.flavorIDAddr != "" {
			d.check("flavor_id", ds.FlavorID, c.id(cur.flavorIDAddr))
		}
		if cur.config != nil && !maps.Equal(stringConfig(ds.Config), cur.config) {
			d.check("config", stringConfig(ds.Config), cur.config)
		}
		if ds.Status != dbaas.StatusActive || ds.Connection["master"] == "" || len(ds.Instances) != cur.nodeCount {
			d.check("status/connections/instances", fmt.Sprint(ds.Status, ds.Connection, len(ds.Instances)), "ACTIVE with addresses")
		}
		return d.err()
	}
	if next != nil {
		n.update = func(ctx context.Context) error {
			nx := next()
			id := c.id(addr)
			api := c.s.api
			if nx.name != cur.name { // updateDatastoreName
				if _, err := api.UpdateDatastore(ctx, id, dbaas.DatastoreUpdateOpts{Name: nx.name}); err != nil {
					return err
				}
				if err := wait(ctx); err != nil {
					return err
				}
			}
			if kind == "postgresql" && !poolerEqual(nx.pooler, cur.pooler) { // updatePostgreSQLDatastorePooler
				p := dbaas.DatastorePoolerOpts{}
				if nx.pooler != nil {
					p = dbaas.DatastorePoolerOpts{Mode: nx.pooler.Mode, Size: nx.pooler.Size}
				}
				if _, err := api.PoolerDatastore(ctx, id, p); err != nil {
					return err
				}
				if err := wait(ctx); err != nil {
					return err
				}
			}
			if nx.config != nil && !maps.Equal(nx.config, cur.config) { // updateDatastoreConfig
				ds, err := api.Datastore(ctx, id)
				if err != nil {
					return err
				}
				send := anyMap(nx.config)
				for k := range ds.Config {
					if _, ok := send[k]; !ok {
						send[k] = nil
					}
				}
				if _, err := api.ConfigDatastore(ctx, id, dbaas.DatastoreConfigOpts{Config: send}); err != nil {
					return err
				}
				if err := wait(ctx); err != nil {
					return err
				}
			}
			if kind == "redis" && nx.redisPassword != cur.redisPassword { // updateRedisDatastorePassword
				if _, err := api.PasswordDatastore(ctx, id, dbaas.DatastorePasswordOpts{RedisPassword: nx.redisPassword}); err != nil {
					return err
				}
				if err := wait(ctx); err != nil {
					return err
				}
			}
			if hasBackups && nx.backupDays != cur.backupDays { // updateDatastoreBackups
				if _, err := api.BackupsDatastore(ctx, id, dbaas.DatastoreBackupsOpts{BackupRetentionDays: cmp(nx.backupDays, 7)}); err != nil {
					return err
				}
				if err := wait(ctx); err != nil {
					return err
				}
			}
			cur = nx
			return nil
		}
	}
	n.del = func(ctx context.Context) error {
		id := c.id(addr)
		if err := c.s.api.DeleteDatastore(ctx, id); err != nil {
			return err
		}
		return waitGone(ctx, "datastore", func(ctx context.Context) error { _, err := c.s.api.Datastore(ctx, id); return err })
	}
	c.add(n)
	return n, &cur
}

func cmp(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func poolerEqual(a, b *dbaas.Pooler) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// firewall is selectel_dbaas_firewall_v1: its create and update send the
// list and wait for the datastore, its delete sends an empty list. Its
// Read keeps only a checksum of the datastore's rules as its ID; the list
// read back is checked here too, as the effect a user expects.
func firewall(c *config, name, dsAddr string, ips []string, next func() []string) *node {
	addr := "selectel_dbaas_firewall_v1." + name
	cur := ips
	send := func(ctx context.Context, list []string) error {
		id := c.id(dsAddr)
		if list == nil {
			list = []string{}
		}
		if _, err := c.s.api.FirewallDatastore(ctx, id, dbaas.DatastoreFirewallOpts{IPs: list}); err != nil {
			return fmt.Errorf("error updating datastore %s: %w", id, err)
		}
		return waitFor(ctx, "datastore", datastorePending, func(ctx context.Context) (dbaas.Status, error) {
			ds, err := c.s.api.Datastore(ctx, id)
			return ds.Status, err
		})
	}
	n := &node{addr: addr, deps: []string{dsAddr}}
	n.create = func(ctx context.Context) error {
		if err := send(ctx, ips); err != nil {
			return err
		}
		c.setID(addr, c.id(dsAddr))
		return nil
	}
	n.read = func(ctx context.Context) error {
		ds, err := c.s.api.Datastore(ctx, c.id(dsAddr))
		if err != nil {
			return err
		}
		var got []string
		for _, f := range ds.Firewall {
			got = append(got, f.IP)
		}
		var d drift
		d.check("ips (as the datastore reads them)", sortedCopy(got), sortedCopy(cur))
		return d.err()
	}
	if next != nil {
		n.update = func(ctx context.Context) error {
			nx := next()
			if slices.Equal(nx, cur) {
				return nil
			}
			if err := send(ctx, nx); err != nil {
				return err
			}
			cur = nx
			return nil
		}
	}
	n.del = func(ctx context.Context) error { return send(ctx, nil) }
	return c.add(n)
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// Objects inside a datastore.

// object is what every object resource shares: create, wait for ACTIVE
// (pending PENDING_CREATE and PENDING_UPDATE), read, delete, wait for 404.
type object struct {
	c       *config
	addr    string
	what    string
	get     func(ctx context.Context, id string) (dbaas.Status, error)
	deleter func(ctx context.Context, id string) error
}

func (o object) wait(ctx context.Context) error {
	id := o.c.id(o.addr)
	return waitFor(ctx, o.what, objectPending, func(ctx context.Context) (dbaas.Status, error) { return o.get(ctx, id) })
}

func (o object) del(ctx context.Context) error {
	id := o.c.id(o.addr)
	if err := o.deleter(ctx, id); err != nil {
		return fmt.Errorf("error deleting %s %s: %w", o.what, id, err)
	}
	return waitGone(ctx, o.what, func(ctx context.Context) error { _, err := o.get(ctx, id); return err })
}

// user is selectel_dbaas_user_v1; next, when set, returns the password of
// the next configuration.
func user(c *config, name, dsAddr, userName, pass string, next func() string) *node {
	addr := "selectel_dbaas_user_v1." + name
	api := c.s.api
	o := object{c: c, addr: addr, what: "user",
		get: func(ctx context.Context, id string) (dbaas.Status, error) {
			u, err := api.User(ctx, id)
			return u.Status, err
		},
		deleter: api.DeleteUser}
	cur := pass
	n := &node{addr: addr, deps: []string{dsAddr}, del: o.del}
	n.create = func(ctx context.Context) error {
		u, err := api.CreateUser(ctx, dbaas.UserCreateOpts{DatastoreID: c.id(dsAddr), Name: userName, Password: pass})
		if err != nil {
			return fmt.Errorf("error creating user: %w", err)
		}
		c.setID(addr, u.ID)
		return o.wait(ctx)
	}
	n.read = func(ctx context.Context) error {
		u, err := api.User(ctx, c.id(addr))
		if err != nil {
			return err
		}
		var d drift
		d.check("datastore_id", u.DatastoreID, c.id(dsAddr))
		d.check("name", u.Name, userName)
		return d.err()
	}
	if next != nil {
		n.update = func(ctx context.Context) error {
			nx := next()
			if nx == cur {
				return nil
			}
			if _, err := api.UpdateUser(ctx, c.id(addr), dbaas.UserUpdateOpts{Password: nx}); err != nil {
				return err
			}
			cur = nx
			return o.wait(ctx)
		}
	}
	return c.add(n)
}

// pgDatabase is selectel_dbaas_postgresql_database_v1 (with an owner and
// a locale); next, when set, returns the owner's address in the next
// configuration. mysqlDatabase is selectel_dbaas_mysql_database_v1.
func pgDatabase(c *config, name, dsAddr, dbName, ownerAddr, locale string, next func() string) *node {
	return database(c, "selectel_dbaas_postgresql_database_v1."+name, dsAddr, dbName, ownerAddr, locale, next)
}

func mysqlDatabase(c *config, name, dsAddr, dbName string) *node {
	return database(c, "selectel_dbaas_mysql_database_v1."+name, dsAddr, dbName, "", "", nil)
}

func database(c *config, addr, dsAddr, dbName, ownerAddr, locale string, next func() string) *node {
	api := c.s.api
	o := object{c: c, addr: addr, what: "database",
		get: func(ctx context.Context, id string) (dbaas.Status, error) {
			x, err := api.Database(ctx, id)
			return x.Status, err
		},
		deleter: api.DeleteDatabase}
	deps := []string{dsAddr}
	if ownerAddr != "" {
		deps = append(deps, ownerAddr)
	}
	owner := ownerAddr
	n := &node{addr: addr, deps: deps, del: o.del}
	n.create = func(ctx context.Context) error {
		opts := dbaas.DatabaseCreateOpts{DatastoreID: c.id(dsAddr), Name: dbName, LcCollate: locale, LcCtype: locale}
		if ownerAddr != "" {
			opts.OwnerID = c.id(ownerAddr)
		}
		x, err := api.CreateDatabase(ctx, opts)
		if err != nil {
			return fmt.Errorf("error creating database: %w", err)
		}
		c.setID(addr, x.ID)
		return o.wait(ctx)
	}
	n.read = func(ctx context.Context) error {
		x, err := api.Database(ctx, c.id(addr))
		if err != nil {
			return err
		}
		var d drift
		d.check("datastore_id", x.DatastoreID, c.id(dsAddr))
		d.check("name", x.Name, dbName)
		if owner != "" {
			d.check("owner_id", x.OwnerID, c.id(owner))
		}
		if locale != "" {
			d.check("lc_collate", x.LcCollate, locale)
			d.check("lc_ctype", x.LcCtype, locale)
		}
		return d.err()
	}
	if next != nil {
		n.update = func(ctx context.Context) error {
			nx := next()
			if nx == owner {
				return nil
			}
			if _, err := api.UpdateDatabase(ctx, c.id(addr), dbaas.DatabaseUpdateOpts{OwnerID: c.id(nx)}); err != nil {
				return err
			}
			owner = nx
			return o.wait(ctx)
		}
	}
	return c.add(n)
}

// grant is selectel_dbaas_grant_v1.
func grant(c *config, name, dsAddr, dbAddr, userAddr string) *node {
	addr := "selectel_dbaas_grant_v1." + name
	api := c.s.api
	o := object{c: c, addr: addr, what: "grant",
		get: func(ctx context.Context, id string) (dbaas.Status, error) {
			x, err := api.Grant(ctx, id)
			return x.Status, err
		},
		deleter: api.DeleteGrant}
	return c.add(&node{addr: addr, deps: []string{dsAddr, dbAddr, userAddr}, del: o.del,
		create: func(ctx context.Context) error {
			x, err := api.CreateGrant(ctx, dbaas.GrantCreateOpts{DatastoreID: c.id(dsAddr), DatabaseID: c.id(dbAddr), UserID: c.id(userAddr)})
			if err != nil {
				return fmt.Errorf("error creating grant: %w", err)
			}
			c.setID(addr, x.ID)
			return o.wait(ctx)
		},
		read: func(ctx context.Context) error {
			x, err := api.Grant(ctx, c.id(addr))
			if err != nil {
				return err
			}
			var d drift
			d.check("user_id", x.UserID, c.id(userAddr))
			d.check("database_id", x.DatabaseID, c.id(dbAddr))
			d.check("datastore_id", x.DatastoreID, c.id(dsAddr))
			return d.err()
		}})
}

// extension is selectel_dbaas_postgresql_extension_v1.
func extension(c *config, name, dsAddr, dbAddr, availAddr string) *node {
	addr := "selectel_dbaas_postgresql_extension_v1." + name
	api := c.s.api
	o := object{c: c, addr: addr, what: "extension",
		get: func(ctx context.Context, id string) (dbaas.Status, error) {
			x, err := api.Extension(ctx, id)
			return x.Status, err
		},
		deleter: api.DeleteExtension}
	return c.add(&node{addr: addr, deps: []string{dsAddr, dbAddr, availAddr}, del: o.del,
		create: func(ctx context.Context) error {
			x, err := api.CreateExtension(ctx, dbaas.ExtensionCreateOpts{AvailableExtensionID: c.id(availAddr),
				DatastoreID: c.id(dsAddr), DatabaseID: c.id(dbAddr)})
			if err != nil {
				return fmt.Errorf("error creating extension: %w", err)
			}
			c.setID(addr, x.ID)
			return o.wait(ctx)
		},
		read: func(ctx context.Context) error {
			x, err := api.Extension(ctx, c.id(addr))
			if err != nil {
				return err
			}
			var d drift
			d.check("available_extension_id", x.AvailableExtensionID, c.id(availAddr))
			d.check("datastore_id", x.DatastoreID, c.id(dsAddr))
			d.check("database_id", x.DatabaseID, c.id(dbAddr))
			return d.err()
		}})
}

// slot is selectel_dbaas_postgresql_logical_replication_slot_v1.
func slot(c *config, name, dsAddr, dbAddr, slotName string) *node {
	addr := "selectel_dbaas_postgresql_logical_replication_slot_v1." + name
	api := c.s.api
	o := object{c: c, addr: addr, what: "logical replication slot",
		get: func(ctx context.Context, id string) (dbaas.Status, error) {
			x, err := api.LogicalReplicationSlot(ctx, id)
			return x.Status, err
		},
		deleter: api.DeleteLogicalReplicationSlot}
	return c.add(&node{addr: addr, deps: []string{dsAddr, dbAddr}, del: o.del,
		create: func(ctx context.Context) error {
			x, err := api.CreateLogicalReplicationSlot(ctx, dbaas.LogicalReplicationSlotCreateOpts{Name: slotName,
				DatastoreID: c.id(dsAddr), DatabaseID: c.id(dbAddr)})
			if err != nil {
				return fmt.Errorf("error creating logical replication slot: %w", err)
			}
			c.setID(addr, x.ID)
			return o.wait(ctx)
		},
		read: func(ctx context.Context) error {
			x, err := api.LogicalReplicationSlot(ctx, c.id(addr))
			if err != nil {
				return err
			}
			var d drift
			d.check("name", x.Name, slotName)
			d.check("datastore_id", x.DatastoreID, c.id(dsAddr))
			d.check("database_id", x.DatabaseID, c.id(dbAddr))
			return d.err()
		}})
}

// topic is selectel_dbaas_kafka_topic_v1; next returns the partitions of
// the next configuration.
func topic(c *config, name, dsAddr, topicName string, partitions int, next func() int) *node {
	addr := "selectel_dbaas_kafka_topic_v1." + name
	api := c.s.api
	o := object{c: c, addr: addr, what: "topic",
		get: func(ctx context.Context, id string) (dbaas.Status, error) {
			x, err := api.Topic(ctx, id)
			return x.Status, err
		},
		deleter: api.DeleteTopic}
	cur := partitions
	n := &node{addr: addr, deps: []string{dsAddr}, del: o.del}
	n.create = func(ctx context.Context) error {
		x, err := api.CreateTopic(ctx, dbaas.TopicCreateOpts{DatastoreID: c.id(dsAddr), Name: topicName, Partitions: uint16(partitions)})
		if err != nil {
			return fmt.Errorf("error creating topic: %w", err)
		}
		c.setID(addr, x.ID)
		return o.wait(ctx)
	}
	n.read = func(ctx context.Context) error {
		x, err := api.Topic(ctx, c.id(addr))
		if err != nil {
			return err
		}
		var d drift
		d.check("datastore_id", x.DatastoreID, c.id(dsAddr))
		d.check("name", x.Name, topicName)
		d.check("partitions", x.Partitions, cur)
		return d.err()
	}
	if next != nil {
		n.update = func(ctx context.Context) error {
			nx := next()
			if nx == cur {
				return nil
			}
			if _, err := api.UpdateTopic(ctx, c.id(addr), dbaas.TopicUpdateOpts{Partitions: uint16(nx)}); err != nil {
				return err
			}
			cur = nx
			return o.wait(ctx)
		}
	}
	return c.add(n)
}

// acl is selectel_dbaas_kafka_acl_v1 on a topic; next returns allow_read
// and allow_write of the next configuration.
func acl(c *config, name, dsAddr, userAddr, topicAddr, pattern string, read, write bool, next func() (bool, bool)) *node {
	addr := "selectel_dbaas_kafka_acl_v1." + name
	api := c.s.api
	o := object{c: c, addr: addr, what: "ACL",
		get: func(ctx context.Context, id string) (dbaas.Status, error) {
			x, err := api.ACL(ctx, id)
			return x.Status, err
		},
		deleter: api.DeleteACL}
	cr, cw := read, write
	n := &node{addr: addr, deps: []string{dsAddr, userAddr, topicAddr}, del: o.del}
	n.create = func(ctx context.Context) error {
		x, err := api.CreateACL(ctx, dbaas.ACLCreateOpts{DatastoreID: c.id(dsAddr), UserID: c.id(userAddr), Pattern: pattern,
			PatternType: "literal", AllowRead: read, AllowWrite: write})
		if err != nil {
			return fmt.Errorf("error creating ACL: %w", err)
		}
		c.setID(addr, x.ID)
		return o.wait(ctx)
	}
	n.read = func(ctx context.Context) error {
		x, err := api.ACL(ctx, c.id(addr))
		if err != nil {
			return err
		}
		var d drift
		d.check("datastore_id", x.DatastoreID, c.id(dsAddr))
		d.check("pattern", x.Pattern, pattern)
		d.check("pattern_type", x.PatternType, "literal")
		d.check("allow_read", x.AllowRead, cr)
		d.check("allow_write", x.AllowWrite, cw)
		return d.err()
	}
	if next != nil {
		n.update = func(ctx context.Context) error {
			nr, nw := next()
			if nr == cr && nw == cw {
				return nil
			}
			if _, err := api.UpdateACL(ctx, c.id(addr), dbaas.ACLUpdateOpts{AllowRead: nr, AllowWrite: nw}); err != nil {
				return err
			}
			cr, cw = nr, nw
			return o.wait(ctx)
		}
	}
	return c.add(n)
}

// metricToken is selectel_dbaas_prometheus_metric_token_v1 (no status to
// wait for); next returns the name of the next configuration.
func metricToken(c *config, name, tokenName string, next func() string) *node {
	addr := "selectel_dbaas_prometheus_metric_token_v1." + name
	api := c.s.api
	cur := tokenName
	n := &node{addr: addr}
	n.create = func(ctx context.Context) error {
		x, err := api.CreatePrometheusMetricToken(ctx, dbaas.PrometheusMetricTokenCreateOpts{Name: tokenName})
		if err != nil {
			return fmt.Errorf("error creating prometheus metric token: %w", err)
		}
		c.setID(addr, x.ID)
		return nil
	}
	n.read = func(ctx context.Context) error {
		x, err := api.PrometheusMetricToken(ctx, c.id(addr))
		if err != nil {
			return err
		}
		var d drift
		d.check("name", x.Name, cur)
		return d.err()
	}
	if next != nil {
		n.update = func(ctx context.Context) error {
			nx := next()
			if nx == cur {
				return nil
			}
			if _, err := api.UpdatePrometheusMetricToken(ctx, c.id(addr), dbaas.PrometheusMetricTokenUpdateOpts{Name: nx}); err != nil {
				return err
			}
			cur = nx
			return nil
		}
	}
	n.del = func(ctx context.Context) error {
		id := c.id(addr)
		if err := api.DeletePrometheusMetricToken(ctx, id); err != nil {
			return err
		}
		return waitGone(ctx, "prometheus metric token", func(ctx context.Context) error {
			_, err := api.PrometheusMetricToken(ctx, id)
			return err
		})
	}
	return c.add(n)
}

// anyMap is the provider's config map (map[string]interface{} of strings).
func anyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
