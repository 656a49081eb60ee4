package kafka

import (
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// defaultRetentionCheck is Kafka's log.retention.check.interval.ms default.
const defaultRetentionCheck = 5 * time.Minute

// RunBroker is the main of the `dbaasd kafka-broker` subcommand: it runs the
// Kafka-protocol brokers of one datastore in this process until SIGTERM.
//
// args is either a single path to the JSON configuration the driver wrote,
// or "--version", which prints what the broker emulates and exits.
//
// The process hosts one kfake broker per node, each on its node's address,
// with SASL/SCRAM, ACL enforcement and kfake's disk persistence in the
// configured data directory. It writes a pid file and a status file once it
// listens, re-reads the firewall and the retention check interval on SIGHUP,
// and on SIGTERM or SIGINT flushes its state to disk, removes the pid file
// and returns nil.
func RunBroker(args []string) error {
	if len(args) == 1 && (args[0] == "--version" || args[0] == "-version") {
		return printVersion(os.Stdout)
	}
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		return errors.New("usage: kafka-broker CONFIG.json | --version")
	}
	// Everything this process creates (data, state, pid files) is for the
	// engine user only: kfake's sasl.json holds salted passwords, which
	// are enough to authenticate with SCRAM.
	syscall.Umask(0o077)
	logger := log.New(os.Stderr, "kafka-broker: ", log.LstdFlags|log.LUTC)
	b := &broker{path: args[0], log: logger}
	return b.run()
}

// broker is one running kafka-broker process.
type broker struct {
	path string
	log  *log.Logger

	cfg     *brokerConfig
	digest  string
	fw      *firewall
	cluster *kfake.Cluster

	retention chan time.Duration
}

func (b *broker) run() error {
	cfg, digest, err := loadBrokerConfig(b.path)
	if err != nil {
		return err
	}
	b.cfg, b.digest = cfg, digest
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	if pid := (&proc.Daemon{PidFile: cfg.PidFile, Recognise: brokerOf(b.path)}).Running(); pid > 0 && pid != os.Getpid() {
		return fmt.Errorf("a broker already runs with pid %d (%s)", pid, cfg.PidFile)
	}
	if err := resetSuperuser(cfg.DataDir, cfg.SuperUser, cfg.SuperPassword); err != nil {
		return err
	}

	var hosts []string
	for _, l := range cfg.Listeners {
		hosts = append(hosts, l.Host)
		hosts = append(hosts, l.Extra...)
	}
	b.fw = newFirewall(hosts, b.log.Printf)
	list, _ := parseAllowList(cfg.Firewall) // checked by loadBrokerConfig
	b.fw.set(list)

	opts, err := b.options()
	if err != nil {
		return err
	}
	b.cluster, err = kfake.NewCluster(opts...)
	if err != nil {
		return fmt.Errorf("start kfake: %w", err)
	}

	if cfg.KafkaVersion != "" && versionLess(cfg.KafkaVersion, "4.0") {
		if err := advertiseSaslHandshakeV0(b.cluster, firstListenAddr(cfg)); err != nil {
			b.log.Printf("cannot advertise SaslHandshake v0 for Kafka %s clients: %v", cfg.KafkaVersion, err)
		}
	}

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)

	if err := b.writeState(); err != nil {
		b.cluster.Close()
		return err
	}
	b.log.Printf("serving %d broker(s) at %s, data in %s", len(cfg.Listeners), strings.Join(b.cluster.ListenAddrs(), ", "), cfg.DataDir)

	b.retention = make(chan time.Duration, 1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	every := retentionInterval(cfg)
	go func() { defer wg.Done(); b.retentionLoop(every, stop) }()

	for sig := range sigs {
		if sig == syscall.SIGHUP {
			b.reload()
			continue
		}
		b.log.Printf("%s: flushing state to %s and stopping", sig, cfg.DataDir)
		break
	}
	close(stop)
	wg.Wait()
	b.cluster.Close()
	b.removeState()
	b.log.Printf("stopped")
	return nil
}

