package apitest_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"testing"

	"github.com/dbaasd/dbaasd/internal/catalog"
	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

var updateCatalog = flag.Bool("update-catalog", false, "rewrite testdata/catalog.json from the engines of this machine")

func TestMain(m *testing.M) { os.Exit(at.Main(m)) }

// summary is what the API tests rely on in a catalog: each engine, its
// parameters with their type, bounds and default, and its extensions.
// Versions (and the IDs derived from them) may differ between machines.
func summary(found []catalog.Discovered) []string {
	var out []string
	for _, d := range found {
		out = append(out, "engine "+d.Type.Engine)
		for _, p := range d.Parameters {
			out = append(out, fmt.Sprintf("%s param %s %s min=%s max=%s default=%s restart=%v changeable=%v",
				d.Type.Engine, p.Name, p.Type, p.MinTemplate, p.MaxTemplate, p.DefaultValueTemplate,
				p.IsRestartRequired, p.IsChangeable))
		}
		for _, e := range d.Extensions {
			out = append(out, fmt.Sprintf("%s extension %s requires %v", d.Type.Engine, e.Name, e.Requires))
		}
	}
	sort.Strings(out)
	return out
}

// The recorded catalog the API tests of -short offer is what the engines
// installed here offer: a parameter, bound or extension that changed would
// make those tests check an API no user sees.
func TestRecordedCatalogIsCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("asks the installed engines for their catalog (skipped with -short)")
	}
	t.Parallel()
	e := at.Start(t, at.Options{Engines: true})
	found := catalog.Discover(context.Background(), e.D.Drivers, slog.New(slog.DiscardHandler))
	if *updateCatalog {
		b, err := at.EncodeRecorded(found)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("testdata/catalog.json", b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if len(found) < 5 {
		t.Fatalf("%d engines installed here, want all five (scripts/install-deps.sh)", len(found))
	}
	// Another build of an engine (a Debian update) may offer another
	// catalog; the recording is compared only with the builds it was
	// made from.
	recorded := at.Recorded(t)
	versions := map[string]string{}
	for _, d := range recorded {
		versions[d.Type.Engine] = d.Type.FullVersion
	}
	for _, d := range found {
		if versions[d.Type.Engine] != d.Type.FullVersion {
			t.Skipf("%s here is %q, the recording was made from %q: rewrite it with -update-catalog to compare",
				d.Type.Engine, d.Type.FullVersion, versions[d.Type.Engine])
		}
	}
	got, want := summary(found), summary(recorded)
	var diff bytes.Buffer
	gi, wi := 0, 0
	for gi < len(got) || wi < len(want) {
		switch {
		case wi == len(want) || (gi < len(got) && got[gi] < want[wi]):
			fmt.Fprintf(&diff, "+ %s\n", got[gi])
			gi++
		case gi == len(got) || want[wi] < got[gi]:
			fmt.Fprintf(&diff, "- %s\n", want[wi])
			wi++
		default:
			gi, wi = gi+1, wi+1
		}
	}
	if diff.Len() > 0 {
		t.Errorf("the engines here offer another catalog than testdata/catalog.json (- recorded, + here); "+
			"rewrite it with: go test ./internal/testutil/apitest/ -run TestRecordedCatalogIsCurrent -update-catalog:\n%s", diff.String())
	}
}
