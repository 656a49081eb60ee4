// Command dbaasd serves the Managed Databases API v1 and runs the database
// clusters it manages on this machine.
//
//	dbaasd [flags]                 serve (see dbaasd -h)
//	dbaasd kafka-broker CONFIG     run one Kafka broker (started by dbaasd)
//	dbaasd redis-forwarder ARGS    run one firewall forwarder (started by dbaasd)
//
// Every flag can also be set with an environment variable DBAAS_<FLAG>
// (upper case, dashes as underscores), e.g. DBAAS_LISTEN=127.0.0.1:8080.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/dbaasd/dbaasd/internal/daemon"
)

func main() {
	if ok, err := daemon.RunSubcommand(os.Args[1:]); ok {
		exit(err)
	}
	cfg, err := parseConfig(os.Args[1:], os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dbaasd:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	d, err := daemon.New(ctx, cfg)
	if err != nil {
		exit(err)
	}
	// exit ends the process, so the store is closed here rather than deferred.
	err = d.Run(ctx)
	if cerr := d.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close store: %w", cerr)
	}
	exit(err)
}

func exit(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "dbaasd:", err)
		os.Exit(1)
	}
	os.Exit(0)
}
