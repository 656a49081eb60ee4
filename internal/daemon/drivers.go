package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/kafka"
	"github.com/dbaasd/dbaasd/internal/engine/kuberedis"
	"github.com/dbaasd/dbaasd/internal/engine/mysql"
	"github.com/dbaasd/dbaasd/internal/engine/postgres"
	"github.com/dbaasd/dbaasd/internal/engine/redis"
	"github.com/dbaasd/dbaasd/internal/service"
)

// Subcommands of the dbaasd binary that engine drivers run as processes
// of their own, so they outlive dbaasd like the engines do.
const (
	SubcommandKafkaBroker    = "kafka-broker"
	SubcommandRedisForwarder = redis.ForwarderSubcommand
	// SubcommandRedisSeed puts a restore's snapshot on the first volume
	// of a Redis datastore on Kubernetes (its pods' init container).
	SubcommandRedisSeed = kuberedis.SeedSubcommand
)

// RunSubcommand runs the dbaasd subcommand named by args[0] (a Kafka
// broker, a Redis firewall forwarder) and reports true; it reports false
// when args name none, so the caller serves instead. The command and the
// test binaries that start dbaasd both dispatch through here.
func RunSubcommand(args []string) (bool, error) {
	if len(args) == 0 {
		return false, nil
	}
	switch args[0] {
	case SubcommandKafkaBroker:
		return true, kafka.RunBroker(args[1:])
	case SubcommandRedisForwarder:
		return true, redis.RunForwarder(args[1:])
	case SubcommandRedisSeed:
		return true, kuberedis.RunSeed(args[1:])
	}
	return false, nil
}

// LocalDrivers returns the drivers that run engines on this machine, with
// their prepared templates under templates. self is the command that runs this dbaasd binary (for the Kafka broker
// and the Redis firewall forwarder); env is extra environment for it.
func LocalDrivers(templates string, self []string, env []string, log *slog.Logger) (map[string]engine.Driver, error) {
	k, err := kafka.New(kafka.Options{
		BrokerCommand: append(append([]string{}, self...), SubcommandKafkaBroker), BrokerEnv: env, Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("kafka driver: %w", err)
	}
	return map[string]engine.Driver{
		engine.PostgreSQL:  postgres.New(postgres.Options{TemplateDir: filepath.Join(templates, "postgresql"), Logger: log}),
		engine.MySQLNative: mysql.New(mysql.Options{Mode: mysql.ModeNative, TemplateDir: filepath.Join(templates, "mysql"), Logger: log}),
		engine.MySQL:       mysql.New(mysql.Options{Mode: mysql.ModeSync, TemplateDir: filepath.Join(templates, "mysql"), Logger: log}),
		engine.Redis: redis.New(redis.Options{Logger: log,
			ForwarderCommand: append(append([]string{}, self...), SubcommandRedisForwarder), ForwarderEnv: env}),
		engine.Kafka: k,
	}, nil
}

// Capabilities derives what applies to each engine from what its driver
// implements.
func Capabilities(drivers map[string]engine.Driver) map[string]service.Capabilities {
	out := map[string]service.Capabilities{}
	for name, d := range drivers {
		_, users := d.(engine.UserManager)
		_, dbs := d.(engine.DatabaseManager)
		_, exts := d.(engine.ExtensionManager)
		_, slots := d.(engine.SlotManager)
		_, topics := d.(engine.TopicManager)
		_, acls := d.(engine.ACLManager)
		_, pw := d.(engine.PasswordSetter)
		_, backups := d.(engine.Backuper)
		ra, ok := d.(engine.RetentionApplier)
		out[name] = service.Capabilities{Users: users, Databases: dbs, Extensions: exts, Slots: slots,
			Topics: topics, ACLs: acls, Password: pw, Pooler: name == engine.PostgreSQL,
			Retention: ok && ra.AppliesRetention(), Backups: backups}
	}
	return out
}

// Validators returns the drivers that check requests against their engine
// before dbaasd accepts them, by engine name.
func Validators(drivers map[string]engine.Driver) map[string]engine.Validator {
	out := map[string]engine.Validator{}
	for name, d := range drivers {
		if v, ok := d.(engine.Validator); ok {
			out[name] = v
		}
	}
	return out
}

// DiskValidators returns the drivers that check whether a datastore's
// disks can grow, by engine name.
func DiskValidators(drivers map[string]engine.Driver) map[string]engine.DiskValidator {
	out := map[string]engine.DiskValidator{}
	for name, d := range drivers {
		if v, ok := d.(engine.DiskValidator); ok {
			out[name] = v
		}
	}
	return out
}

// withoutEngineProcesses is a Validator that checks names and firewall
// entries (in Go) but accepts every configuration, whose check starts a
// scratch server of the engine (see Config.Recorded).
type withoutEngineProcesses struct{ engine.Validator }

func (withoutEngineProcesses) ValidateConfig(context.Context, *engine.Cluster, []string) error {
	return nil
}
