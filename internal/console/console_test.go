package console

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
)

func newTestHandler(t *testing.T) *Handler {
	t.Helper()
	h, err := New()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func get(t *testing.T, h http.Handler, path string, header map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Result()
}

func body(t *testing.T, r *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("gzip body: %v", err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatalf("gzip body: %v", err)
		}
	}
	return b
}

// TestPageSecurityHeaders checks the page's policy: scripts, styles and
// connections from this origin only, no framing, Trusted Types required,
// and a page that revalidates on every load.
func TestPageSecurityHeaders(t *testing.T) {
	t.Parallel()
	h := newTestHandler(t)
	r := get(t, h, "/console/", nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("GET /console/: %d", r.StatusCode)
	}
	csp := r.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
		"frame-ancestors 'none'", "base-uri 'none'", "require-trusted-types-for 'script'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP lacks %q: %s", want, csp)
		}
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "http:", "https:", "*"} {
		if strings.Contains(csp, bad) {
			t.Errorf("CSP allows %q: %s", bad, csp)
		}
	}
	for k, want := range map[string]string{
		"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
		"Cache-Control": "no-cache", "Content-Type": "text/html; charset=utf-8",
	} {
		if got := r.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	page := string(body(t, r))
	// Every script is a file of this origin: no inline script, no handler
	// attributes, no inline style, nothing from another host.
	for _, m := range regexp.MustCompile(`<script[^>]*>`).FindAllString(page, -1) {
		if !strings.Contains(m, `src="`+h.AssetBase()+"/") {
			t.Errorf("inline or foreign script: %s", m)
		}
	}
	if regexp.MustCompile(`(?i)\son[a-z]+\s*=|\sstyle\s*=|<style|//[a-z0-9.-]+\.[a-z]{2,}/`).MatchString(page) {
		t.Errorf("page has inline handlers, inline styles or foreign URLs:\n%s", page)
	}
}

// TestAssetsCompressedAndCached fetches every file the page names (and
// every other embedded file) the way a browser does: compressed, cached for
// a year as immutable, revalidated by ETag.
func TestAssetsCompressedAndCached(t *testing.T) {
	t.Parallel()
	h := newTestHandler(t)
	page := string(body(t, get(t, h, "/console/", map[string]string{"Accept-Encoding": "gzip"})))
	refs := regexp.MustCompile(`(?:href|src)="(/console/assets/[^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 4 {
		t.Fatalf("the page names %d assets", len(refs))
	}
	for _, ref := range refs {
		r := get(t, h, ref[1], map[string]string{"Accept-Encoding": "gzip, deflate, br"})
		if r.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", ref[1], r.StatusCode)
			continue
		}
		if cc := r.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("%s: Cache-Control %q", ref[1], cc)
		}
		ct := r.Header.Get("Content-Type")
		if (strings.Contains(ct, "javascript") || strings.Contains(ct, "css")) && r.ContentLength > 1024 && r.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("%s (%s) is not compressed", ref[1], ct)
		}
		if r.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("%s has no CSP", ref[1])
		}
		name := strings.TrimPrefix(ref[1], h.AssetBase()+"/")
		if got := body(t, r); h.assets[name] == nil || !bytes.Equal(got, h.assets[name].body) {
			t.Errorf("%s: body differs from the asset", ref[1])
		}
		etag := r.Header.Get("ETag")
		if r2 := get(t, h, ref[1], map[string]string{"If-None-Match": etag}); r2.StatusCode != http.StatusNotModified {
			t.Errorf("%s with If-None-Match: %d", ref[1], r2.StatusCode)
		}
	}
	// Without Accept-Encoding, the plain bytes.
	r := get(t, h, h.AssetBase()+"/js/app.js", nil)
	if r.Header.Get("Content-Encoding") != "" {
		t.Error("gzip sent to a client that did not ask for it")
	}
	if r := get(t, h, h.AssetBase()+"/js/app.js", map[string]string{"Accept-Encoding": "gzip;q=0"}); r.Header.Get("Content-Encoding") != "" {
		t.Error("gzip sent to a client that refused it")
	}
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	h := newTestHandler(t)
	for _, c := range []struct {
		method, path string
		status       int
		cache        string
	}{
		{http.MethodGet, "/console", http.StatusMovedPermanently, ""},
		{http.MethodGet, "/console/index.html", http.StatusOK, "no-cache"},
		{http.MethodHead, "/console/", http.StatusOK, "no-cache"},
		{http.MethodGet, "/console/assets/" + h.Version() + "/nope.js", http.StatusNotFound, ""},
		{http.MethodGet, "/console/assets/" + h.Version() + "/index.html", http.StatusNotFound, ""},
		{http.MethodGet, "/console/assets/0123456789abcdef/app.css", http.StatusOK, "no-cache"},
		{http.MethodGet, "/console/assets/" + h.Version() + "/../../console.go", http.StatusNotFound, ""},
		{http.MethodGet, "/console/other", http.StatusNotFound, ""},
		{http.MethodPost, "/console/", http.StatusMethodNotAllowed, ""},
	} {
		req := httptest.NewRequest(c.method, c.path, nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, w.Code, c.status)
		}
		if c.cache != "" && w.Header().Get("Cache-Control") != c.cache {
			t.Errorf("%s %s: Cache-Control %q, want %q", c.method, c.path, w.Header().Get("Cache-Control"), c.cache)
		}
		if w.Header().Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s %s: no X-Frame-Options", c.method, c.path)
		}
	}
}

// TestScriptsBuildNoHTML guards the rule that makes tenant names safe: the
// console's own scripts never turn a string into markup or code. (The
// browser test proves it end to end with names full of markup; Trusted
// Types in the CSP would make such a call throw in the browser.)
func TestScriptsBuildNoHTML(t *testing.T) {
	t.Parallel()
	sinks := regexp.MustCompile(`\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\(\s*['"](style|on)|srcdoc|\bstyle:\s|javascript:`)
	n := 0
	err := fs.WalkDir(files, "ui/js", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		n++
		for i, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "//") {
				continue
			}
			if m := sinks.FindString(line); m != "" {
				t.Errorf("%s:%d uses %s", p, i+1, m)
			}
		}
		return nil
	})
	if err != nil || n < 10 {
		t.Fatalf("read %d scripts: %v", n, err)
	}
	// Nor does the bundle the browser gets (esbuild adds no such call).
	h := newTestHandler(t)
	for name, a := range h.assets {
		if strings.HasSuffix(name, ".js") {
			if m := regexp.MustCompile(`\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write`).Find(a.body); m != nil {
				t.Errorf("served %s uses %s", name, m)
			}
		}
	}
}

