// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package dashboard_test

// The dashboard in a real browser: Debian's headless Chromium driven by
// chromedp against a running gateway with traffic. .ci/run installs
// chromium; where there is none the tests skip and say how to get it.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/warmgate/warmgate/internal/buildinfo"
	"github.com/warmgate/warmgate/internal/mock"
)

// stepTimeout bounds each browser step, so that a page that never shows
// what is waited for fails the test instead of hanging it.
const stepTimeout = 20 * time.Second

// chromium returns the browser binary, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Skip("no chromium binary (looked for /usr/bin/chromium and chromium on PATH): " +
		"install Debian's with `apt-get install chromium` to run the dashboard's browser tests (.ci/run does)")
	return ""
}

// browser is one headless Chromium with one tab, and what the tab wrote
// to its console.
type browser struct {
	ctx context.Context // the tab's chromedp context

	mu      sync.Mutex
	console []consoleMsg
}

// consoleMsg is a console API call, an uncaught exception or an entry of
// the browser's log (failed loads, CSP violations).
type consoleMsg struct {
	kind   string // console.error, exception, log
	source string // for log entries: network, security, ...
	text   string
}

func (m consoleMsg) String() string {
	if m.source != "" {
		return m.kind + " (" + m.source + "): " + m.text
	}
	return m.kind + ": " + m.text
}

// startBrowser starts Chromium (path, from chromium) and opens a tab that
// records its console.
// The browser is closed, and its processes waited for, when the test ends.
func startBrowser(t *testing.T, path string) *browser {
	t.Helper()
	// Chromium sometimes exits before it listens when the machine is busy
	// (CI runs the packages' tests side by side): "chrome failed to
	// start" is tried again, twice at most, each time with a new profile.
	var err error
	for try := 1; try <= 3; try++ {
		var b *browser
		if b, err = launchBrowser(t, path); err == nil {
			return b
		}
		if !strings.Contains(err.Error(), "chrome failed to start") {
			break
		}
		t.Logf("starting %s (try %d of 3): %v", path, try, err)
	}
	t.Fatalf("starting %s: %v", path, err)
	return nil
}

// launchBrowser starts one browser with a profile of its own; on an error
// it is already stopped.
func launchBrowser(t *testing.T, path string) (*browser, error) {
	t.Helper()
	profile := t.TempDir() // removed after the browser is gone (cleanups run in reverse)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox cannot start
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1360, 1100),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	b := &browser{ctx: ctx}
	stop := func() {
		// Close the browser gracefully and wait for it, then release the
		// contexts: no process or goroutine outlives the test.
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := chromedp.Cancel(cctx); err != nil {
			t.Logf("closing the browser: %v", err)
		}
		cancel()
		cancelTab()
		cancelAlloc()
	}
	// Listen starts the browser and sees every event before the command
	// that follows it returns.
	err := chromedp.Listen(ctx, func(ev any) {
		var m consoleMsg
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeWarning &&
				ev.Type != runtime.ConsoleAPICalledTypeAssert {
				return
			}
			var parts []string
			for _, a := range ev.Args {
				if len(a.Value) > 0 {
					parts = append(parts, string(a.Value))
				} else {
					parts = append(parts, a.Description)
				}
			}
			m = consoleMsg{kind: "console." + string(ev.Type), text: strings.Join(parts, " ")}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			text := d.Text
			if d.Exception != nil {
				text += " " + d.Exception.Description
			}
			m = consoleMsg{kind: "exception", text: fmt.Sprintf("%s at %s:%d", text, d.URL, d.LineNumber)}
		case *log.EventEntryAdded:
			if ev.Entry.Level != log.EntryLevelError && ev.Entry.Level != log.EntryLevelWarning {
				return
			}
			m = consoleMsg{kind: "log." + string(ev.Entry.Level), source: string(ev.Entry.Source), text: ev.Entry.Text + " " + ev.Entry.URL}
		default:
			return
		}
		b.mu.Lock()
		b.console = append(b.console, m)
		b.mu.Unlock()
	})
	if err != nil {
		cancelTab()
		cancelAlloc()
		return nil, err
	}
	t.Cleanup(stop)
	return b, nil
}

// messages returns what the console got so far, minus those allowed.
func (b *browser) messages(allow func(consoleMsg) bool) []consoleMsg {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []consoleMsg
	for _, m := range b.console {
		if allow == nil || !allow(m) {
			out = append(out, m)
		}
	}
	return out
}

