// Package consoletest drives the web console in a real headless Chromium
// (Debian's, at /usr/bin/chromium, through chromedp): the browser tests of
// the console and the load-time figure of `make bench` use it.
package consoletest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Chromium returns the path of the Chromium binary (DBAASD_CHROMIUM, or
// chromium in PATH), or an error saying how to install it.
func Chromium() (string, error) {
	if p := os.Getenv("DBAASD_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("chromium not found in PATH: scripts/install-deps.sh installs Debian's chromium")
}

// Options configure a browser.
type Options struct {
	Width, Height int
	// Logf, when set, receives the page's console messages.
	Logf func(format string, args ...any)
}

// Browser is one headless Chromium with one tab, on a profile of its own
// (a fresh user data dir: nothing cached, nothing stored).
type Browser struct {
	Base    string // http://host:port of dbaasd
	ctx     context.Context
	cancel  func()
	dataDir string

	mu       sync.Mutex
	problems []string
}

// watchScript runs in every document before the page's own scripts: it
// records Content Security Policy violations (for Problems) and adds up
// layout shifts not caused by input (for LayoutShift).
const watchScript = `window.__csp = []; window.__cls = 0;
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
window.__clsLog = [];
const __desc = (n) => n ? (n.nodeName + (n.id ? '#' + n.id : '') + (n.className && typeof n.className === 'string' ? '.' + n.className.split(' ').join('.') : '')) : '?';
try { new PerformanceObserver((l) => { for (const e of l.getEntries()) if (!e.hadRecentInput) { window.__cls += e.value; window.__clsLog.push(e.value.toFixed(3) + ' at ' + Math.round(e.startTime) + 'ms: ' + e.sources.map((s) => __desc(s.node) + ' ' + Math.round(s.previousRect.y) + '→' + Math.round(s.currentRect.y)).join(', ')); } }).observe({type: 'layout-shift', buffered: true}); } catch (e) {}`

// Start launches Chromium with the flags this machine needs (no sandbox
// as root, no GPU, no network of its own: no QUIC, no background
// networking, no component updates, no sync).
func Start(ctx context.Context, base string, o Options) (*Browser, error) {
	exe, err := Chromium()
	if err != nil {
		return nil, err
	}
	if o.Width == 0 {
		o.Width, o.Height = 1280, 900
	}
	dir, err := os.MkdirTemp("", "dbaasd-chromium")
	if err != nil {
		return nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(dir),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true), chromedp.Flag("lang", "en-US"),
		chromedp.Env("TZ=UTC"),
		chromedp.WindowSize(o.Width, o.Height))
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	tctx, tcancel := chromedp.NewContext(actx)
	b := &Browser{Base: strings.TrimSuffix(base, "/"), ctx: tctx, dataDir: dir}
	b.cancel = func() {
		tcancel()
		acancel()
		_ = os.RemoveAll(dir)
	}
	msgs := chromedp.Console(tctx)
	if err := chromedp.Do(tctx, chromedp.EmulateViewport(int64(o.Width), int64(o.Height))); err != nil {
		b.cancel()
		return nil, fmt.Errorf("start chromium: %w", err)
	}
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if o.Logf != nil {
				o.Logf("browser console %s: %s", m.Type, m)
			}
			// An error answer of the API (or the browser's favicon.ico probe) is
			// logged as a failed resource: the console handles those itself.
			// A console file that fails to load is a problem.
			failed := strings.Contains(m.Text, "Failed to load resource") && !strings.Contains(m.URL, "/console/assets/")
			if (m.Type == chromedp.ConsoleException || m.Type == chromedp.ConsoleError) && !failed {
				b.mu.Lock()
				b.problems = append(b.problems, fmt.Sprintf("%s: %s (%s:%d)", m.Type, m, m.URL, m.Line+1))
				b.mu.Unlock()
			}
		}
	}()
	for _, perm := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(tctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: perm}, Setting: browser.PermissionSettingGranted, Origin: b.Base,
		}); err != nil {
			b.cancel()
			return nil, fmt.Errorf("grant %s: %w", perm, err)
		}
	}
	if _, err := chromedp.Call(tctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		b.cancel()
		return nil, fmt.Errorf("focus emulation: %w", err)
	}
	if _, err := chromedp.Call(tctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: watchScript}); err != nil {
		b.cancel()
		return nil, fmt.Errorf("add watch script: %w", err)
	}
	return b, nil
}

