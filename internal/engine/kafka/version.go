package kafka

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// Module paths whose versions we report.
const (
	kfakeModule   = "github.com/twmb/franz-go/pkg/kfake"
	franzModule   = "github.com/twmb/franz-go"
	minSelectable = "3.0" // oldest Kafka release a datastore may emulate
)

// versionInfo is what `kafka-broker --version` prints.
type versionInfo struct {
	// Kafka is the newest Kafka release whose API versions the broker
	// serves in full, for every API it implements (e.g. "4.1").
	Kafka string `json:"kafka"`
	// Features is the release whose feature levels (metadata.version …)
	// the broker advertises (e.g. "4.4").
	Features string `json:"features"`
	// Kfake and FranzGo are the module versions built in.
	Kfake   string `json:"kfake"`
	FranzGo string `json:"franz_go"`
}

// full is the long version string for engine.Info.
func (v versionInfo) full() string {
	return fmt.Sprintf("Kafka %s protocol (feature levels of %s), kfake %s, franz-go %s", v.Kafka, v.Features, v.Kfake, v.FranzGo)
}

// printVersion starts a throw-away in-memory kfake broker on loopback, asks
// it for its API versions and prints what it emulates as JSON.
func printVersion(w io.Writer) error {
	v, err := probeVersion(context.Background())
	if err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(v)
}

func probeVersion(ctx context.Context) (versionInfo, error) {
	var v versionInfo
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		return v, fmt.Errorf("start probe broker: %w", err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		return v, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	if err != nil {
		return v, fmt.Errorf("ApiVersions: %w", err)
	}
	got := kversion.FromApiVersionsResponse(resp)
	v.Kafka, v.Features = emulatedRelease(got)
	v.Kfake, v.FranzGo = moduleVersion(kfakeModule), moduleVersion(franzModule)
	if v.Kafka == "" {
		return v, fmt.Errorf("the probe broker's API versions match no Kafka release kversion knows")
	}
	return v, nil
}

// emulatedRelease returns the newest release whose every API version the
// broker serves (for the APIs it implements), and the release whose
// metadata.version feature level it advertises, both as "X.Y".
func emulatedRelease(got *kversion.Versions) (api, features string) {
	var level int16 = -1
	got.EachFinalizedFeature(func(name string, l int16) {
		if name == "metadata.version" {
			level = l
		}
	})
	for _, name := range kversion.VersionStrings() { // newest first
		rel := kversion.FromString(name)
		if api == "" && covers(got, rel) {
			api = strings.TrimPrefix(name, "v")
		}
		if features == "" && level >= 0 {
			rel.EachFinalizedFeature(func(n string, l int16) {
				if n == "metadata.version" && l == level {
					features = strings.TrimPrefix(name, "v")
				}
			})
		}
	}
	if features == "" {
		features = api
	}
	return api, features
}

// covers reports whether got serves, for every key it has, at least the
// release's version of that key.
func covers(got, rel *kversion.Versions) bool {
	ok := true
	got.EachMaxKeyVersion(func(k, gv int16) {
		if rv, has := rel.LookupMaxKeyVersion(k); has && gv < rv {
			ok = false
		}
	})
	return ok
}

// moduleVersion reads a dependency's version from the build info.
func moduleVersion(path string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, d := range bi.Deps {
		if d.Path == path {
			if d.Replace != nil {
				return d.Replace.Version
			}
			return d.Version
		}
	}
	return "unknown"
}

// checkVersion validates a datastore's Kafka version: empty (the broker's
// own) or a Kafka release from 3.0 on that kversion knows.
func checkVersion(v string) error {
	if v == "" {
		return nil
	}
	rel := kversion.FromString(v)
	if rel == nil {
		return fmt.Errorf("%w: unknown Kafka version %q", engine.ErrInvalid, v)
	}
	if versionLess(v, minSelectable) {
		return fmt.Errorf("%w: Kafka version %q is older than %s, the oldest this engine emulates", engine.ErrInvalid, v, minSelectable)
	}
	return nil
}

// versionLess compares "X.Y[.Z]" strings numerically (a part that is not a
// number counts as 0).
func versionLess(a, b string) bool {
	pa, pb := strings.Split(strings.TrimPrefix(a, "v"), "."), strings.Split(strings.TrimPrefix(b, "v"), ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}
