package console_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/console/consoletest"
	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
	"github.com/dbaasd/dbaasd/internal/testutil/syncbuf"
)

func TestMain(m *testing.M) { os.Exit(at.Main(m)) }

// Waits of the browser walks: engines start in seconds, but the machine
// is shared.
const (
	waitActive = 3 * time.Minute
	waitObject = 90 * time.Second
	waitUI     = 30 * time.Second
)

// ui is one browser on a dbaasd, for one test.
type ui struct {
	t *testing.T
	b *consoletest.Browser
	e *at.Env
}

// openUI starts a headless Chromium for the test. Without -short, a missing
// Chromium fails the test: scripts/install-deps.sh installs it.
func openUI(t *testing.T, e *at.Env, width, height int) *ui {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests start Chromium and engines")
	}
	b, err := consoletest.Start(context.Background(), e.URL, consoletest.Options{Width: width, Height: height, Logf: func(f string, a ...any) {
		if os.Getenv("DBAASD_TEST_LOG") != "" {
			t.Logf(f, a...)
		}
	}})
	if err != nil {
		t.Fatalf("start the browser: %v", err)
	}
	u := &ui{t: t, b: b, e: e}
	t.Cleanup(func() {
		if t.Failed() {
			u.shot(filepath.Join(os.TempDir(), "dbaasd-console-"+strings.ReplaceAll(t.Name(), "/", "-")+".png"))
		}
		for _, p := range b.Problems() {
			t.Errorf("browser: %s", p)
		}
		b.Close()
	})
	return u
}

func (u *ui) shot(path string) {
	if err := u.b.Screenshot(path, false); err == nil {
		u.t.Logf("screenshot: %s", path)
	}
}

// must stops the test on an error of the browser, with a screenshot.
func (u *ui) must(err error) {
	u.t.Helper()
	if err != nil {
		u.t.Fatal(err)
	}
}

func (u *ui) wait(js string, d time.Duration) {
	u.t.Helper()
	start := time.Now()
	u.must(u.b.Wait(js, d))
	if el := time.Since(start); el > 3*time.Second {
		u.t.Logf("waited %.1fs for %.80s", el.Seconds(), js)
	}
}
func (u *ui) click(text string)          { u.t.Helper(); u.must(u.b.ClickText("", text)) }
func (u *ui) clickIn(scope, text string) { u.t.Helper(); u.must(u.b.ClickText(scope, text)) }
func (u *ui) fill(css, v string)         { u.t.Helper(); u.must(u.b.Fill(css, v)) }
func (u *ui) goTo(route string)          { u.t.Helper(); u.must(u.b.Go(route)); u.ready() }

// ready waits for the current view to show its data.
func (u *ui) ready() {
	u.t.Helper()
	u.wait(`document.querySelector('#main .page[data-view-ready]') && !document.querySelector('#main [aria-busy="true"]')`, waitUI)
}

func (u *ui) text(css string) string {
	u.t.Helper()
	s, err := u.b.Text(css)
	u.must(err)
	return s
}

func (u *ui) eval(js string, out any) { u.t.Helper(); u.must(u.b.Eval(js, out)) }

func js(s string) string { return fmt.Sprintf("%q", s) }

// row is a JavaScript expression for the table row of an object by name.
func row(name string) string {
	return `document.querySelector('tr[data-name="' + CSS.escape(` + js(name) + `) + '"]')`
}

// signInUser signs in with the identity form, by keyboard only: the name
// field has the focus, Tab moves to the password, Enter submits.
func (u *ui) signInUser(name, password string) {
	u.t.Helper()
	u.must(u.b.Open("/datastores"))
	u.wait(`location.hash === '#/signin' && document.activeElement && document.activeElement.name === 'username'`, waitUI)
	u.must(u.b.Key(name))
	u.must(u.b.Key(consoletest.Tab))
	u.must(u.b.Key(password))
	u.must(u.b.Key(consoletest.Enter))
	u.wait(`location.hash === '#/datastores' && document.documentElement.dataset.ready`, waitUI)
	u.ready()
}

// signInToken signs in with an API token.
func (u *ui) signInToken(token string) {
	u.t.Helper()
	u.must(u.b.Open("/signin"))
	u.click("API token")
	u.fill(`input[name=token]`, token)
	u.clickIn("form", "Sign in")
	u.wait(`location.hash === '#/datastores'`, waitUI)
	u.ready()
}

// createDatastore fills the create form and returns the new datastore's ID.
func (u *ui) createDatastore(engine, name string, extra func()) string {
	u.t.Helper()
	u.goTo("/datastores/new")
	u.must(u.b.Click(`[data-engine="` + engine + `"]`))
	u.wait(`document.querySelector('[data-engine="`+engine+`"]').getAttribute('aria-checked') === 'true'`, waitUI)
	u.fill(`input[name=name]`, name)
	if extra != nil {
		extra()
	}
	u.clickIn("form", "Create datastore")
	u.wait(`/^#\/datastores\/[0-9a-f-]{36}$/.test(location.hash)`, waitUI)
	var hash string
	u.eval(`location.hash`, &hash)
	return strings.TrimPrefix(hash, "#/datastores/")
}