// Close ends the browser and removes its profile.
func (b *Browser) Close() { b.cancel() }

// Context is the tab's context (for chromedp actions of the caller's own).
func (b *Browser) Context() context.Context { return b.ctx }

// Problems returns the page's uncaught exceptions, console errors (but
// error answers of the API) and Content Security Policy violations so far.
func (b *Browser) Problems() []string {
	b.mu.Lock()
	out := append([]string(nil), b.problems...)
	b.mu.Unlock()
	var csp []string
	if err := b.Eval(`window.__csp || []`, &csp); err == nil {
		for _, v := range csp {
			out = append(out, "CSP violation: "+v)
		}
	}
	return out
}

// LayoutShift returns the cumulative layout shift of the current document
// (how far content moved while the page loaded, without input) with what
// moved, and resets it.
func (b *Browser) LayoutShift() (float64, []string, error) {
	var v struct {
		Value   float64
		Sources []string
	}
	err := b.Eval(`(() => { const v = {value: window.__cls || 0, sources: window.__clsLog || []}; window.__cls = 0; window.__clsLog = []; return v; })()`, &v)
	return v.Value, v.Sources, err
}

// Open loads the console at a route ("/datastores") in a new document (a
// full page load, also when the console is already shown).
func (b *Browser) Open(route string) error {
	return chromedp.Do(b.ctx, chromedp.Navigate("about:blank"), chromedp.Navigate(b.Base+"/console/#"+route))
}

// Go moves to a route inside the loaded console (as a link would).
func (b *Browser) Go(route string) error {
	return b.Eval(fmt.Sprintf(`location.hash = %s`, quote("#"+route)), nil)
}

// Eval evaluates JavaScript (awaiting a promise) and decodes its JSON
// result into out (nil: ignored).
func (b *Browser) Eval(js string, out any) error {
	raw, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	if err != nil {
		return fmt.Errorf("eval %q: %w", short(js), err)
	}
	if out == nil || len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("eval %q: decode %s: %w", short(js), raw, err)
	}
	return nil
}

// Wait polls a JavaScript expression until it is truthy. A poll that
// began in a document being replaced (a navigation settling) loses its
// JavaScript context with it; the wait then goes on in the new one.
func (b *Browser) Wait(js string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		ctx, cancel := context.WithTimeout(b.ctx, left+5*time.Second)
		_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(left), chromedp.WithPollingInterval(100*time.Millisecond)))
		cancel()
		if err == nil {
			return nil
		}
		if !contextGone(err) || time.Until(deadline) < 100*time.Millisecond {
			return fmt.Errorf("waiting %s for %s: %w", timeout, short(js), err)
		}
	}
}

// contextGone reports whether err says the page's JavaScript context went
// away under a call (the document was replaced).
func contextGone(err error) bool {
	s := err.Error()
	return strings.Contains(s, "Cannot find context with specified id") || strings.Contains(s, "Execution context was destroyed")
}

// ClickText clicks, with the mouse, the visible button or link inside
// scope (a CSS selector, "" for the page) whose text is text.
func (b *Browser) ClickText(scope, text string) error {
	return b.clickJS(fmt.Sprintf(`(() => {
		const root = %s ? document.querySelector(%s) : document;
		if (!root) return null;
		return [...root.querySelectorAll('button, a, [role=radio], [role=tab]')].find((e) => e.textContent.trim() === %s && e.offsetParent !== null && !e.disabled) || null;
	})()`, quote(scope), quote(scope), quote(text)), "a button "+quote(text))
}