// TestBundle checks the served scripts: one minified entry module the page
// names, with every view, tab and uPlot in chunks of their own, and no
// script source served as it is.
func TestBundle(t *testing.T) {
	t.Parallel()
	h := newTestHandler(t)
	page := string(body(t, get(t, h, "/console/", nil)))
	m := regexp.MustCompile(`<script type="module" src="` + regexp.QuoteMeta(h.AssetBase()) + `/(js/app-[A-Z0-9]+\.js)"></script>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the page names no entry module:\n%s", page)
	}
	entry := h.assets[m[1]]
	if entry == nil || bytes.Count(entry.body, []byte("\n")) > 20 {
		t.Fatalf("entry module %s missing or not minified", m[1])
	}
	chunks, uplot := 0, false
	for name, a := range h.assets {
		if strings.HasPrefix(name, "js/chunk-") {
			chunks++
			uplot = uplot || bytes.Contains(a.body, []byte("u-legend"))
		}
	}
	if chunks < 10 || !uplot {
		t.Errorf("%d chunks, uPlot in one: %v; want the views, tabs and uPlot split out", chunks, uplot)
	}
	if bytes.Contains(entry.body, []byte("u-legend")) {
		t.Error("uPlot is in the entry module: the first page would load it")
	}
	for _, src := range []string{"js/app.js", "js/ui.js", "vendor/uplot/uPlot.esm.js"} {
		if r := get(t, h, h.AssetBase()+"/"+src, nil); r.StatusCode != http.StatusNotFound {
			t.Errorf("source %s is served (%d)", src, r.StatusCode)
		}
	}
}

// TestVendoredLibrariesMatchLock checks the vendored uPlot is the version
// package-lock.json pins (make console-vendor refreshes both).
func TestVendoredLibrariesMatchLock(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	var lock struct {
		Packages map[string]struct {
			Version   string `json:"version"`
			Integrity string `json:"integrity"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(raw, &lock); err != nil {
		t.Fatal(err)
	}
	p := lock.Packages["node_modules/uplot"]
	if p.Version == "" || !strings.HasPrefix(p.Integrity, "sha512-") {
		t.Fatalf("package-lock.json does not pin uplot: %+v", p)
	}
	js, err := fs.ReadFile(files, "ui/vendor/uplot/uPlot.esm.js")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(js[:min(len(js), 400)], []byte("(v"+p.Version+")")) {
		t.Errorf("vendored uPlot is not version %s:\n%s", p.Version, js[:min(len(js), 400)])
	}
	for _, f := range []string{"uPlot.min.css", "LICENSE"} {
		if _, err := fs.Stat(files, "ui/vendor/uplot/"+f); err != nil {
			t.Error(err)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	t.Parallel()
	for h, want := range map[string]bool{
		"": false, "gzip": true, "GZIP": true, "deflate, gzip;q=1.0": true, "gzip;q=0": false, "gzip; q=0": false,
		"br": false, "*": true, "identity": false, "gzip;q=0.5": true,
	} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", h, got, want)
		}
	}
}
