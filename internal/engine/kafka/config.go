package kafka

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// brokerConfig is the file the driver writes and the broker process reads
// (JSON, mode 0600, owned by the engine user: it holds the superuser's
// password). Fields marked "restart" need a new process to change; the
// others are re-read on SIGHUP or applied over the wire by the driver.
type brokerConfig struct {
	// ClusterID is reported in metadata (restart; kfake keeps the first
	// one it persisted).
	ClusterID string `json:"cluster_id"`
	// DataDir is kfake's persistence directory (restart).
	DataDir string `json:"data_dir"`
	// PidFile is written once the brokers listen and removed on a clean
	// exit (restart).
	PidFile string `json:"pid_file"`
	// StatusFile is rewritten after every (re)load so that the driver can
	// tell which configuration the running process applied (restart).
	StatusFile string `json:"status_file"`
	// Listeners has one entry per broker, in node order (restart).
	Listeners []listenerConfig `json:"listeners"`
	// SuperUser and SuperPassword are the SCRAM superuser dbaasd connects
	// as (restart).
	SuperUser     string `json:"super_user"`
	SuperPassword string `json:"super_password"`
	// KafkaVersion, when set, caps the advertised API versions to that
	// Kafka release (kversion.FromString syntax, e.g. "3.7") (restart).
	KafkaVersion string `json:"kafka_version,omitempty"`
	// SyncWrites fsyncs every produced batch (restart).
	SyncWrites bool `json:"sync_writes,omitempty"`
	// BrokerConfigs are kfake broker configs applied at start; an empty
	// value resets that key to its default. The driver also applies them
	// over the wire to a running broker.
	BrokerConfigs map[string]string `json:"broker_configs,omitempty"`
	// Firewall is the list of IPs/CIDRs allowed to connect; empty lets
	// every address in (reloaded on SIGHUP).
	Firewall []string `json:"firewall,omitempty"`
	// RetentionCheckMs is how often the broker enforces retention
	// (log.retention.check.interval.ms; reloaded on SIGHUP).
	RetentionCheckMs int64 `json:"retention_check_ms,omitempty"`
}

// listenerConfig is one broker of the process.
type listenerConfig struct {
	NodeID string `json:"node_id"`
	// Host and Port are where the broker listens and what it advertises.
	Host string `json:"host"`
	Port int    `json:"port"`
	// Extra are more hosts the broker also listens on, at the same port
	// (the node's floating IP).
	Extra []string `json:"extra,omitempty"`
	// Dir is the node's directory; the broker ignores it, the driver uses
	// it to clean up nodes that left the cluster.
	Dir string `json:"dir"`
}

// restartKey identifies everything that needs a new broker process to
// change. Both the broker (which records the key of the configuration it
// started with in its status file) and the driver (which compares it with
// the desired one) compute it. The superuser password enters only as a
// digest; the status file lives in a directory only the engine user reads.
func (b *brokerConfig) restartKey() string {
	type listener struct {
		Host  string
		Port  int
		Extra []string
	}
	k := struct {
		ClusterID, DataDir, PidFile, StatusFile string
		Listeners                               []listener
		SuperUser                               string
		SuperPassword                           [32]byte
		KafkaVersion                            string
		SyncWrites                              bool
	}{
		ClusterID: b.ClusterID, DataDir: b.DataDir, PidFile: b.PidFile, StatusFile: b.StatusFile,
		SuperUser: b.SuperUser, SuperPassword: sha256.Sum256([]byte(b.SuperPassword)),
		KafkaVersion: b.KafkaVersion, SyncWrites: b.SyncWrites,
	}
	for _, l := range b.Listeners {
		k.Listeners = append(k.Listeners, listener{l.Host, l.Port, l.Extra})
	}
	data, _ := json.Marshal(k)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// encode returns the file content for the configuration.
func (b *brokerConfig) encode() []byte {
	data, _ := json.MarshalIndent(b, "", "  ")
	return append(data, '\n')
}

// contentDigest is the SHA-256 of a configuration file's bytes; the broker
// reports the digest of the file it last applied.
func contentDigest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// loadBrokerConfig reads and checks a configuration file, returning its
// digest too.
func loadBrokerConfig(path string) (*brokerConfig, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("read broker config: %w", err)
	}
	var b brokerConfig
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, "", fmt.Errorf("parse broker config %s: %w", path, err)
	}
	if err := b.check(); err != nil {
		return nil, "", fmt.Errorf("broker config %s: %w", path, err)
	}
	return &b, contentDigest(data), nil
}

// check reports a configuration the broker cannot run with.
func (b *brokerConfig) check() error {
	switch {
	case len(b.Listeners) == 0:
		return errors.New("no listeners")
	case b.DataDir == "":
		return errors.New("no data_dir")
	case b.PidFile == "" || b.StatusFile == "":
		return errors.New("no pid_file or status_file")
	case b.SuperUser == "" || b.SuperPassword == "":
		return errors.New("no super_user or super_password")
	}
	for i, l := range b.Listeners {
		if l.Host == "" || l.Port <= 0 || l.Port > 65535 {
			return fmt.Errorf("listener %d: bad address %q:%d", i, l.Host, l.Port)
		}
	}
	if _, err := parseAllowList(b.Firewall); err != nil {
		return err
	}
	return nil
}

// brokerStatus is what a running broker process reports in its status file.
type brokerStatus struct {
	PID        int    `json:"pid"`
	RestartKey string `json:"restart_key"`
	// ConfigDigest is the digest of the configuration file last applied.
	ConfigDigest string `json:"config_digest"`
}

func readStatus(path string) (brokerStatus, error) {
	var s brokerStatus
	data, err := os.ReadFile(path)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("parse %s: %w", path, err)
	}
	return s, nil
}

// writeFileAtomic writes a file of the broker process (which already runs
// as the engine user) via a temporary file and a rename.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
