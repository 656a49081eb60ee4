package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// startScratch starts a scratch mariadbd for what (reading the catalog,
// checking a configuration) with args in dir and waits until it answers on
// sock. It
// is a tool, not a proc.Daemon: it runs as the driver's runner and dies
// with dbaasd (Runner.Command). When it exits before it answers, the error
// is exited's, given what the server printed. stop ends the server
// (SIGTERM, SIGKILL after 30 seconds) and closes db.
func (d *Driver) startScratch(ctx context.Context, what, bin, dir, sock string, args []string, exited func(output string) error) (db *sql.DB, stop func(), err error) {
	cmd := d.runner.Command(context.WithoutCancel(ctx), bin, args...)
	cmd.Dir = dir
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("%s: start mariadbd: %w", what, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	db = openSocket(sock, "", time.Second)
	stop = func() {
		_ = db.Close()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	for {
		if err := db.PingContext(ctx); err == nil {
			return db, stop, nil
		}
		select {
		case <-done:
			stop()
			return nil, nil, exited(out.String())
		case <-ctx.Done():
			stop()
			return nil, nil, fmt.Errorf("%s: mariadbd did not start: %w", what, ctx.Err())
		case <-time.After(proc.Poll):
		}
	}
}