// do runs browser actions within stepTimeout.
func (b *browser) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v\nconsole: %v", what, err, b.messages(nil))
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, b *browser, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript predicate in the page until it holds.
func (b *browser) waitFor(t *testing.T, what, predicate string) {
	t.Helper()
	b.do(t, "waiting until "+what, chromedp.Poll[chromedp.Void](predicate,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(stepTimeout)))
}

// reuseText is the reuse figure shown on the card of the named upstream.
func reuseText(name string) string {
	return fmt.Sprintf(`(document.querySelector('[data-upstream=%q] .reuse-value') || {}).textContent || ''`, name)
}

// TestDashboardInBrowser: against a gateway with two upstreams and traffic
// through both, the page loads with no console error, shows a card per
// upstream, and its reuse figure follows new traffic.
func TestDashboardInBrowser(t *testing.T) {
	chrome := chromium(t)
	alpha := startMock(t, mock.Options{TLS: true}) // TLS: the card shows handshake times
	beta := startMock(t, mock.Options{})
	g := startGateway(t, "upstreams:\n"+
		upstreamYAML(t, "alpha", alpha, `["gpt-*"]`)+
		upstreamYAML(t, "beta", beta, `["text-embedding-*"]`), nil)
	// Three chats: the first gets a new connection, the others reuse it.
	g.chat(t, 3)
	g.embed(t, 2)

	b := startBrowser(t, chrome)
	b.do(t, "opening the dashboard", chromedp.Navigate(g.base+"/dashboard"))
	for _, name := range []string{"alpha", "beta"} {
		b.do(t, "showing upstream "+name, chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`[data-upstream=%q]`, name))))
	}
	if n := eval[int](t, b, `document.querySelectorAll('[data-upstream]').length`); n != 2 {
		t.Errorf("the page shows %d upstream cards, want 2 (alpha, beta)", n)
	}
	b.waitFor(t, "alpha shows a reuse figure", reuseText("alpha")+`.endsWith('%')`)
	before := eval[string](t, b, reuseText("alpha"))
	ratio := eval[float64](t, b, `Number(document.querySelector('[data-upstream="alpha"] .reuse-value').dataset.ratio)`)
	t.Logf("alpha's reuse after 3 requests: %s (%v)", before, ratio)
	if ratio >= 0.9 {
		t.Fatalf("alpha's reuse is already %s after 3 requests on one connection (does the pool now warm connections with a request by default?): the test cannot see it change", before)
	}

	// More traffic on the same warm connection: the figure must climb.
	g.chat(t, 40)
	b.waitFor(t, "alpha's reuse figure changes", reuseText("alpha")+` !== `+jsString(before))
	b.waitFor(t, "alpha's reuse reaches 90%", `Number(document.querySelector('[data-upstream="alpha"] .reuse-value').dataset.ratio) >= 0.9`)
	after := eval[string](t, b, reuseText("alpha"))
	cls := eval[string](t, b, `document.querySelector('[data-upstream="alpha"] .reuse-value').className`)
	t.Logf("alpha's reuse after 40 more: %s (%s)", after, cls)
	if !strings.Contains(cls, "good") {
		t.Errorf("alpha's reuse %s is drawn as %q, want green (good)", after, cls)
	}
	// The header names the build, as `warmgate version` does.
	if v := eval[string](t, b, `document.getElementById('version').textContent`); v != buildinfo.Get().String() {
		t.Errorf("the header's version = %q, want %q", v, buildinfo.Get().String())
	}
	// The gateway totals and the sparklines are drawn.
	b.waitFor(t, "the totals count every request", `document.getElementById('g-requests').textContent === '45'`)
	if n := eval[int](t, b, `document.querySelectorAll('[data-upstream="alpha"] .spark svg path.line').length`); n == 0 {
		t.Error("alpha's sparklines draw no line")
	}
	if txt := eval[string](t, b, `document.querySelector('[data-upstream="alpha"]').innerText`); !strings.Contains(txt, "TLS handshake") || !strings.Contains(txt, "ms") {
		t.Errorf("alpha's card does not show its TLS handshake time:\n%s", txt)
	}
	// Per-key usage comes from the usage ledger (/api/usage): open mode,
	// so one row, "(no key)", with every relayed request.
	b.waitFor(t, "the per-key usage table counts every request",
		`!document.getElementById('keys-table').hidden && document.querySelector('#keys-rows tr td:nth-child(2)').textContent === '45'`)
	if row := eval[string](t, b, `document.querySelector('#keys-rows tr').innerText`); !strings.Contains(row, "(no key)") || !strings.Contains(row, "$") {
		t.Errorf("per-key usage row = %q", row)
	}

	checkScreenshot(t, b, "dashboard.png")
	// The same page in a dark colour scheme: a second artifact to look at.
	b.do(t, "switching to the dark scheme", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
		})
		return err
	}))
	b.waitFor(t, "the page turns dark", `getComputedStyle(document.body).backgroundColor !== 'rgb(246, 247, 249)'`)
	checkScreenshot(t, b, "dashboard-dark.png")
	if msgs := b.messages(nil); len(msgs) > 0 {
		t.Errorf("the page wrote %d console message(s), want none:\n%v", len(msgs), msgs)
	}
}

