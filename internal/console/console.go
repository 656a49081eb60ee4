// Package console serves dbaasd's web console at /console: a page and its
// scripts, styles and vendored libraries, embedded in the binary. The
// console is a client of the public API like any other — it calls /v1 and
// the identity login with the user's token and nothing else — so this
// package only serves files.
//
// The scripts are ES modules under ui/js, bundled and minified by esbuild
// when dbaasd starts (bundle.go). Every asset lives under
// /console/assets/<version>/, where the version is a hash of all served
// files: assets are cached for a year as immutable,
// and the page itself (which names the version) is revalidated on every
// load. Bodies are compressed once at start and served gzipped to clients
// that accept it. Every answer carries a Content Security Policy that
// allows scripts, styles and connections to this origin only, forbids
// framing, and requires Trusted Types, so the console can neither run
// inline script nor turn a string into HTML.
package console

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"
)

// Prefix is the path the console is served on.
const Prefix = "/console"

//go:embed ui
var files embed.FS

// CSP is the Content Security Policy of every console answer.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
	"connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; " +
	"require-trusted-types-for 'script'; trusted-types 'none'"

type asset struct {
	body, gz []byte
	ctype    string
	etag     string
}

// contentTypes of the files the console embeds.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
	".json": "application/json",
	".txt":  "text/plain; charset=utf-8",
	"":      "text/plain; charset=utf-8", // LICENSE
}

// Handler serves the console.
type Handler struct {
	version string
	index   *asset
	assets  map[string]*asset // by path under ui/, e.g. "js/app.js"
}

// New prepares the console: it reads the embedded files, computes their
// version and compresses them.
func New() (*Handler, error) {
	return newHandler(files)
}

func newHandler(fsys fs.FS) (*Handler, error) {
	sub, err := fs.Sub(fsys, "ui")
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	raw := map[string][]byte{}
	var names []string
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		raw[p] = b
		names = append(names, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("console: read assets: %w", err)
	}
	tmpl, ok := raw["index.html"]
	if !ok {
		return nil, fmt.Errorf("console: ui/index.html is missing")
	}
	js, err := bundle(sub)
	if err != nil {
		return nil, err
	}
	// What is served: the bundled scripts, and every other file but the
	// script sources (the stylesheets, icons, licenses).
	served := map[string][]byte{}
	for _, n := range names {
		if n == "index.html" || path.Ext(n) == ".js" {
			continue
		}
		served[n] = raw[n]
	}
	for n, b := range js.files {
		served[n] = b
	}
	names = names[:0]
	for n := range served {
		names = append(names, n)
	}
	sort.Strings(names)
	sum := sha256.New()
	for _, n := range append(names, "index.html") {
		b := served[n]
		if n == "index.html" {
			b = tmpl
		}
		_, _ = fmt.Fprintf(sum, "%s\x00%d\x00", n, len(b))
		sum.Write(b)
	}
	h := &Handler{version: hex.EncodeToString(sum.Sum(nil))[:16], assets: map[string]*asset{}}
	base := h.AssetBase()
	for _, n := range names {
		a, err := newAsset(n, served[n])
		if err != nil {
			return nil, err
		}
		h.assets[n] = a
	}
	// The chunks the first page imports are announced at once, so the
	// browser fetches them beside the entry module, not after it.
	var preload strings.Builder
	for _, n := range js.preload {
		fmt.Fprintf(&preload, "<link rel=\"modulepreload\" href=\"%s/%s\">\n", base, n)
	}
	page := bytes.ReplaceAll(tmpl, []byte("{{assets}}"), []byte(base))
	page = bytes.ReplaceAll(page, []byte("{{entry}}"), []byte(js.entry))
	page = bytes.Replace(page, []byte("{{preload}}\n"), []byte(preload.String()), 1)
	if h.index, err = newAsset("index.html", page); err != nil {
		return nil, err
	}
	return h, nil
}

func newAsset(name string, body []byte) (*asset, error) {
	ctype, ok := contentTypes[path.Ext(name)]
	if !ok {
		ctype = "application/octet-stream"
	}
	sum := sha256.Sum256(body)
	a := &asset{body: body, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:])[:20] + `"`}
	if compressible(ctype) && len(body) > 512 {
		var b bytes.Buffer
		zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
		if err != nil {
			return nil, err
		}
		if _, err := zw.Write(body); err != nil {
			return nil, fmt.Errorf("console: compress %s: %w", name, err)
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("console: compress %s: %w", name, err)
		}
		if b.Len() < len(body) {
			a.gz = b.Bytes()
		}
	}
	return a, nil
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.Contains(ctype, "javascript") ||
		strings.Contains(ctype, "json") || strings.Contains(ctype, "svg")
}

// Version identifies the embedded files (a hash of them all).
func (h *Handler) Version() string { return h.version }

// AssetBase is the path the current assets are served under.
func (h *Handler) AssetBase() string { return Prefix + "/assets/" + h.version }

// ServeHTTP serves the page at /console/ and the assets under
// /console/assets/<version>/.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	switch {
	case p == Prefix:
		http.Redirect(w, r, Prefix+"/", http.StatusMovedPermanently)
	case p == Prefix+"/" || p == Prefix+"/index.html":
		hd.Set("Cache-Control", "no-cache")
		h.serve(w, r, h.index)
	case strings.HasPrefix(p, Prefix+"/assets/"):
		rest := strings.TrimPrefix(p, Prefix+"/assets/")
		version, name, ok := strings.Cut(rest, "/")
		a := h.assets[name]
		if !ok || a == nil || name == "index.html" {
			http.NotFound(w, r)
			return
		}
		if version == h.version {
			hd.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			// A page of an older (or newer) dbaasd asks for a file by
			// another version: serve what there is, but never cache it.
			hd.Set("Cache-Control", "no-cache")
		}
		h.serve(w, r, a)
	default:
		http.NotFound(w, r)
	}
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, a *asset) {
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	hd.Set("ETag", a.etag)
	hd.Add("Vary", "Accept-Encoding")
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatches(match, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if a.gz != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		hd.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	hd.Set("Content-Length", fmt.Sprint(len(body)))
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	_, _ = w.Write(body)
}

func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding header accepts gzip
// (and does not refuse it with q=0).
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.TrimSpace(name) != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

// Lazy returns a handler that prepares the console when it is first asked
// for (bundling and compressing the scripts takes memory and time a dbaasd
// nobody opens the console of should not spend at start).
func Lazy() http.Handler {
	var (
		once sync.Once
		h    *Handler
		err  error
	)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { h, err = New() })
		if err != nil {
			http.Error(w, "console unavailable: "+err.Error(), http.StatusInternalServerError)
			return
		}
		h.ServeHTTP(w, r)
	})
}
