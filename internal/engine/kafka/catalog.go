package kafka

import (
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// param is one configuration parameter and how it reaches the broker.
type param struct {
	engine.Parameter
	// process is true for parameters the broker process applies itself
	// (from its config file, on SIGHUP) rather than kfake broker configs
	// the driver alters over the wire.
	process bool
}

func f64(v float64) *float64 { return &v }

// params are the parameters kfake really honours, each checked in its
// source: retention is enforced by the broker's retention loop,
// message.max.bytes on produce, the group timeouts on join, the offset
// retention by kfake's expiry ticker and the transaction timeout on
// InitProducerID. All are dynamic (no restart).
var params = []param{
	{Parameter: engine.Parameter{Name: "log.retention.ms", Type: "int", Unit: "ms", Min: f64(-1), Max: f64(math.MaxInt64), Default: float64(604800000), Changeable: true}},
	{Parameter: engine.Parameter{Name: "log.retention.bytes", Type: "int", Unit: "B", Min: f64(-1), Max: f64(math.MaxInt64), Default: float64(-1), Changeable: true}},
	{Parameter: engine.Parameter{Name: "log.retention.check.interval.ms", Type: "int", Unit: "ms", Min: f64(1000), Max: f64(math.MaxInt32), Default: float64(300000), Changeable: true}, process: true},
	{Parameter: engine.Parameter{Name: "message.max.bytes", Type: "int", Unit: "B", Min: f64(1024), Max: f64(math.MaxInt32), Default: float64(1048588), Changeable: true}},
	{Parameter: engine.Parameter{Name: "offsets.retention.minutes", Type: "int", Unit: "min", Min: f64(1), Max: f64(math.MaxInt32), Default: float64(10080), Changeable: true}},
	{Parameter: engine.Parameter{Name: "group.min.session.timeout.ms", Type: "int", Unit: "ms", Min: f64(0), Max: f64(math.MaxInt32), Default: float64(6000), Changeable: true}},
	{Parameter: engine.Parameter{Name: "group.max.session.timeout.ms", Type: "int", Unit: "ms", Min: f64(0), Max: f64(math.MaxInt32), Default: float64(300000), Changeable: true}},
	{Parameter: engine.Parameter{Name: "transaction.max.timeout.ms", Type: "int", Unit: "ms", Min: f64(1), Max: f64(math.MaxInt32), Default: float64(900000), Changeable: true}},
}

func lookupParam(name string) (param, bool) {
	for _, p := range params {
		if p.Name == name {
			return p, true
		}
	}
	return param{}, false
}

// catalog returns the engine catalog: the parameters above, no extensions.
func catalog() engine.Catalog {
	out := engine.Catalog{Parameters: make([]engine.Parameter, 0, len(params))}
	for _, p := range params {
		out.Parameters = append(out.Parameters, p.Parameter)
	}
	return out
}

// settings is a cluster's configuration resolved for the broker.
type settings struct {
	// brokerConfigs has every kfake-applied parameter: the user's value,
	// or "" to reset it to kfake's default.
	brokerConfigs map[string]string
	// retentionCheckMs is log.retention.check.interval.ms (0 = default).
	retentionCheckMs int64
}

// resolveConfig checks a cluster's configuration against the catalog; an
// unknown name or a bad value is an engine.ErrInvalid error.
func resolveConfig(cfg map[string]any) (settings, error) {
	s := settings{brokerConfigs: map[string]string{}}
	for _, p := range params {
		if !p.process {
			s.brokerConfigs[p.Name] = ""
		}
	}
	names := make([]string, 0, len(cfg))
	for k := range cfg {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		p, ok := lookupParam(name)
		if !ok {
			return s, fmt.Errorf("%w: unknown Kafka parameter %q", engine.ErrInvalid, name)
		}
		n, err := intValue(cfg[name])
		if err != nil {
			return s, fmt.Errorf("%w: parameter %s: %v", engine.ErrInvalid, name, err)
		}
		if (p.Min != nil && float64(n) < *p.Min) || (p.Max != nil && float64(n) > *p.Max) {
			return s, fmt.Errorf("%w: parameter %s = %d is out of range [%.0f, %.0f]", engine.ErrInvalid, name, n, *p.Min, *p.Max)
		}
		if p.process {
			s.retentionCheckMs = n
			continue
		}
		s.brokerConfigs[name] = strconv.FormatInt(n, 10)
	}
	return s, nil
}

// intValue converts a JSON-decoded value (float64, string, json.Number-like)
// to an integer.
func intValue(v any) (int64, error) {
	switch x := v.(type) {
	case float64:
		if x != math.Trunc(x) || math.IsInf(x, 0) || math.IsNaN(x) {
			return 0, fmt.Errorf("%v is not an integer", x)
		}
		// float64(math.MaxInt64) is 2^63, one past the largest int64.
		if x >= math.MaxInt64 || x < math.MinInt64 {
			return 0, fmt.Errorf("%v is out of the range of a 64-bit integer", x)
		}
		return int64(x), nil
	case int:
		return int64(x), nil
	case int64:
		return x, nil
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not an integer", x)
		}
		return n, nil
	default:
		return 0, fmt.Errorf("%v (%T) is not an integer", v, v)
	}
}