// options builds kfake's options from the configuration.
func (b *broker) options() ([]kfake.Opt, error) {
	cfg := b.cfg
	ports := make([]int, len(cfg.Listeners))
	for i, l := range cfg.Listeners {
		ports[i] = l.Port
	}
	// kfake calls ListenFn once per broker, in order, with a loopback
	// address of its own; we listen on the node's addresses instead.
	var mu sync.Mutex
	next := 0
	listen := func(_, _ string) (net.Listener, error) {
		mu.Lock()
		i := next
		next++
		mu.Unlock()
		if i >= len(cfg.Listeners) {
			return nil, fmt.Errorf("no listener configured for broker %d", i)
		}
		l := cfg.Listeners[i]
		return listenFiltered(l.Host, l.Port, l.Extra, b.fw)
	}
	opts := []kfake.Opt{
		kfake.Ports(ports...),
		kfake.ListenFn(listen),
		kfake.ClusterID(cfg.ClusterID),
		kfake.EnableSASL(),
		kfake.EnableACLs(),
		kfake.Superuser(mechScram512, cfg.SuperUser, cfg.SuperPassword),
		kfake.Superuser(mechScram256, cfg.SuperUser, cfg.SuperPassword),
		kfake.DataDir(cfg.DataDir),
		kfake.WithLogger(kfake.BasicLogger(os.Stderr, kfake.LogLevelWarn)),
	}
	if cfg.SyncWrites {
		opts = append(opts, kfake.SyncWrites())
	}
	if cfg.KafkaVersion != "" {
		v := kversion.FromString(cfg.KafkaVersion)
		if v == nil {
			return nil, fmt.Errorf("unknown Kafka version %q", cfg.KafkaVersion)
		}
		opts = append(opts, kfake.MaxVersions(v))
	}
	if len(cfg.BrokerConfigs) > 0 {
		opts = append(opts, kfake.BrokerConfigs(cfg.BrokerConfigs))
	}
	return opts, nil
}

// reload re-reads the configuration file for what can change without a
// restart (the firewall, the retention check interval) and reports the
// applied file in the status file. A file that needs a restart to apply is
// left for the driver, which restarts the process.
func (b *broker) reload() {
	cfg, digest, err := loadBrokerConfig(b.path)
	if err != nil {
		b.log.Printf("SIGHUP: keeping the current configuration: %v", err)
		return
	}
	if cfg.restartKey() != b.cfg.restartKey() {
		b.log.Printf("SIGHUP: the new configuration needs a restart; applying only its firewall")
	}
	list, _ := parseAllowList(cfg.Firewall)
	b.fw.set(list)
	select {
	case b.retention <- retentionInterval(cfg):
	default:
	}
	b.cfg.Firewall, b.cfg.RetentionCheckMs = cfg.Firewall, cfg.RetentionCheckMs
	b.digest = digest
	if err := b.writeStatus(); err != nil {
		b.log.Printf("SIGHUP: %v", err)
		return
	}
	b.log.Printf("SIGHUP: firewall now allows %s", describeFirewall(cfg.Firewall))
}

func describeFirewall(l []string) string {
	if len(l) == 0 {
		return "every address"
	}
	return strings.Join(l, ", ")
}

func retentionInterval(cfg *brokerConfig) time.Duration {
	if cfg.RetentionCheckMs > 0 {
		return time.Duration(cfg.RetentionCheckMs) * time.Millisecond
	}
	return defaultRetentionCheck
}

// retentionLoop enforces log.retention.ms/bytes on every topic. kfake only
// runs retention by itself for topics with retention overrides of their
// own, so the broker-wide settings need this loop.
func (b *broker) retentionLoop(every time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case d := <-b.retention:
			t.Reset(d)
		case <-t.C:
			b.cluster.ApplyRetention()
		}
	}
}

// writeState writes the pid file, then the status file.
func (b *broker) writeState() error {
	if err := writeFileAtomic(b.cfg.PidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	return b.writeStatus()
}

func (b *broker) writeStatus() error {
	data, _ := json.Marshal(brokerStatus{PID: os.Getpid(), RestartKey: b.cfg.restartKey(), ConfigDigest: b.digest})
	if err := writeFileAtomic(b.cfg.StatusFile, data, 0o600); err != nil {
		return fmt.Errorf("write status file: %w", err)
	}
	return nil
}

// removeState removes the pid and status files if they are still ours.
func (b *broker) removeState() {
	if proc.ReadPidFile(b.cfg.PidFile) == os.Getpid() {
		_ = os.Remove(b.cfg.PidFile)
	}
	if s, err := readStatus(b.cfg.StatusFile); err == nil && s.PID == os.Getpid() {
		_ = os.Remove(b.cfg.StatusFile)
	}
}