// TestDashboardAsksForTheAdminKey: with client keys, /api/pools needs the
// admin key; the page asks for it, refuses a wrong one, keeps the right
// one in sessionStorage and then shows the pools.
func TestDashboardAsksForTheAdminKey(t *testing.T) {
	const adminKey = "sk-admin-dashboard-test"
	chrome := chromium(t)
	m := startMock(t, mock.Options{})
	g := startGateway(t, "upstreams:\n"+upstreamYAML(t, "solo", m, `["gpt-*"]`)+
		"keys:\n  - name: team\n    key_env: CLIENT_KEY\nadmin: {key_env: ADMIN_KEY}\n",
		map[string]string{"CLIENT_KEY": clientKey, "ADMIN_KEY": adminKey})
	g.chat(t, 2)

	b := startBrowser(t, chrome)
	b.do(t, "opening the dashboard", chromedp.Navigate(g.base+"/dashboard"))
	b.do(t, "asking for the key", chromedp.WaitVisible(chromedp.CSS("#auth-key")))
	if n := eval[int](t, b, `document.querySelectorAll('[data-upstream]').length`); n != 0 {
		t.Fatalf("the page shows %d upstream cards without the admin key", n)
	}

	b.do(t, "giving a wrong key",
		chromedp.SendKeys(chromedp.CSS("#auth-key"), clientKey),
		chromedp.Click(chromedp.CSS("#auth button")))
	b.waitFor(t, "the wrong key is refused", `document.getElementById('auth-msg').textContent.includes('refused') && !document.getElementById('auth').hidden`)
	if k := eval[string](t, b, `sessionStorage.getItem('warmgate.adminKey') || ''`); k != "" {
		t.Errorf("a refused key stays in sessionStorage: %q", k)
	}

	b.do(t, "giving the admin key",
		chromedp.SendKeys(chromedp.CSS("#auth-key"), adminKey),
		chromedp.Click(chromedp.CSS("#auth button")))
	b.do(t, "showing the pool", chromedp.WaitVisible(chromedp.CSS(`[data-upstream="solo"]`)))
	b.waitFor(t, "a reuse figure", reuseText("solo")+`.endsWith('%')`)
	if k := eval[string](t, b, `sessionStorage.getItem('warmgate.adminKey')`); k != adminKey {
		t.Errorf("sessionStorage holds %q, want the admin key", k)
	}
	if !eval[bool](t, b, `document.getElementById('auth').hidden`) {
		t.Error("the key form is still shown once the pools are")
	}
	// The only console entries allowed are the browser's own notes on the
	// two 401 answers (before the key, and for the wrong key).
	if msgs := b.messages(func(m consoleMsg) bool {
		return m.source == "network" && strings.Contains(m.text, "401") && strings.Contains(m.text, "/api/pools")
	}); len(msgs) > 0 {
		t.Errorf("the page wrote %d console message(s), want none:\n%v", len(msgs), msgs)
	}
}

