package kafka

import (
	"strings"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func TestConformance(t *testing.T) {
	enginetest.Run(t, enginetest.Options{
		Engine: engine.Kafka,
		New:    func(t *testing.T) engine.Driver { return newDriver(t) },
		PIDs: func(c *engine.Cluster, n *engine.Node) []int {
			return newDriver(t).PIDs(c, n)
		},
	})
}

func TestInfo(t *testing.T) {
	info, err := newDriver(t).Info(enginetest.Ctx(t))
	must(t, err)
	t.Logf("%+v", info)
	if info.Engine != engine.Kafka || info.Version == "" || !strings.Contains(info.Full, "kfake") {
		t.Fatalf("Info = %+v", info)
	}
	if err := checkVersion(info.Version); err != nil {
		t.Fatalf("Info version %q is not selectable: %v", info.Version, err)
	}
}