// watchActive shows the list and watches the datastore's row turn ACTIVE.
func (u *ui) watchActive(id string) {
	u.t.Helper()
	u.goTo("/datastores")
	row := `document.querySelector('tr[data-id="` + id + `"]')`
	u.wait(row, waitUI)
	u.wait(row+`.dataset.status === 'ACTIVE'`, waitActive)
}

// headStatus waits for the datastore page's header to show a status.
func (u *ui) headStatus(status string, d time.Duration) {
	u.t.Helper()
	u.wait(`(document.querySelector('.page-head [data-status]') || {}).dataset?.status === '`+status+`'`, d)
}

// addObject opens an "Add …" dialog, fills it and submits it. When the API
// answers that the datastore is not ACTIVE (the prober may see a node
// late on a loaded machine), it waits for the datastore and submits
// again, as a person would.
func (u *ui) addObject(open, submit string, fields map[string]string) {
	u.t.Helper()
	u.click(open)
	u.wait(`document.querySelector('dialog[open]')`, waitUI)
	for css, v := range fields {
		u.fill(`dialog[open] `+css, v)
	}
	u.submitDialog(submit)
}

// submitDialog clicks the dialog's submit button, and again once the
// datastore is ACTIVE when the API refused because it was not.
func (u *ui) submitDialog(submit string) {
	u.t.Helper()
	for try := 0; ; try++ {
		u.clickIn("dialog[open]", submit)
		u.wait(`!document.querySelector('dialog[open]') || document.querySelector('dialog[open] .form-error:not(:empty), dialog[open] .error:not(:empty)')`, waitUI)
		var msg string
		u.eval(`(document.querySelector('dialog[open] .form-error:not(:empty), dialog[open] .error:not(:empty)') || {}).textContent || ''`, &msg)
		if !strings.Contains(msg, "must be ACTIVE") || try == 5 {
			return
		}
		u.t.Logf("the API refused while the datastore was not ACTIVE (%s): waiting", msg)
		u.headStatus("ACTIVE", waitActive)
	}
}

// rowActive waits for the table row of an object to be ACTIVE.
func (u *ui) rowActive(name string) {
	u.t.Helper()
	u.wait(`(`+row(name)+` || {dataset: {}}).dataset.status === 'ACTIVE'`, waitObject)
}

// copyConnection clicks the Copy button of a connection string and returns
// what landed on the clipboard (checked to be what the page shows).
func (u *ui) copyConnection(key string) string {
	u.t.Helper()
	code := `code[data-conn="` + key + `"]`
	u.wait(`document.querySelector('`+code+`')`, waitUI)
	shown := u.text(code)
	u.must(u.b.Click(code + ` + button`))
	var got string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s, err := u.b.Clipboard()
		if err == nil && s != "" {
			got = s
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got != shown {
		u.t.Fatalf("clipboard %q, the page shows %q", got, shown)
	}
	return got
}

// deleteDatastore deletes from the settings tab, typing the name to confirm.
func (u *ui) deleteDatastore(id, name string) {
	u.t.Helper()
	u.goTo("/datastores/" + id + "/settings")
	u.click("Delete datastore")
	u.wait(`document.querySelector('dialog[open]')`, waitUI)
	var title string
	u.eval(`document.querySelector('dialog[open] h2').textContent`, &title)
	if !strings.Contains(title, name) {
		u.t.Errorf("the confirmation does not name the datastore: %q", title)
	}
	// A wrong name is refused.
	u.fill(`dialog[open] input[name=confirm-name]`, name+"x")
	u.clickIn("dialog[open]", "Delete")
	u.wait(`document.querySelector('dialog[open] .error:not(:empty)')`, waitUI)
	u.fill(`dialog[open] input[name=confirm-name]`, name)
	u.clickIn("dialog[open]", "Delete")
	u.wait(`location.hash === '#/datastores'`, waitUI)
	u.ready()
	u.wait(`!document.querySelector('tr[data-id="`+id+`"]')`, waitActive)
}

// shell runs a copied command line with extra arguments and environment.
func shell(t *testing.T, cmdline string, env []string, extra ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := []string{"-c", cmdline + ` "$@"`, "sh"}
	args = append(args, extra...)
	cmd := exec.CommandContext(ctx, "sh", args...)
	cmd.Env = append(os.Environ(), "PATH="+os.Getenv("PATH")+":/usr/lib/postgresql/15/bin")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// withTTY runs a copied command line in a pseudo-terminal (script(1)) and
// types password at its password prompt, as a person does.
func withTTY(t *testing.T, cmdline, password string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "script", "-qec", cmdline, "/dev/null")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(strings.ToLower(out.String()), "password") && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // the prompt turns echo off before it reads
	_, _ = io.WriteString(in, password+"\n")
	err = cmd.Wait()
	return out.String(), err
}

var hostPort = regexp.MustCompile(`(\d+\.\d+\.\d+\.\d+):(\d+)`)
