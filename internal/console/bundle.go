package console

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// bundled is the console's scripts as the browser gets them: the ES
// modules under ui/js (and the vendored uPlot they import) bundled and
// minified by esbuild when dbaasd starts, in memory. The first page is
// one entry module and the chunks it imports; every view, tab and the
// chart library are chunks of their own, loaded when first shown.
type bundled struct {
	files   map[string][]byte // by name under js/, e.g. "js/app-XXXX.js"
	entry   string            // the entry module's name
	preload []string          // chunks the entry imports statically
}

// bundle builds the scripts from src (the ui directory).
func bundle(src fs.FS) (*bundled, error) {
	embedded := api.Plugin{Name: "embedded", Setup: func(b api.PluginBuild) {
		b.OnResolve(api.OnResolveOptions{Filter: `.*`}, func(a api.OnResolveArgs) (api.OnResolveResult, error) {
			p := a.Path
			if a.Kind != api.ResolveEntryPoint {
				if !strings.HasPrefix(p, "./") && !strings.HasPrefix(p, "../") {
					return api.OnResolveResult{}, fmt.Errorf("%s imports %q: only relative imports of embedded files", a.Importer, p)
				}
				p = path.Join(path.Dir(a.Importer), p)
			}
			if _, err := fs.Stat(src, p); err != nil {
				return api.OnResolveResult{}, fmt.Errorf("%s imports %q: %w", a.Importer, a.Path, err)
			}
			return api.OnResolveResult{Path: p, Namespace: "ui"}, nil
		})
		b.OnLoad(api.OnLoadOptions{Filter: `.*`, Namespace: "ui"}, func(a api.OnLoadArgs) (api.OnLoadResult, error) {
			raw, err := fs.ReadFile(src, a.Path)
			if err != nil {
				return api.OnLoadResult{}, err
			}
			s := string(raw)
			return api.OnLoadResult{Contents: &s, Loader: api.LoaderJS}, nil
		})
	}}
	res := api.Build(api.BuildOptions{
		EntryPoints:       []string{"js/app.js"},
		Bundle:            true,
		Splitting:         true,
		Format:            api.FormatESModule,
		Write:             false,
		Metafile:          true,
		Outdir:            "/out",
		EntryNames:        "[name]-[hash]",
		ChunkNames:        "chunk-[hash]",
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		LegalComments:     api.LegalCommentsEndOfFile,
		Charset:           api.CharsetUTF8,
		Engines: []api.Engine{
			{Name: api.EngineChrome, Version: "100"}, {Name: api.EngineFirefox, Version: "100"},
			{Name: api.EngineSafari, Version: "15"}, {Name: api.EngineEdge, Version: "100"},
		},
		Plugins:  []api.Plugin{embedded},
		LogLevel: api.LogLevelSilent,
	})
	if len(res.Errors) > 0 {
		var msgs []string
		for _, m := range res.Errors {
			msgs = append(msgs, m.Text)
		}
		return nil, fmt.Errorf("console: bundle the scripts: %s", strings.Join(msgs, "; "))
	}
	out := &bundled{files: map[string][]byte{}}
	for _, f := range res.OutputFiles {
		out.files["js/"+path.Base(f.Path)] = f.Contents
	}
	var meta struct {
		Outputs map[string]struct {
			EntryPoint string `json:"entryPoint"`
			Imports    []struct {
				Path string `json:"path"`
				Kind string `json:"kind"`
			} `json:"imports"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal([]byte(res.Metafile), &meta); err != nil {
		return nil, fmt.Errorf("console: bundle metafile: %w", err)
	}
	// The entry module, and the chunks it imports statically, directly or
	// through another chunk.
	static := map[string][]string{}
	for name, o := range meta.Outputs {
		for _, imp := range o.Imports {
			if imp.Kind == "import-statement" {
				static["js/"+path.Base(name)] = append(static["js/"+path.Base(name)], "js/"+path.Base(imp.Path))
			}
		}
		if strings.HasSuffix(o.EntryPoint, "js/app.js") && strings.HasPrefix(path.Base(name), "app-") {
			out.entry = "js/" + path.Base(name)
		}
	}
	seen := map[string]bool{}
	var walk func(string)
	walk = func(n string) {
		for _, d := range static[n] {
			if !seen[d] {
				seen[d] = true
				out.preload = append(out.preload, d)
				walk(d)
			}
		}
	}
	walk(out.entry)
	sort.Strings(out.preload)
	if out.files[out.entry] == nil {
		return nil, fmt.Errorf("console: bundle has no entry module")
	}
	return out, nil
}
