package cnpg

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"k8s.io/client-go/rest"
)

// fakeAPI is a Kubernetes API server in memory: enough of its REST
// interface (discovery, get, list with label selectors, create, JSON
// merge patch, delete, a pod's log) for the driver, and a stand-in for
// the operator and the kubelet (react), so that the driver's calls run to
// their end. It records every request the driver makes, as the driver
// sends it (config's transport), which the tests compare with what the
// driver sent before (testdata/writes.golden).
type fakeAPI struct {
	t   *testing.T
	srv *httptest.Server

	mu   sync.Mutex
	objs map[string]map[string]any // by path, e.g. /api/v1/namespaces/x/secrets/y
	logs map[string]string         // pod logs by the pod's path
	rv   int
	log  []string
	// react plays the operator and the kubelet after a write to key.
	react func(f *fakeAPI, verb, key string)
	// warn, when set, is a warning the server gives with every answer.
	warn string
}

// kinds maps the resources the driver uses to their kinds.
var kinds = map[string]string{
	"namespaces": "Namespace", "secrets": "Secret", "services": "Service", "pods": "Pod",
	"persistentvolumes": "PersistentVolume", "deployments": "Deployment",
	"clusters": "Cluster", "poolers": "Pooler", "databases": "Database", "backups": "Backup",
	"persistentvolumeclaims": "PersistentVolumeClaim", "storageclasses": "StorageClass",
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	f := &fakeAPI{t: t, objs: map[string]map[string]any{}, logs: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// ref is a parsed request path.
type ref struct {
	prefix        string // /api/v1 or /apis/<group>/<version>
	ns, res, name string
	sub           string
}

func (r ref) collection() string {
	if r.ns != "" {
		return r.prefix + "/namespaces/" + r.ns + "/" + r.res
	}
	return r.prefix + "/" + r.res
}

func (r ref) key() string { return r.collection() + "/" + r.name }

func (r ref) apiVersion() string {
	if r.prefix == "/api/v1" {
		return "v1"
	}
	return strings.TrimPrefix(r.prefix, "/apis/")
}

// parse splits a resource path; ok is false for discovery paths.
func parse(path string) (ref, bool) {
	var r ref
	var rest []string
	segs := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(segs) > 2 && segs[0] == "api":
		r.prefix, rest = "/api/"+segs[1], segs[2:]
	case len(segs) > 3 && segs[0] == "apis":
		r.prefix, rest = "/apis/"+segs[1]+"/"+segs[2], segs[3:]
	default:
		return r, false
	}
	if len(rest) >= 3 && rest[0] == "namespaces" {
		r.ns, rest = rest[1], rest[2:]
	}
	r.res = rest[0]
	if len(rest) > 1 {
		r.name = rest[1]
	}
	if len(rest) > 2 {
		r.sub = rest[2]
	}
	return r, true
}

// discovery answers the requests a client makes to map kinds to
// resources.
func discovery(path string) (any, bool) {
	res := func(names ...string) []map[string]any {
		var out []map[string]any
		for _, n := range names {
			out = append(out, map[string]any{"name": n, "kind": kinds[n], "namespaced": n != "namespaces" && n != "persistentvolumes",
				"verbs": []string{"create", "delete", "get", "list", "patch", "update"}})
		}
		return out
	}
	group := func(name string) map[string]any {
		gv := map[string]any{"groupVersion": name + "/v1", "version": "v1"}
		return map[string]any{"name": name, "versions": []any{gv}, "preferredVersion": gv}
	}
	switch path {
	case "/api":
		return map[string]any{"kind": "APIVersions", "versions": []string{"v1"}}, true
	case "/apis":
		return map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": []any{group("apps"), group("postgresql.cnpg.io")}}, true
	case "/api/v1":
		return map[string]any{"kind": "APIResourceList", "groupVersion": "v1", "resources": res("namespaces", "secrets", "services", "pods", "persistentvolumes")}, true
	case "/apis/apps/v1":
		return map[string]any{"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "apps/v1", "resources": res("deployments")}, true
	case "/apis/postgresql.cnpg.io/v1":
		return map[string]any{"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "postgresql.cnpg.io/v1", "resources": res("clusters", "poolers", "databases", "backups")}, true
	}
	return nil, false
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func status(w http.ResponseWriter, code int, reason, msg string) {
	writeJSON(w, code, map[string]any{"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "reason": reason, "message": msg, "code": code})
}

// canonical renders a JSON document with sorted keys, indented, for the
// record; drop names top-level members left out of it.
func canonical(body []byte, drop ...string) string {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return "  (not JSON) " + string(body)
	}
	if m, ok := v.(map[string]any); ok {
		for _, d := range drop {
			delete(m, d)
		}
	}
	out, _ := json.MarshalIndent(v, "  ", "  ")
	return "  " + string(out)
}

// config is a client configuration for f whose transport records each
// request when the client sends it: in the order of the driver's calls
// and the test's notes, a request a wait loop gave up on included.
func (f *fakeAPI) config() *rest.Config {
	return &rest.Config{Host: f.srv.URL, WrapTransport: func(rt http.RoundTripper) http.RoundTripper {
		return recorder{f: f, next: rt}
	}}
}

// recorder is the transport of config.
type recorder struct {
	f    *fakeAPI
	next http.RoundTripper
}

func (t recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	if _, ok := discovery(r.URL.Path); !ok {
		var body []byte
		if r.Body != nil {
			var err error
			if body, err = io.ReadAll(r.Body); err != nil {
				return nil, err
			}
			_ = r.Body.Close()
			r = r.Clone(r.Context())
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		t.f.mu.Lock()
		t.f.record(r, body)
		t.f.mu.Unlock()
	}
	return t.next.RoundTrip(r)
}

// record notes a request; repeated reads (a wait loop) are noted once.
func (f *fakeAPI) record(r *http.Request, body []byte) {
	q := r.URL.Query()
	line := r.Method + " " + r.URL.Path
	if len(q) > 0 {
		keys := slices.Sorted(maps.Keys(q))
		var parts []string
		for _, k := range keys {
			parts = append(parts, k+"="+strings.Join(q[k], ","))
		}
		line += "?" + strings.Join(parts, "&")
	}
	switch r.Method {
	case http.MethodPatch:
		line += " (" + r.Header.Get("Content-Type") + ")\n" + canonical(body)
	case http.MethodPost:
		// The server ignores a created object's status (a subresource).
		line += "\n" + canonical(body, "status")
	case http.MethodDelete:
		if len(bytes.TrimSpace(body)) > 0 {
			if c := canonical(body, "kind", "apiVersion"); c != "  {}" {
				line += "\n" + c
			}
		}
	}
	if n := len(f.log); r.Method == http.MethodGet && n > 0 && f.log[n-1] == line {
		return
	}
	f.log = append(f.log, line)
}

// note adds a line of the test's own to the record.
func (f *fakeAPI) note(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, "# "+fmt.Sprintf(format, args...))
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	if v, ok := discovery(r.URL.Path); ok {
		writeJSON(w, http.StatusOK, v)
		return
	}
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.warn != "" {
		w.Header().Add("Warning", `299 - "`+f.warn+`"`)
	}
	p, ok := parse(r.URL.Path)
	if !ok || kinds[p.res] == "" {
		status(w, http.StatusNotFound, "NotFound", "no such path "+r.URL.Path)
		return
	}
	switch {
	case r.Method == http.MethodGet && p.name == "":
		f.list(w, r, p)
	case r.Method == http.MethodGet && p.sub == "log":
		text, ok := f.logs[p.key()]
		if !ok {
			status(w, http.StatusNotFound, "NotFound", "no log")
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, text)
	case r.Method == http.MethodGet:
		obj, ok := f.objs[p.key()]
		if !ok {
			status(w, http.StatusNotFound, "NotFound", fmt.Sprintf("%s %q not found", p.res, p.name))
			return
		}
		writeJSON(w, http.StatusOK, obj)
	case r.Method == http.MethodPost && p.name == "":
		var obj map[string]any
		if err := json.Unmarshal(body, &obj); err != nil {
			status(w, http.StatusBadRequest, "BadRequest", err.Error())
			return
		}
		md, _ := obj["metadata"].(map[string]any)
		name, _ := md["name"].(string)
		p.name = name
		if _, dup := f.objs[p.key()]; dup {
			status(w, http.StatusConflict, "AlreadyExists", fmt.Sprintf("%s %q already exists", p.res, name))
			return
		}
		delete(obj, "status")
		obj["apiVersion"], obj["kind"] = p.apiVersion(), kinds[p.res]
		md["creationTimestamp"] = "2026-01-01T00:00:00Z"
		md["uid"] = "uid-" + name
		md["generation"] = 1
		f.rv++
		md["resourceVersion"] = strconv.Itoa(f.rv)
		f.objs[p.key()] = roundTrip(obj)
		created := f.objs[p.key()] // the answer: before the operator acts
		if f.react != nil {
			f.react(f, "create", p.key())
		}
		writeJSON(w, http.StatusCreated, created)
	case r.Method == http.MethodPatch:
		obj, ok := f.objs[p.key()]
		if !ok {
			status(w, http.StatusNotFound, "NotFound", fmt.Sprintf("%s %q not found", p.res, p.name))
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/merge-patch+json" {
			status(w, http.StatusUnsupportedMediaType, "UnsupportedMediaType", ct)
			return
		}
		old, _ := json.Marshal(obj)
		merged, err := jsonpatch.MergePatch(old, body)
		if err != nil {
			status(w, http.StatusBadRequest, "BadRequest", err.Error())
			return
		}
		var next map[string]any
		_ = json.Unmarshal(merged, &next)
		next["status"] = obj["status"] // a subresource
		if next["status"] == nil {
			delete(next, "status")
		}
		md := next["metadata"].(map[string]any)
		if !jsonEqual(obj["spec"], next["spec"]) {
			md["generation"] = md["generation"].(float64) + 1
		}
		if !jsonEqual(obj, next) {
			f.rv++
			md["resourceVersion"] = strconv.Itoa(f.rv)
		}
		f.objs[p.key()] = roundTrip(next)
		patched := f.objs[p.key()]
		if f.react != nil {
			f.react(f, "patch", p.key())
		}
		writeJSON(w, http.StatusOK, patched)
	case r.Method == http.MethodDelete:
		if _, ok := f.objs[p.key()]; !ok {
			status(w, http.StatusNotFound, "NotFound", fmt.Sprintf("%s %q not found", p.res, p.name))
			return
		}
		delete(f.objs, p.key())
		if p.res == "namespaces" {
			for k := range f.objs {
				if strings.Contains(k, "/namespaces/"+p.name+"/") {
					delete(f.objs, k)
				}
			}
		}
		if f.react != nil {
			f.react(f, "delete", p.key())
		}
		writeJSON(w, http.StatusOK, map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Success"})
	default:
		status(w, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method)
	}
}

// list answers a list, across namespaces when the path names none.
func (f *fakeAPI) list(w http.ResponseWriter, r *http.Request, p ref) {
	sel := map[string]string{}
	for _, term := range strings.Split(r.URL.Query().Get("labelSelector"), ",") {
		if k, v, ok := strings.Cut(term, "="); ok {
			sel[k] = v
		}
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	var items []any
	for _, k := range slices.Sorted(maps.Keys(f.objs)) {
		q, _ := parse(k)
		if q.prefix != p.prefix || q.res != p.res || (p.ns != "" && q.ns != p.ns) {
			continue
		}
		labels, _ := f.objs[k]["metadata"].(map[string]any)["labels"].(map[string]any)
		match := true
		for lk, lv := range sel {
			match = match && labels[lk] == lv
		}
		if match && (limit == 0 || len(items) < limit) {
			items = append(items, f.objs[k])
		}
	}
	if items == nil {
		items = []any{}
	}
	if strings.Contains(r.Header.Get("Accept"), "as=PartialObjectMetadataList") {
		var meta []any
		for _, it := range items {
			meta = append(meta, map[string]any{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": it.(map[string]any)["metadata"]})
		}
		if meta == nil {
			meta = []any{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
			"metadata": map[string]any{"resourceVersion": strconv.Itoa(f.rv)}, "items": meta})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"kind": kinds[p.res] + "List", "apiVersion": p.apiVersion(),
		"metadata": map[string]any{"resourceVersion": strconv.Itoa(f.rv)}, "items": items})
}

// roundTrip makes v plain JSON values (float64 numbers, []any, map[string]any).
func roundTrip(v map[string]any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// put stores an object as the server would hold it (a fixture, or the
// operator's write); the caller holds f.mu.
func (f *fakeAPI) put(key string, obj map[string]any) {
	p, _ := parse(key)
	obj["apiVersion"], obj["kind"] = p.apiVersion(), kinds[p.res]
	md, _ := obj["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		obj["metadata"] = md
	}
	md["name"] = p.name
	if p.ns != "" {
		md["namespace"] = p.ns
	}
	if md["resourceVersion"] == nil {
		f.rv++
		md["resourceVersion"] = strconv.Itoa(f.rv)
	}
	if md["creationTimestamp"] == nil {
		md["creationTimestamp"] = "2026-01-01T00:00:00Z"
	}
	f.objs[key] = roundTrip(obj)
}

// edit changes a stored object in place (the test playing the operator).
func (f *fakeAPI) edit(key string, change func(obj map[string]any)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	obj, ok := f.objs[key]
	if !ok {
		f.t.Fatalf("no object %s", key)
	}
	change(obj)
	f.objs[key] = roundTrip(obj)
}

// path walks nested maps, creating them.
func path(obj map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		next, ok := obj[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			obj[k] = next
		}
		obj = next
	}
	return obj
}
