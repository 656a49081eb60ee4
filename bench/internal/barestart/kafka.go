package barestart

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/dbaasd/dbaasd/internal/engine/kafka"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// brokerConfig is the minimal configuration file of `dbaasd kafka-broker`
// (the fields the broker requires; see internal/engine/kafka/config.go).
type brokerConfig struct {
	ClusterID     string           `json:"cluster_id"`
	DataDir       string           `json:"data_dir"`
	PidFile       string           `json:"pid_file"`
	StatusFile    string           `json:"status_file"`
	Listeners     []brokerListener `json:"listeners"`
	SuperUser     string           `json:"super_user"`
	SuperPassword string           `json:"super_password"`
}

type brokerListener struct {
	NodeID string `json:"node_id"`
	Host   string `json:"host"`
	Port   int    `json:"port"`
	Dir    string `json:"dir"`
}

// startKafka starts `dbaasd kafka-broker` on a hand-written configuration
// until the SCRAM superuser gets a metadata answer.
func startKafka(ctx context.Context, o Options) (*Server, error) {
	if o.DbaasdBin == "" {
		return nil, errors.New("bare kafka: no dbaasd binary")
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	password := "bare-" + uuid.NewString()[:8]
	cfg := brokerConfig{
		ClusterID: uuid.NewString(), DataDir: filepath.Join(o.Dir, "data"),
		PidFile: filepath.Join(o.Dir, "broker.pid"), StatusFile: filepath.Join(o.Dir, "broker.status.json"),
		Listeners: []brokerListener{{NodeID: uuid.NewString(), Host: "127.0.0.1", Port: port, Dir: o.Dir}},
		SuperUser: kafka.SuperUser, SuperPassword: password,
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(o.Dir, "broker.json")
	if _, err := o.Runner.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("bare kafka: %w", err)
	}
	logPath := filepath.Join(o.Dir, "broker.log")
	pid, err := o.Runner.StartDaemon(o.DbaasdBin, []string{"kafka-broker", path}, o.Dir, logPath)
	if err != nil {
		return nil, fmt.Errorf("bare kafka: %w", err)
	}
	s := &Server{Engine: "kafka", Dir: o.Dir, Port: port, PID: pid, stop: terminate(pid)}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr(port)),
		kgo.SASL(scram.Auth{User: kafka.SuperUser, Pass: password}.AsSha512Mechanism()))
	if err != nil {
		_ = s.Stop(ctx)
		return nil, fmt.Errorf("bare kafka: %w", err)
	}
	defer cl.Close()
	err = poll(ctx, time.Minute, "bare kafka broker", func(ctx context.Context) error {
		if !proc.Alive(pid) {
			return fmt.Errorf("broker exited: %s", logTail(logPath))
		}
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		return cl.Ping(pctx)
	})
	if err != nil {
		_ = s.Stop(ctx)
		return nil, err
	}
	return s, nil
}
