package httpapi

import (
	"reflect"
	"testing"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/dbaasd/dbaasd/internal/httpapi/gen"
	"github.com/dbaasd/dbaasd/internal/store"
)

// Every query parameter of a list operation reaches the store's filter,
// except those the handler uses for something else: a parameter added to
// api/openapi.yaml without its mapping fails here.
func TestEveryQueryParameterFilters(t *testing.T) {
	t.Parallel()
	cases := []struct {
		params any
		build  func(any) store.Filter
		not    []string // parameters that are not a filter
	}{
		{gen.ListDatastoreTypesParams{}, func(p any) store.Filter { return datastoreTypesFilter(p.(gen.ListDatastoreTypesParams)) }, nil},
		{gen.ListFlavorsParams{}, func(p any) store.Filter { return flavorsFilter(p.(gen.ListFlavorsParams)) }, nil},
		{gen.ListConfigurationParametersParams{}, func(p any) store.Filter {
			return parametersFilter(p.(gen.ListConfigurationParametersParams))
		}, []string{"Ram", "Vcpus", "Disk"}},
		{gen.ListAvailableExtensionsParams{}, func(p any) store.Filter {
			return availableExtensionsFilter(p.(gen.ListAvailableExtensionsParams))
		}, []string{"DatastoreTypeId"}},
		{gen.ListDatastoresParams{}, func(p any) store.Filter { return datastoresFilter(p.(gen.ListDatastoresParams)) }, nil},
		{gen.CountDatastoresParams{}, func(p any) store.Filter { return countDatastoresFilter(p.(gen.CountDatastoresParams)) }, nil},
		{gen.ListActionsParams{}, func(p any) store.Filter { return actionsFilter(p.(gen.ListActionsParams)) }, nil},
		{gen.ListPrometheusMetricsTokensParams{}, func(p any) store.Filter {
			return metricsTokensFilter(p.(gen.ListPrometheusMetricsTokensParams))
		}, []string{"Value"}},
		{gen.ListUsersParams{}, func(p any) store.Filter { return usersFilter(p.(gen.ListUsersParams)) }, nil},
		{gen.ListDatabasesParams{}, func(p any) store.Filter { return databasesFilter(p.(gen.ListDatabasesParams)) }, nil},
		{gen.ListGrantsParams{}, func(p any) store.Filter { return grantsFilter(p.(gen.ListGrantsParams)) }, nil},
		{gen.ListExtensionsParams{}, func(p any) store.Filter { return extensionsFilter(p.(gen.ListExtensionsParams)) }, nil},
		{gen.ListLogicalReplicationSlotsParams{}, func(p any) store.Filter {
			return slotsFilter(p.(gen.ListLogicalReplicationSlotsParams))
		}, nil},
		{gen.ListTopicsParams{}, func(p any) store.Filter { return topicsFilter(p.(gen.ListTopicsParams)) }, nil},
		{gen.ListAclsParams{}, func(p any) store.Filter { return aclsFilter(p.(gen.ListAclsParams)) }, nil},
	}
	for _, c := range cases {
		typ := reflect.TypeOf(c.params)
		t.Run(typ.Name(), func(t *testing.T) {
			t.Parallel()
			skip := map[string]bool{}
			for _, n := range c.not {
				skip[n] = true
			}
			for i := range typ.NumField() {
				field := typ.Field(i)
				p := reflect.New(typ).Elem()
				v := reflect.New(field.Type.Elem())
				switch x := v.Interface().(type) {
				case *string:
					*x = "x"
				case *openapi_types.UUID:
					*x = openapi_types.UUID{1}
				case *bool:
					*x = true
				case *int:
					*x = 1
				default:
					t.Fatalf("%s: parameter of type %s", field.Name, field.Type)
				}
				p.Field(i).Set(v)
				got := c.build(p.Interface())
				if skip[field.Name] != (got == store.Filter{}) {
					t.Errorf("parameter %s gives filter %+v", field.Name, got)
				}
			}
		})
	}
}

func TestFilterValues(t *testing.T) {
	t.Parallel()
	str := func(s string) *string { return &s }
	yes, no := true, false
	id := openapi_types.UUID{0xab}
	cases := []struct {
		name string
		got  store.Filter
		want store.Filter
	}{
		{"ids are their text", usersFilter(gen.ListUsersParams{DatastoreId: &id}), store.Filter{DatastoreID: id.String()}},
		{"a flag", datastoresFilter(gen.ListDatastoresParams{Deleted: &yes, Enabled: &no}),
			store.Filter{Deleted: store.Yes, Enabled: store.No}},
		{"an empty text matches nothing", usersFilter(gen.ListUsersParams{Name: str("")}), store.Filter{Nothing: true}},
		{"an empty pattern is every topic's", aclsFilter(gen.ListAclsParams{Pattern: str("")}), store.Filter{PatternType: "all"}},
		{"an empty pattern of a prefix", aclsFilter(gen.ListAclsParams{Pattern: str(""), PatternType: str("prefixed")}),
			store.Filter{PatternType: "all", Nothing: true}},
		{"a pattern", aclsFilter(gen.ListAclsParams{Pattern: str("t.")}), store.Filter{Pattern: "t."}},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, c.got, c.want)
		}
	}
}
