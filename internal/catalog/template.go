package catalog

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// Env is what a template may refer to: the flavor of a node.
type Env struct {
	RAM   int // MB
	VCPUs int
	Disk  int // GB
}

var (
	cacheMu sync.Mutex
	cache   = map[string]*vm.Program{}
)

func compile(tmpl string) (*vm.Program, error) {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if p, ok := cache[tmpl]; ok {
		return p, nil
	}
	p, err := expr.Compile(tmpl, expr.Env(map[string]any{"ram": 0, "vcpus": 0, "disk": 0}))
	if err != nil {
		return nil, fmt.Errorf("template %q: %w", tmpl, err)
	}
	cache[tmpl] = p
	return p, nil
}

// DependsOnFlavor reports whether a template refers to ram, vcpus or disk.
func DependsOnFlavor(tmpl string) bool {
	for _, w := range []string{"ram", "vcpus", "disk"} {
		if strings.Contains(tmpl, w) {
			return true
		}
	}
	return false
}

// Eval evaluates a template. An empty template gives nil. Numbers come back
// as float64, strings as string, booleans as bool. When the template needs
// a flavor and env is nil, the result is nil.
func Eval(tmpl string, env *Env) (any, error) {
	if strings.TrimSpace(tmpl) == "" {
		return nil, nil
	}
	if env == nil && DependsOnFlavor(tmpl) {
		return nil, nil
	}
	p, err := compile(tmpl)
	if err != nil {
		return nil, err
	}
	vars := map[string]any{"ram": 0, "vcpus": 0, "disk": 0}
	if env != nil {
		vars = map[string]any{"ram": env.RAM, "vcpus": env.VCPUs, "disk": env.Disk}
	}
	out, err := expr.Run(p, vars)
	if err != nil {
		return nil, fmt.Errorf("template %q: %w", tmpl, err)
	}
	switch v := out.(type) {
	case int:
		return float64(v), nil
	case int64:
		return float64(v), nil
	case float64, string, bool:
		return v, nil
	}
	return fmt.Sprint(out), nil
}

// Literal renders a static value as a template.
func Literal(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return strconv.Quote(x)
	case bool:
		return strconv.FormatBool(x)
	case float64:
		if math.Abs(x) >= 1<<53 {
			// An integer literal this large may not fit the expression
			// language's int (2^63 does not): write it as a float.
			return strconv.FormatFloat(x, 'e', -1, 64)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return strconv.Quote(fmt.Sprint(v))
}