// TestDashboardShowsKeyLimits: with keys that have an rpm or tpm, the page
// shows each one's use of its limits, as the gateway's data says (a key
// without limits has no row), in a meter and in words.
func TestDashboardShowsKeyLimits(t *testing.T) {
	const adminKey = "sk-admin-dashboard-test"
	chrome := chromium(t)
	m := startMock(t, mock.Options{})
	// rpm 1: the one request stays "used" for a minute, longer than the
	// test takes to look.
	g := startGateway(t, "upstreams:\n"+upstreamYAML(t, "solo", m, `["gpt-*"]`)+`keys:
  - {name: team, key_env: CLIENT_KEY, rpm: 1, tpm: 6000}
  - {name: batch, key_env: BATCH_KEY, rpm: 100}
  - {name: free, key_env: FREE_KEY}
admin: {key_env: ADMIN_KEY}
`, map[string]string{"CLIENT_KEY": clientKey, "BATCH_KEY": "sk-batch-dashboard-test", "FREE_KEY": "sk-free-dashboard-test", "ADMIN_KEY": adminKey})
	g.chat(t, 1)

	b := startBrowser(t, chrome)
	b.do(t, "opening the dashboard", chromedp.Navigate(g.base+"/dashboard"))
	b.do(t, "giving the admin key",
		chromedp.WaitVisible(chromedp.CSS("#auth-key")),
		chromedp.SendKeys(chromedp.CSS("#auth-key"), adminKey),
		chromedp.Click(chromedp.CSS("#auth button")))
	b.do(t, "showing the rate limits", chromedp.WaitVisible(chromedp.CSS(`#limits-rows tr[data-key="team"]`)))
	limit := func(key string, col int) string {
		return fmt.Sprintf(`(document.querySelector('#limits-rows tr[data-key=%q] td:nth-child(%d)') || {}).innerText || ''`, key, col)
	}
	data := func(key string, col int, field string) string {
		return eval[string](t, b, fmt.Sprintf(`((document.querySelector('#limits-rows tr[data-key=%q] td:nth-child(%d) .limit') || {}).dataset || {})[%q] || ''`, key, col, field))
	}
	if used, lim := data("team", 2, "used"), data("team", 2, "limit"); used != "1" || lim != "1" {
		t.Errorf("team's rpm shows %q used of %q, want 1 of 1", used, lim)
	}
	if txt := eval[string](t, b, limit("team", 2)); !strings.Contains(txt, "1 of 1 used") || !strings.Contains(txt, "all back in") {
		t.Errorf("team's rpm cell = %q, want \"1 of 1 used\" and when it is all back", txt)
	}
	if lim := data("team", 3, "limit"); lim != "6000" {
		t.Errorf("team's tpm limit shows %q, want 6000", lim)
	}
	if n := eval[int](t, b, `document.querySelectorAll('#limits-rows tr[data-key="team"] meter').length`); n != 2 {
		t.Errorf("team's row has %d meters, want 2 (rpm, tpm)", n)
	}
	if txt := eval[string](t, b, limit("batch", 2)); !strings.Contains(txt, "0 of 100 used") || !strings.Contains(txt, "all available") {
		t.Errorf("batch's rpm cell = %q, want 0 of 100 used, all available", txt)
	}
	if txt := eval[string](t, b, limit("batch", 3)); txt != "—" {
		t.Errorf("batch's tpm cell = %q, want — (no tpm)", txt)
	}
	if n := eval[int](t, b, `document.querySelectorAll('#limits-rows tr').length`); n != 2 {
		t.Errorf("%d rows of limits, want 2 (team, batch; free has none)", n)
	}
	checkScreenshot(t, b, "dashboard-limits.png")
	if msgs := b.messages(func(m consoleMsg) bool {
		return m.source == "network" && strings.Contains(m.text, "401") && strings.Contains(m.text, "/api/pools")
	}); len(msgs) > 0 {
		t.Errorf("the page wrote %d console message(s), want none:\n%v", len(msgs), msgs)
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// checkScreenshot saves a full-page screenshot to the artifact folder
// ($WARMGATE_ARTIFACTS, else the test's temporary folder) and checks that
// it shows something: many distinct colours, not a blank page.
func checkScreenshot(t *testing.T, b *browser, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := os.Getenv("WARMGATE_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)

	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	r := img.Bounds()
	if r.Dx() < 400 || r.Dy() < 300 {
		t.Errorf("screenshot is %dx%d, want a full page", r.Dx(), r.Dy())
	}
	if n := colours(img, 1000); n < 64 {
		t.Errorf("screenshot has %d distinct colours, want many (text, cards, coloured figures): is the page blank?", n)
	}
}

// colours counts the distinct colours of img, up to limit.
func colours(img image.Image, limit int) int {
	seen := map[[4]uint32]bool{}
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, ca := img.At(x, y).RGBA()
			seen[[4]uint32{cr, cg, cb, ca}] = true
			if len(seen) >= limit {
				return len(seen)
			}
		}
	}
	return len(seen)
}