// Click clicks, with the mouse, the first visible element matching a CSS
// selector.
func (b *Browser) Click(css string) error {
	return b.clickJS(fmt.Sprintf(`[...document.querySelectorAll(%s)].find((e) => e.offsetParent !== null && !e.disabled) || null`, quote(css)), css)
}

// clickJS finds an element with js (waiting up to 20 s for it), scrolls it
// into view and clicks its centre with the mouse: the page sees a real
// user's click (with the user activation a copy to the clipboard needs).
func (b *Browser) clickJS(find, what string) error {
	var pt *struct{ X, Y float64 }
	deadline := time.Now().Add(20 * time.Second)
	for {
		pt = nil
		// The point is taken only once the element stays put for a frame
		// and is what a click there hits: a view still rendering above it
		// moves it, and a click at its old place lands on something else.
		err := b.Eval(fmt.Sprintf(`(async () => {
			const e = %s; if (!e) return null;
			e.scrollIntoView({block: 'center'});
			const frame = () => new Promise((ok) => requestAnimationFrame(() => ok()));
			await frame();
			const r = e.getBoundingClientRect();
			await frame();
			const r2 = e.getBoundingClientRect();
			if (r.x !== r2.x || r.y !== r2.y || r.width === 0) return null;
			const X = r.x + r.width / 2, Y = r.y + r.height / 2;
			const hit = document.elementFromPoint(X, Y);
			if (!hit || !(hit === e || e.contains(hit))) return null;
			return {X, Y};
		})()`, find), &pt)
		if err != nil {
			return err
		}
		if pt != nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no %s to click", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return chromedp.Do(b.ctx, chromedp.MouseClickXY(pt.X, pt.Y))
}

// Fill sets the value of the visible input, select or textarea matching a
// CSS selector and fires its input and change events.
func (b *Browser) Fill(css, value string) error {
	if err := b.Wait(fmt.Sprintf(`[...document.querySelectorAll(%s)].some((e) => e.offsetParent !== null)`, quote(css)), 20*time.Second); err != nil {
		return err
	}
	return b.Eval(fmt.Sprintf(`(() => {
		const e = [...document.querySelectorAll(%s)].find((x) => x.offsetParent !== null);
		e.focus();
		e.value = %s;
		e.dispatchEvent(new Event('input', {bubbles: true}));
		e.dispatchEvent(new Event('change', {bubbles: true}));
		return true;
	})()`, quote(css), quote(value)), nil)
}

// Type focuses the element matching a CSS selector and types text with
// key events, as a person does.
func (b *Browser) Type(css, text string) error {
	return chromedp.Do(b.ctx, chromedp.Focus(chromedp.CSS(css)), chromedp.KeyEvent(text))
}

// Key sends key events (text, or kb.Tab, kb.Enter…) to the focused element.
func (b *Browser) Key(keys string) error {
	return chromedp.Do(b.ctx, chromedp.KeyEvent(keys))
}

// Keys of the keyboard, for Key.
const (
	Tab        = kb.Tab
	Enter      = kb.Enter
	Escape     = kb.Escape
	ArrowRight = kb.ArrowRight
)

// Text returns the text of the first element matching a CSS selector ("" if none).
func (b *Browser) Text(css string) (string, error) {
	var s string
	err := b.Eval(fmt.Sprintf(`(document.querySelector(%s) || {}).textContent || ''`, quote(css)), &s)
	return s, err
}

// Clipboard returns the text on the clipboard.
func (b *Browser) Clipboard() (string, error) {
	var s string
	err := b.Eval(`navigator.clipboard.readText()`, &s)
	return s, err
}

// Viewport sets the size of the page.
func (b *Browser) Viewport(w, h int) error {
	return chromedp.Do(b.ctx, chromedp.EmulateViewport(int64(w), int64(h)))
}

// Screenshot writes a PNG of the page (the whole page when full).
func (b *Browser) Screenshot(path string, full bool) error {
	var (
		buf []byte
		err error
	)
	if full {
		buf, err = chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	} else {
		buf, err = chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	}
	if err != nil {
		return err
	}
	return os.WriteFile(path, buf, 0o644)
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func short(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}
