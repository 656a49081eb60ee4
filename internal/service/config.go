package service

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/dbaasd/dbaasd/internal/catalog"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// mergeConfig validates changes against the type's parameter catalog and
// the datastore's flavor and returns the resulting configuration: current
// with changes applied, where a null value resets a parameter to its
// default (removes it). Values are kept exactly as sent, so a client reads
// back what it wrote. Parameters of current that the catalog no longer
// offers (taken off the allow-list) are dropped, and removing one is
// always accepted.
func (s *Service) mergeConfig(ctx context.Context, tx store.Tx, typeID string, fl model.Flavor, current, changes map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range current {
		out[k] = v
	}
	if len(changes) == 0 {
		return out, nil
	}
	params, err := tx.ConfigurationParameters().List(ctx, store.Filter{DatastoreTypeID: typeID})
	if err != nil {
		return nil, err
	}
	byName := make(map[string]*model.ConfigurationParameter, len(params))
	for i := range params {
		if params[i].IsAvailableForCustomer {
			byName[params[i].Name] = &params[i]
		}
	}
	if len(byName) > 0 {
		for k := range out {
			if _, ok := byName[k]; !ok {
				delete(out, k)
			}
		}
	}
	env := &catalog.Env{RAM: fl.RAM, VCPUs: fl.VCPUs, Disk: fl.Disk}
	names := make([]string, 0, len(changes))
	for k := range changes {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		v := changes[name]
		field := "config." + name
		p, ok := byName[name]
		if !ok {
			if _, had := current[name]; had && v == nil {
				delete(out, name)
				continue
			}
			return nil, Invalid(field, "not a configuration parameter a tenant may set for this datastore type (list them at /v1/configuration-parameters)")
		}
		if !p.IsChangeable {
			return nil, Invalid(field, "this parameter cannot be changed")
		}
		if v == nil {
			delete(out, name)
			continue
		}
		if err := checkValue(p, v, env); err != nil {
			return nil, Invalid(field, "%s", err.Error())
		}
		out[name] = v
	}
	return out, nil
}

// Integers must fit the engines' 64-bit integers: 2^63 and beyond
// overflow (float64 holds 2^63 exactly, so the bound is exclusive).
const (
	minInt64 = -(1 << 63)
	maxInt64 = 1 << 63
)

// checkValue validates one parameter value.
func checkValue(p *model.ConfigurationParameter, v any, env *catalog.Env) error {
	str := scalarString(v)
	if str == "" && !p.CanBeEmpty {
		if _, isStr := v.(string); isStr {
			return fmt.Errorf("must not be empty")
		}
	}
	switch p.Type {
	case "int", "integer":
		n, ok := number(v)
		if !ok || n != math.Trunc(n) {
			return fmt.Errorf("must be an integer, got %v", v)
		}
		if n < minInt64 || n >= maxInt64 {
			return fmt.Errorf("must be a 64-bit integer (between -9223372036854775808 and 9223372036854775807), got %s", fmtNum(n))
		}
		if err := checkBounds(p, n, env); err != nil {
			return err
		}
	case "float", "real":
		n, ok := number(v)
		if !ok || math.IsInf(n, 0) || math.IsNaN(n) {
			return fmt.Errorf("must be a number, got %v", v)
		}
		if err := checkBounds(p, n, env); err != nil {
			return err
		}
	case "bool", "boolean":
		if _, ok := boolean(v); !ok {
			return fmt.Errorf("must be a boolean (true/false), got %v", v)
		}
	default:
		switch v.(type) {
		case string, float64, bool:
		default:
			return fmt.Errorf("must be a string, got %v", v)
		}
	}
	if len(p.Choices) > 0 && str != "" {
		found := false
		var opts []string
		for _, c := range p.Choices {
			cs := scalarString(c)
			opts = append(opts, cs)
			if strings.EqualFold(cs, str) {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("must be one of %s, got %q", strings.Join(opts, ", "), str)
		}
	}
	for _, bad := range p.InvalidValues {
		if strings.EqualFold(scalarString(bad), str) {
			return fmt.Errorf("value %q is not allowed", str)
		}
	}
	return nil
}

func checkBounds(p *model.ConfigurationParameter, n float64, env *catalog.Env) error {
	if lo, err := catalog.Eval(p.MinTemplate, env); err == nil {
		if f, ok := lo.(float64); ok && n < f {
			return fmt.Errorf("must be at least %s for this flavor, got %s", fmtNum(f), fmtNum(n))
		}
	}
	if hi, err := catalog.Eval(p.MaxTemplate, env); err == nil {
		if f, ok := hi.(float64); ok && n > f {
			return fmt.Errorf("must be at most %s for this flavor, got %s", fmtNum(f), fmtNum(n))
		}
	}
	return nil
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

func boolean(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "on", "yes", "1":
			return true, true
		case "false", "off", "no", "0":
			return false, true
		}
	case float64:
		if x == 0 || x == 1 {
			return x == 1, true
		}
	}
	return false, false
}

func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return fmtNum(x)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}
