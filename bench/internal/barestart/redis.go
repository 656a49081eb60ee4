package barestart

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// startRedis starts redis-server on the command line (no persistence)
// until it answers PING.
func startRedis(ctx context.Context, o Options) (*Server, error) {
	bin, err := proc.FindBinary("redis-server")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(o.Dir, "redis.log")
	pid, err := o.Runner.StartDaemon(bin, []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--dir", o.Dir, "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no",
		"--logfile", logPath}, o.Dir, filepath.Join(o.Dir, "stdout.log"))
	if err != nil {
		return nil, fmt.Errorf("bare redis: %w", err)
	}
	s := &Server{Engine: "redis", Dir: o.Dir, Port: port, PID: pid, stop: terminate(pid)}
	err = poll(ctx, time.Minute, "bare redis-server", func(ctx context.Context) error {
		if !proc.Alive(pid) {
			return fmt.Errorf("redis-server exited: %s", logTail(logPath))
		}
		return ping(ctx, addr(port))
	})
	if err != nil {
		_ = s.Stop(ctx)
		return nil, err
	}
	return s, nil
}

// ping sends the Redis PING command and wants +PONG.
func ping(ctx context.Context, address string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", address)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}
