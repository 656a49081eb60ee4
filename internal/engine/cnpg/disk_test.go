package cnpg

import (
	"context"
	"strings"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/kube"
)

func TestValidateDiskGrowth(t *testing.T) {
	t.Parallel()
	class := func(name string, expand any, isDefault bool) map[string]any {
		md := map[string]any{}
		if isDefault {
			md["annotations"] = map[string]any{kube.AnnotationDefaultClass: "true"}
		}
		obj := map[string]any{"metadata": md, "provisioner": "example.com/disk"}
		if expand != nil {
			obj["allowVolumeExpansion"] = expand
		}
		return obj
	}
	claim := func(className any) map[string]any {
		spec := map[string]any{"accessModes": []any{"ReadWriteOnce"}}
		if className != nil {
			spec["storageClassName"] = className
		}
		return map[string]any{"metadata": map[string]any{"labels": map[string]any{labelCluster: clusterName}}, "spec": spec}
	}
	const ns = "/api/v1/namespaces/dbaasd-ds1/persistentvolumeclaims/"
	const sc = "/apis/storage.k8s.io/v1/storageclasses/"
	cases := []struct {
		name    string
		driver  string // the driver's storage class
		objs    map[string]map[string]any
		refused string // "" = the disks may grow
	}{
		{name: "claims of an expandable class",
			objs: map[string]map[string]any{sc + "fast": class("fast", true, false), ns + "pg-1": claim("fast"), ns + "pg-2": claim("fast")}},
		{name: "claims of a class without expansion",
			objs:    map[string]map[string]any{sc + "local": class("local", nil, true), ns + "pg-1": claim("local")},
			refused: `storage class "local" of the datastore's volumes does not allow volume expansion`},
		{name: "expansion switched off",
			objs:    map[string]map[string]any{sc + "local": class("local", false, true), ns + "pg-1": claim("local")},
			refused: "does not allow volume expansion"},
		{name: "one claim of another class that cannot grow",
			objs: map[string]map[string]any{sc + "fast": class("fast", true, false), sc + "slow": class("slow", nil, false),
				ns + "pg-1": claim("fast"), ns + "pg-2": claim("slow")},
			refused: `"slow"`},
		{name: "a claim without a class",
			objs:    map[string]map[string]any{sc + "fast": class("fast", true, true), ns + "pg-1": claim("")},
			refused: "have no storage class"},
		{name: "a claim of a class that is gone",
			objs:    map[string]map[string]any{ns + "pg-1": claim("gone")},
			refused: `storage class "gone" of the datastore's volumes does not exist`},
		{name: "no claims yet: the default class",
			objs: map[string]map[string]any{sc + "other": class("other", nil, false), sc + "fast": class("fast", true, true)}},
		{name: "no claims yet: no default class",
			objs:    map[string]map[string]any{sc + "fast": class("fast", true, false)},
			refused: "no default storage class"},
		{name: "no claims yet: the driver's class",
			driver:  "slow",
			objs:    map[string]map[string]any{sc + "slow": class("slow", nil, false), sc + "fast": class("fast", true, true)},
			refused: `"slow"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeAPI(t)
			f.mu.Lock()
			for k, v := range tc.objs {
				f.put(k, v)
			}
			f.mu.Unlock()
			d := testDriver(t, f, nil)
			d.opts.StorageClass = tc.driver
			err := d.ValidateDiskGrowth(context.Background(), "DS1")
			if tc.refused == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			ie, ok := engine.AsInvalid(err)
			if !ok || !strings.Contains(ie.Message, tc.refused) {
				t.Fatalf("error %v, want a refusal containing %q", err, tc.refused)
			}
		})
	}
}
