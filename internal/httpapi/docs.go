package httpapi

import (
	"bytes"
	"fmt"
	"html/template"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// The /docs page: a human-readable reference rendered on the server from
// the OpenAPI document, with no scripts or assets fetched from anywhere.

type docParam struct {
	Name, In, Type, Description string
	Required                    bool
}

type docOp struct {
	Method, Path, ID, Summary, Description, Request string
	Deprecated                                      bool
	Params                                          []docParam
	Responses                                       []string
}

type docTag struct {
	Name, Description string
	Ops               []docOp
}

type docSchema struct {
	Name, Description string
	Props             []docParam
}

var docsTmpl = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} — reference</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2330}
nav{position:fixed;top:0;bottom:0;width:260px;overflow:auto;background:#f4f5f7;padding:1em;box-sizing:border-box}
main{margin-left:260px;padding:1em 2em;max-width:980px}
nav a{display:block;color:#333;text-decoration:none;font-size:14px}
h2{border-bottom:1px solid #ddd;padding-top:1em}
.op{border:1px solid #e2e4e8;border-radius:6px;margin:1em 0;padding:.5em 1em}
.m{display:inline-block;min-width:4.5em;font-weight:bold;font-family:monospace}
.GET{color:#0a7}.POST{color:#07c}.PUT{color:#c80}.DELETE{color:#c33}
code{background:#f1f2f4;padding:0 .25em;border-radius:3px}
table{border-collapse:collapse;font-size:14px}td,th{border:1px solid #e2e4e8;padding:.2em .5em;text-align:left}
.dep{color:#a40;font-size:12px}
</style></head><body>
<nav><strong>{{.Title}} {{.Version}}</strong>{{range .Tags}}<a href="#tag-{{.Name}}">{{.Name}}</a>{{end}}<a href="#schemas">Schemas</a></nav>
<main><h1>{{.Title}} <small>{{.Version}}</small></h1><p>{{.Description}}</p>
<p>Base path <code>/v1</code>. The machine-readable contract: <a href="/v1/openapi.yaml">openapi.yaml</a>, <a href="/v1/openapi.json">openapi.json</a>.</p>
{{range .Tags}}<h2 id="tag-{{.Name}}">{{.Name}}</h2><p>{{.Description}}</p>
{{range .Ops}}<div class="op" id="op-{{.ID}}"><div><span class="m {{.Method}}">{{.Method}}</span> <code>/v1{{.Path}}</code> — {{.Summary}}{{if .Deprecated}} <span class="dep">deprecated</span>{{end}}</div>
<p>{{.Description}}</p>
{{if .Params}}<table><tr><th>parameter</th><th>in</th><th>type</th><th>description</th></tr>{{range .Params}}<tr><td><code>{{.Name}}</code>{{if .Required}} *{{end}}</td><td>{{.In}}</td><td>{{.Type}}</td><td>{{.Description}}</td></tr>{{end}}</table>{{end}}
{{if .Request}}<p>Request body: <a href="#schema-{{.Request}}"><code>{{.Request}}</code></a></p>{{end}}
<p>Responses: {{range .Responses}}<code>{{.}}</code> {{end}}</p></div>{{end}}{{end}}
<h2 id="schemas">Schemas</h2>
{{range .Schemas}}<h3 id="schema-{{.Name}}">{{.Name}}</h3><p>{{.Description}}</p>
{{if .Props}}<table><tr><th>field</th><th>type</th><th>description</th></tr>{{range .Props}}<tr><td><code>{{.Name}}</code>{{if .Required}} *{{end}}</td><td>{{.Type}}</td><td>{{.Description}}</td></tr>{{end}}</table>{{end}}{{end}}
</main></body></html>
`))

func typeName(s *openapi3.SchemaRef) string {
	if s == nil {
		return ""
	}
	if s.Ref != "" {
		return s.Ref[strings.LastIndex(s.Ref, "/")+1:]
	}
	v := s.Value
	if v == nil || v.Type == nil {
		return "any"
	}
	t := strings.Join(v.Type.Slice(), "|")
	switch {
	case v.Type.Is("array"):
		return "array of " + typeName(v.Items)
	case v.Format != "":
		t += " (" + v.Format + ")"
	}
	if len(v.Enum) > 0 {
		var vals []string
		for _, e := range v.Enum {
			vals = append(vals, fmt.Sprint(e))
		}
		t += ": " + strings.Join(vals, ", ")
	}
	return t
}

func renderDocs(doc *openapi3.T) ([]byte, error) {
	tags := map[string]*docTag{}
	var order []string
	for _, t := range doc.Tags {
		tags[t.Name] = &docTag{Name: t.Name, Description: t.Description}
		order = append(order, t.Name)
	}
	paths := doc.Paths.InMatchingOrder()
	sort.Strings(paths)
	for _, p := range paths {
		item := doc.Paths.Value(p)
		for _, m := range []string{"GET", "POST", "PUT", "DELETE"} {
			op := item.GetOperation(m)
			if op == nil {
				continue
			}
			o := docOp{Method: m, Path: p, ID: op.OperationID, Summary: op.Summary, Description: op.Description,
				Deprecated: op.Deprecated}
			for _, pr := range append(item.Parameters, op.Parameters...) {
				if pr.Value == nil {
					continue
				}
				o.Params = append(o.Params, docParam{Name: pr.Value.Name, In: pr.Value.In, Required: pr.Value.Required,
					Type: typeName(pr.Value.Schema), Description: pr.Value.Description})
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil {
					o.Request = typeName(mt.Schema)
				}
			}
			codes := make([]string, 0)
			for code := range op.Responses.Map() {
				codes = append(codes, code)
			}
			sort.Strings(codes)
			o.Responses = codes
			tag := "Other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			if tags[tag] == nil {
				tags[tag] = &docTag{Name: tag}
				order = append(order, tag)
			}
			tags[tag].Ops = append(tags[tag].Ops, o)
		}
	}
	var schemas []docSchema
	names := make([]string, 0, len(doc.Components.Schemas))
	for n := range doc.Components.Schemas {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := doc.Components.Schemas[n].Value
		ds := docSchema{Name: n, Description: s.Description}
		req := map[string]bool{}
		for _, r := range s.Required {
			req[r] = true
		}
		props := make([]string, 0, len(s.Properties))
		for p := range s.Properties {
			props = append(props, p)
		}
		sort.Strings(props)
		for _, p := range props {
			pr := s.Properties[p]
			desc := ""
			if pr.Value != nil {
				desc = pr.Value.Description
			}
			ds.Props = append(ds.Props, docParam{Name: p, Type: typeName(pr), Required: req[p], Description: desc})
		}
		schemas = append(schemas, ds)
	}
	data := struct {
		Title, Version, Description string
		Tags                        []*docTag
		Schemas                     []docSchema
	}{Title: doc.Info.Title, Version: doc.Info.Version, Description: doc.Info.Description, Schemas: schemas}
	for _, n := range order {
		if len(tags[n].Ops) > 0 {
			data.Tags = append(data.Tags, tags[n])
		}
	}
	var b bytes.Buffer
	if err := docsTmpl.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("render /docs: %w", err)
	}
	return b.Bytes(), nil
}
