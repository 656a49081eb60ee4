package consoletest

import (
	"context"
	"fmt"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Load is how long a first page of the console took, from the start of the
// navigation, in a browser with nothing cached.
type Load struct {
	// Ready is when the page showed its content (the sign-in form, or the
	// datastore list with the API's answer): the console's own mark.
	Ready time.Duration
	// LoadEvent is the browser's load event (every file the page names).
	LoadEvent time.Duration
	// Bytes is what went over the wire (compressed), Requests how many.
	Bytes, Requests int
}

func (l Load) String() string {
	return fmt.Sprintf("ready %.0f ms, load event %.0f ms, %d requests, %.1f KB", ms(l.Ready), ms(l.LoadEvent), l.Requests, float64(l.Bytes)/1024)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// measureScript reads the timings of the current document.
const measureScript = `(() => {
	const nav = performance.getEntriesByType('navigation')[0];
	const res = performance.getEntriesByType('resource');
	const bytes = (nav ? nav.transferSize : 0) + res.reduce((a, r) => a + (r.transferSize || 0), 0);
	return {ready: Number(document.documentElement.dataset.ready || 0), load: nav ? nav.loadEventEnd : 0, bytes, requests: res.length + 1};
})()`

func (b *Browser) measure(route string) (Load, error) {
	// A page of the same origin first, so the renderer process is running
	// (its start is the browser's cost, not the page's).
	if err := chromedp.Do(b.ctx, chromedp.Navigate(b.Base+"/healthz")); err != nil {
		return Load{}, err
	}
	if _, err := chromedp.Call(b.ctx, network.ClearBrowserCache, cdp.Empty{}); err != nil {
		return Load{}, err
	}
	if err := chromedp.Do(b.ctx, chromedp.Navigate(b.Base+"/console/#"+route)); err != nil {
		return Load{}, err
	}
	if err := b.Wait(`document.documentElement.dataset.ready && performance.getEntriesByType('navigation')[0].loadEventEnd > 0`, 30*time.Second); err != nil {
		return Load{}, err
	}
	var m struct {
		Ready, Load     float64
		Bytes, Requests int
	}
	if err := b.Eval(measureScript, &m); err != nil {
		return Load{}, err
	}
	return Load{Ready: time.Duration(m.Ready * float64(time.Millisecond)), LoadEvent: time.Duration(m.Load * float64(time.Millisecond)),
		Bytes: m.Bytes, Requests: m.Requests}, nil
}

// FirstLoads measures, in a browser with an empty cache, the two first
// pages of the console: the sign-in page a new visitor gets, and the
// datastore list a signed-in person gets (with its API calls), signed in
// with an API token.
func FirstLoads(ctx context.Context, base, token string) (signin, list Load, err error) {
	b, err := Start(ctx, base, Options{})
	if err != nil {
		return Load{}, Load{}, err
	}
	defer b.Close()
	if signin, err = b.measure("/signin"); err != nil {
		return Load{}, Load{}, fmt.Errorf("sign-in page: %w", err)
	}
	if err := b.Eval(fmt.Sprintf(`sessionStorage.setItem('dbaasd.console.session', JSON.stringify({token: %s, kind: 'token', project: '', user: 'API token'}))`, quote(token)), nil); err != nil {
		return Load{}, Load{}, err
	}
	if list, err = b.measure("/datastores"); err != nil {
		return Load{}, Load{}, fmt.Errorf("datastore list: %w", err)
	}
	if p := b.Problems(); len(p) > 0 {
		return signin, list, fmt.Errorf("the page reported problems: %v", p)
	}
	return signin, list, nil
}

// PageLoad loads one URL in a fresh browser with nothing cached (after a
// first page of the same origin, as FirstLoads does) and returns the time
// of its load event: the baseline of a page that needs nothing more.
func PageLoad(ctx context.Context, url, warmURL string) (time.Duration, error) {
	b, err := Start(ctx, url, Options{})
	if err != nil {
		return 0, err
	}
	defer b.Close()
	if err := chromedp.Do(b.ctx, chromedp.Navigate(warmURL)); err != nil {
		return 0, err
	}
	if _, err := chromedp.Call(b.ctx, network.ClearBrowserCache, cdp.Empty{}); err != nil {
		return 0, err
	}
	if err := chromedp.Do(b.ctx, chromedp.Navigate(url)); err != nil {
		return 0, err
	}
	if err := b.Wait(`performance.getEntriesByType('navigation')[0].loadEventEnd > 0`, 30*time.Second); err != nil {
		return 0, err
	}
	var end float64
	if err := b.Eval(`performance.getEntriesByType('navigation')[0].loadEventEnd`, &end); err != nil {
		return 0, err
	}
	return time.Duration(end * float64(time.Millisecond)), nil
}
