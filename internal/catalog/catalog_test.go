package catalog

import (
	"math"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
)

func TestEval(t *testing.T) {
	t.Parallel()
	env := &Env{RAM: 4096, VCPUs: 2, Disk: 32}
	tests := []struct {
		tmpl string
		env  *Env
		want any
	}{
		{"", env, nil},
		{"ram * 1024 / 8 * 0.25", env, float64(131072)},
		{"vcpus * 2", env, float64(4)},
		{"max(disk, 100)", env, float64(100)},
		{`"on"`, nil, "on"},
		{"true", nil, true},
		{"ram / 4", nil, nil}, // needs a flavor that was not given
		{"16", nil, float64(16)},
	}
	for _, tc := range tests {
		got, err := Eval(tc.tmpl, tc.env)
		if err != nil || got != tc.want {
			t.Errorf("Eval(%q) = %v, %v; want %v", tc.tmpl, got, err, tc.want)
		}
	}
	if _, err := Eval("ram +", env); err == nil {
		t.Error("a broken template evaluated")
	}
	if _, err := Eval("unknown_var * 2", env); err == nil {
		t.Error("a template with an unknown variable evaluated")
	}
}

func TestParameterConversionRoundTrips(t *testing.T) {
	t.Parallel()
	lo, hi := 64.0, 2097151.0
	p := Parameter("type-1", engine.Parameter{Name: "work_mem", Type: "int", Unit: "kB", Min: &lo, Max: &hi,
		Default: float64(4096), Changeable: true, Choices: []string{"a"}})
	if p.ID != ParameterID("type-1", "work_mem") || p.MinTemplate != "64" || p.MaxTemplate != "2097151" ||
		p.DefaultValueTemplate != "4096" || len(p.Choices) != 1 || !p.IsChangeable || !p.IsAvailableForCustomer {
		t.Fatalf("converted parameter: %+v", p)
	}
	if v, _ := Eval(p.DefaultValueTemplate, nil); v != float64(4096) {
		t.Errorf("default evaluates to %v", v)
	}
	// Bounds beyond what an int literal holds (Kafka's Long.MAX_VALUE) still
	// evaluate, so the API can enforce them.
	big := float64(math.MaxInt64)
	b := Parameter("type-1", engine.Parameter{Name: "log.retention.ms", Type: "int", Max: &big})
	if v, err := Eval(b.MaxTemplate, nil); v != big || err != nil {
		t.Errorf("max %q evaluates to %v, %v; want %v", b.MaxTemplate, v, err, big)
	}
	s := Parameter("type-1", engine.Parameter{Name: "mode", Type: "str", Default: `it's "quoted"`})
	if v, _ := Eval(s.DefaultValueTemplate, nil); v != `it's "quoted"` {
		t.Errorf("string default evaluates to %v", v)
	}
}

func TestGeneratedFlavorsFitTheMachine(t *testing.T) {
	t.Parallel()
	m := Machine{CPUs: 2, RAMMB: 24000, DiskGB: 80, Processor: "cpu"}
	fl := GenerateFlavors(m, []string{"t1", "t2"})
	if len(fl) == 0 {
		t.Fatal("no flavors")
	}
	seen := map[string]bool{}
	for _, f := range fl {
		if seen[f.ID] {
			t.Errorf("duplicate flavor ID %s", f.ID)
		}
		seen[f.ID] = true
		if f.VCPUs > 2*m.CPUs || f.HostTotalCount != max(1, m.RAMMB/f.RAM) || len(f.DatastoreTypeIDs) != 2 ||
			(f.FlSize != FlStandard && f.FlSize != FlHighFreq) {
			t.Errorf("flavor %+v", f)
		}
	}
	again := GenerateFlavors(m, []string{"t1", "t2"})
	if again[0].ID != fl[0].ID {
		t.Error("flavor IDs are not stable")
	}
}

func TestLimitsAndNodeCounts(t *testing.T) {
	t.Parallel()
	m := Machine{CPUs: 2, RAMMB: 8192, DiskGB: 50}
	pg := LimitsFor("postgresql", m)
	if pg.RAMMax != 8192 || pg.VCPUsMax != 4 || pg.DiskLocalMax != 50 || pg.NodesMax != 6 {
		t.Errorf("postgresql limits %+v", pg)
	}
	// A node of a cluster elsewhere (Kubernetes) may have at most what one
	// machine there gives a pod: no sharing of this host's cores.
	k := Machine{CPUs: 3, RAMMB: 8192, DiskGB: 50, VCPUsLimit: 3}
	if l := LimitsFor("postgresql", k); l.VCPUsMax != 3 {
		t.Errorf("limits with a vCPU limit: %+v", l)
	}
	for _, f := range GenerateFlavors(k, []string{"t1"}) {
		if f.VCPUs > 3 {
			t.Errorf("flavor %s beyond the vCPU limit", f.Name)
		}
	}
	cases := []struct {
		engine string
		n      int
		ok     bool
	}{
		{"postgresql", 6, true}, {"postgresql", 7, false}, {"mysql", 2, false}, {"mysql", 3, true},
		{"mysql_native", 2, true}, {"kafka", 2, false}, {"redis", 0, false},
	}
	for _, c := range cases {
		if got := NodeCountAllowed(c.engine, LimitsFor(c.engine, m), c.n); got != c.ok {
			t.Errorf("%s with %d nodes: %v, want %v", c.engine, c.n, got, c.ok)
		}
	}
}
