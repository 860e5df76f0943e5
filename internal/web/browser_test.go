package web_test

// The real-browser tests of issue 8: a headless Chromium (driven with chromedp) uses the UI the way
// people do, on a chromeDesktop and on a phone, and takes screenshots of the main pages to look at. They
// skip when no Chromium can be found: set TOCSIN_CHROMIUM to its path, or put chromium,
// chromium-browser or google-chrome on PATH (CI installs Debian's chromium with apt).

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/tocsin-dev/tocsin/internal/alert"
	"github.com/tocsin-dev/tocsin/internal/integration"
	"github.com/tocsin-dev/tocsin/internal/oncall"
	"github.com/tocsin-dev/tocsin/internal/securityhub"
	"github.com/tocsin-dev/tocsin/internal/server"
	"github.com/tocsin-dev/tocsin/internal/server/servertest"
	"github.com/tocsin-dev/tocsin/internal/sns/snstest"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

// browserPeople are the people of the browser tests: an admin who is paged by email and then SMS, and
// the two members of secops, who take turns a week at a time on secops-primary.
const browserPeople = `
users:
  - username: admin@example.com
    fullName: Ada Admin
    role: admin
    timezone: Europe/Berlin
    contacts:
      - {method: email, to: ada@example.com}
      - {method: sms, to: "+4915112345678"}
    notificationRules:
      - {contact: email, delay: 0s}
      - {contact: sms, delay: 5m}
  - username: alice@example.com
    fullName: Alice Doe
  - username: bob@example.com
    fullName: Bob Roe
teams:
  - name: secops
    members: [alice@example.com, bob@example.com]
    escalation: secops-escalation
schedules:
  - name: secops-primary
    team: secops
    timezone: Europe/Berlin
    rotations:
      - {name: weekly, type: weekly, start: "2026-01-05T09:00:00+01:00", participants: [alice@example.com, bob@example.com]}
escalations:
  - name: secops-escalation
    rules:
      - {delay: 0s, notify: {schedule: secops-primary}}
      - {delay: 15m, notify: {team: secops}}
`

const browserPassword = "correct horse battery staple"

// browserStepTimeout bounds every chromeStep of a browser test.
const browserStepTimeout = 20 * time.Second

// browserSite is a running tocsin with a stand-in SNS and a Security Hub integration of team secops.
type browserSite struct {
	t    *testing.T
	env  *servertest.Env
	sns  *snstest.Server
	key  string // of the Security Hub integration
	raw  string // the finding every test posts, with a new Id and Title each time
	seen int
}

func startBrowserSite(t *testing.T) *browserSite {
	t.Helper()
	sn := snstest.NewServer(t, snstest.Config{})
	ca := filepath.Join(t.TempDir(), "sns-ca.pem")
	if err := os.WriteFile(ca, sn.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	env := servertest.StartWith(t, server.Config{Database: storetest.SQLite(t), SNSCertHosts: []string{sn.Host()}, SNSCAFile: ca})
	env.Apply(t, browserPeople)
	for _, u := range []string{"admin@example.com", "alice@example.com", "bob@example.com"} {
		if err := env.App.SignIn.SetPassword(context.Background(), u, browserPassword); err != nil {
			t.Fatal(err)
		}
	}
	key := env.Integration(t, integration.Integration{Name: "securityhub-prod", Type: integration.TypeSecurityHub, Team: "secops"})
	raw, err := os.ReadFile(filepath.Join("..", "securityhub", "testdata", "events", "guardduty.json"))
	if err != nil {
		t.Fatal(err)
	}
	return &browserSite{t: t, env: env, sns: sn, key: key, raw: string(raw)}
}

const (
	browserFindingID    = "arn:aws:guardduty:us-east-1:123456789012:detector/d4b040365221be2b54a6264dc9a4bc64/finding/7ec6a9f1e1a30c2e8c8b0ef1a3c6b2d4"
	browserFindingTitle = "Credentials for the EC2 instance role payments-api-role were used from a remote AWS account."
)

// postFinding sends a signed Security Hub finding with this title and severity label through the
// stand-in SNS, as AWS would, and returns the alert it made.
func (s *browserSite) postFinding(title, severity string) *alert.Alert {
	t := s.t
	t.Helper()
	s.seen++
	id := fmt.Sprintf("%s-browser-%d-%d", browserFindingID, time.Now().UnixNano(), s.seen)
	for _, must := range []string{browserFindingID, browserFindingTitle, `"Label": "HIGH"`} {
		if !strings.Contains(s.raw, must) {
			t.Fatalf("guardduty.json no longer holds %q", must)
		}
	}
	body := strings.ReplaceAll(s.raw, browserFindingID, id)
	body = strings.Replace(body, browserFindingTitle, title, 1)
	body = strings.ReplaceAll(body, `"Label": "HIGH"`, `"Label": "`+severity+`"`)
	req, err := snstest.NewRequest(context.Background(), s.env.URL+"/v1/json/amazonsecurityhub?apiKey="+s.key,
		s.sns.Notification(s.sns.TopicARN("findings"), "", body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("the intake answered the finding %q with %d", title, res.StatusCode)
	}
	a, err := s.env.App.Alerts.Get(context.Background(), alert.Ref{Type: alert.ByAlias, Value: securityhub.Alias(id)})
	if err != nil {
		t.Fatalf("the finding %q made no alert: %v", title, err)
	}
	return a
}

func (s *browserSite) alert(a *alert.Alert) *alert.Alert {
	s.t.Helper()
	got, err := s.env.App.Alerts.Get(context.Background(), alert.Ref{Type: alert.ByID, Value: a.ID})
	if err != nil {
		s.t.Fatal(err)
	}
	return got
}

// chromeUserOrigin is what a person does in the UI, for changes the tests make without the browser.
func chromeUserOrigin(name string) alert.Origin {
	return alert.Origin{Actor: alert.Actor{Kind: alert.ActorUser, ID: name, Name: name}, User: name, Source: "web"}
}

// chromiumPath finds the browser: TOCSIN_CHROMIUM, else chromium, chromium-browser or google-chrome
// on PATH; "" when there is none.
func chromiumPath(t *testing.T) string {
	if p := os.Getenv("TOCSIN_CHROMIUM"); p != "" {
		found, err := exec.LookPath(p)
		if err != nil {
			t.Fatalf("TOCSIN_CHROMIUM=%s: %v", p, err)
		}
		return found
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if found, err := exec.LookPath(name); err == nil {
			return found
		}
	}
	return ""
}

// chromeTab is one headless Chromium (an allocator of its own) with one tab, signed in or not.
type chromeTab struct {
	t    *testing.T
	ctx  context.Context
	base string

	mu       sync.Mutex
	problems []string // uncaught exceptions and refused content (CSP) the pages reported
}

// openChromeTab starts Chromium for this test; the browser ends with the test, before tocsin does.
func openChromeTab(t *testing.T, base string) *chromeTab {
	t.Helper()
	path := chromiumPath(t)
	if path == "" {
		t.Skip("no Chromium to drive: set TOCSIN_CHROMIUM or put chromium, chromium-browser or google-chrome on PATH (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // the tests may run as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(func(string, ...any) {}))
	b := &chromeTab{t: t, ctx: ctx, base: base}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first action starts the browser; it must not run under a step's timeout, which would end
	// the browser with the step.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	console := chromedp.Console(ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			text := m.String()
			if m.IsException() || strings.Contains(text, "Content Security Policy") {
				b.mu.Lock()
				b.problems = append(b.problems, fmt.Sprintf("%s (%s:%d)", text, m.URL, m.Line+1))
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { // runs before the browser ends
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, p := range b.problems {
			t.Errorf("the page reported: %s", p)
		}
	})
	b.do("watch server-sent event streams", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: chromeWatchEventSources})
		return err
	}))
	return b
}

// chromeWatchEventSources keeps the page's EventSources where the tests can see whether the live feed
// is connected.
const chromeWatchEventSources = `(() => {
  const ES = window.EventSource;
  if (!ES) return;
  window.__tocsinSources = [];
  window.EventSource = function (url, init) { const es = new ES(url, init); window.__tocsinSources.push(es); return es; };
  window.EventSource.prototype = ES.prototype;
  Object.assign(window.EventSource, {CONNECTING: 0, OPEN: 1, CLOSED: 2});
})();`

// chromeStep runs fn with the step timeout and fails the test, saying where the browser is, when fn
// fails.
func chromeStep[T any](b *chromeTab, what string, fn func(ctx context.Context) (T, error)) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserStepTimeout)
	defer cancel()
	v, err := fn(ctx)
	if err != nil {
		b.t.Fatalf("%s: %v\n%s", what, err, b.where())
	}
	return v
}

// do runs actions as one step.
func (b *chromeTab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	chromeStep(b, what, func(ctx context.Context) (struct{}, error) { return struct{}{}, chromedp.Do(ctx, actions...) })
}

// chromeEval evaluates a JavaScript expression in the page.
func chromeEval[T any](b *chromeTab, what, js string) T {
	b.t.Helper()
	return chromeStep(b, what, func(ctx context.Context) (T, error) { return chromedp.Run(ctx, chromedp.Evaluate[T](js)) })
}

// where says which page the browser shows and the start of its text, for failure messages.
func (b *chromeTab) where() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if len(text) > 1500 {
		text = text[:1500] + "…"
	}
	return "the browser is at " + loc + ", showing:\n" + text
}

// open loads a page and wants it answered with 200.
func (b *chromeTab) open(path string) {
	b.t.Helper()
	res := chromeStep(b, "open "+path, func(ctx context.Context) (int64, error) {
		r, err := chromedp.Run(ctx, chromedp.NavigateResponse(b.base+path))
		if err != nil {
			return 0, err
		}
		return r.Status, nil
	})
	if res != http.StatusOK {
		b.t.Fatalf("open %s: %d\n%s", path, res, b.where())
	}
}

// follow runs an action that loads a new page (a click on a link or a submit button) and returns the
// new page's HTTP status, after redirects.
func (b *chromeTab) follow(what string, action chromedp.Action[chromedp.Void]) int64 {
	b.t.Helper()
	return chromeStep(b, what, func(ctx context.Context) (int64, error) {
		r, err := chromedp.RunResponse(ctx, action)
		if err != nil {
			return 0, err
		}
		return r.Status, nil
	})
}

// click clicks the element and wants the page it loads answered with 200.
func (b *chromeTab) click(sel string) {
	b.t.Helper()
	if status := b.follow("click "+sel, chromedp.Click(chromedp.CSS(sel))); status != http.StatusOK {
		b.t.Fatalf("click %s: the next page answered %d\n%s", sel, status, b.where())
	}
}

// text is the rendered text of the first element sel matches.
func (b *chromeTab) text(sel string) string {
	b.t.Helper()
	return chromeStep(b, "read "+sel, func(ctx context.Context) (string, error) {
		return chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	})
}

// waitText waits until the element sel matches shows want, and returns its text. It polls the page:
// the text may come without a page load (the live list).
func (b *chromeTab) waitText(sel, want string) string {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const el = document.querySelector(%q); return el && el.innerText.includes(%q) ? el.innerText : ""; })()`, sel, want)
	return chromeStep(b, fmt.Sprintf("wait for %q in %s", want, sel), func(ctx context.Context) (string, error) {
		return chromedp.Run(ctx, chromedp.Poll[string](js, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(browserStepTimeout)))
	})
}

// location is the path (and query) the browser shows.
func (b *chromeTab) location() string {
	b.t.Helper()
	loc := chromeStep(b, "read the location", func(ctx context.Context) (string, error) { return chromedp.Run(ctx, chromedp.Location()) })
	u, err := url.Parse(loc)
	if err != nil {
		b.t.Fatal(err)
	}
	return u.RequestURI()
}

// signIn fills in the sign-in form and wants to land on the alert list.
func (b *chromeTab) signIn(username string) {
	b.t.Helper()
	b.open("/login")
	b.do("fill in the sign-in form",
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), username),
		chromedp.SendKeys(chromedp.ID("password"), browserPassword),
	)
	b.click(`form[action="/login"] button[type=submit]`)
	if loc := b.location(); loc != "/alerts" {
		b.t.Fatalf("signed in as %s and landed on %s, want /alerts\n%s", username, loc, b.where())
	}
}

// waitLive waits until the page's live feed (server-sent events) is connected, so that what happens
// from now on reaches the page.
func (b *chromeTab) waitLive() {
	b.t.Helper()
	chromeStep(b, "wait for the live feed to connect", func(ctx context.Context) (bool, error) {
		return chromedp.Run(ctx, chromedp.Poll[bool](`(window.__tocsinSources || []).some(s => s.readyState === 1 && s.url.endsWith("/events"))`,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(browserStepTimeout)))
	})
}

// overflow lists the elements that stick out of the viewport and out of their parent, when the page
// scrolls sideways.
func (b *chromeTab) overflow() []string {
	b.t.Helper()
	return chromeEval[[]string](b, "look for sideways overflow", `(() => {
  const w = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= w) return [];
  const name = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (typeof el.className === "string" && el.className.trim() ? "." + el.className.trim().split(/\s+/).join(".") : "");
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    const p = el.parentElement.getBoundingClientRect();
    if (r.width > 0 && r.right > w + 1 && r.right > p.right + 1) {
      out.push(name(el.parentElement) + " > " + name(el) + " to " + Math.round(r.right) + "px");
    }
  }
  // Text that does not wrap sticks out of its element without making it wider.
  const texts = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let n = texts.nextNode(); n; n = texts.nextNode()) {
    if (!n.textContent.trim()) continue;
    range.selectNodeContents(n);
    const r = range.getBoundingClientRect();
    if (r.right > w + 1 && r.right > n.parentElement.getBoundingClientRect().right + 1) {
      out.push("text in " + name(n.parentElement) + " (" + JSON.stringify(n.textContent.trim().slice(0, 40)) + "…) to " + Math.round(r.right) + "px");
    }
  }
  return out.length ? out : ["the page is " + document.documentElement.scrollWidth + "px wide"];
})()`)
}

// chromePhone makes the tab a 375×812 phone: mobile viewport, portrait, touch.
func chromePhone() chromedp.Action[chromedp.Void] {
	return chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile, chromedp.EmulatePortrait, chromedp.EmulateTouch)
}

func chromeDesktop() chromedp.Action[chromedp.Void] { return chromedp.EmulateViewport(1280, 900) }

// chromeColorScheme emulates prefers-color-scheme ("light" or "dark").
func chromeColorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		})
		return err
	})
}

// --- the tests ---

func TestBrowserAResponderSignsInSeesANewFindingAppearLiveOpensItAcknowledgesItAddsANoteAndClosesIt(t *testing.T) {
	site := startBrowserSite(t)
	b := openChromeTab(t, site.env.URL)
	ctx := context.Background()

	b.signIn("alice@example.com")
	if got := b.text("main"); !strings.Contains(got, "No alerts match.") {
		t.Fatalf("the list before any finding:\n%s", got)
	}
	b.waitLive()
	b.do("mark the page, to tell whether it is reloaded", chromedp.Evaluate[chromedp.Void](`window.__tocsinSamePage = true`))

	title := "Root credentials used from Tor exit node 185.220.101.4"
	a := site.postFinding(title, "CRITICAL")
	b.waitText("#alert-list", title)
	if !chromeEval[bool](b, "is it the same page", `window.__tocsinSamePage === true`) || b.location() != "/alerts" {
		t.Fatal("the finding appeared by reloading the page, not in the live list")
	}
	row := b.text(fmt.Sprintf(`#alert-list tr:has(a[href="/alerts/%d"])`, a.TinyID))
	for _, want := range []string{"P1", fmt.Sprintf("#%d %s", a.TinyID, title), "open", "secops", "securityhub-prod"} {
		if !strings.Contains(row, want) {
			t.Errorf("the new row %q lacks %q", row, want)
		}
	}

	b.click(fmt.Sprintf(`#alert-list a[href="/alerts/%d"]`, a.TinyID))
	if h := b.text("h1"); !strings.Contains(h, title) || !strings.Contains(h, "P1") {
		t.Errorf("the alert page's heading is %q", h)
	}
	if facts := b.text("dl.facts"); !strings.Contains(facts, "CRITICAL") || !strings.Contains(facts, "123456789012") || !strings.Contains(facts, "GuardDuty") {
		t.Errorf("the alert page's facts lack the finding's severity, account or product:\n%s", facts)
	}

	b.click(`form[action$="/ack"] button[type=submit]`)
	if flash := b.text("p.flash"); flash != fmt.Sprintf("Acknowledged #%d", a.TinyID) {
		t.Errorf("after Acknowledge the page says %q", flash)
	}
	if state := b.text(".alert-meta .badge"); state != "acknowledged" {
		t.Errorf("after Acknowledge the state is %q", state)
	}
	if got := site.alert(a); !got.Acknowledged || got.Report.AcknowledgedBy != "alice@example.com" {
		t.Errorf("after Acknowledge: acknowledged %v by %q, want by alice@example.com", got.Acknowledged, got.Report.AcknowledgedBy)
	}

	note := "Not us: the key was rotated and the session revoked."
	b.do("write a note", chromedp.SendKeys(chromedp.ID("alert-note"), note))
	b.click(`form[action$="/note"] button[type=submit]`)
	if flash := b.text("p.flash"); flash != fmt.Sprintf("Added a note to #%d", a.TinyID) {
		t.Errorf("after adding a note the page says %q", flash)
	}
	if notes := b.text(".alert-notes"); !strings.Contains(notes, note) || !strings.Contains(notes, "alice@example.com") {
		t.Errorf("the notes show %q, want alice's note", notes)
	}
	notes, err := site.env.App.Alerts.Notes(ctx, alert.Ref{Type: alert.ByID, Value: a.ID}, alert.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 || notes[0].Text != note || notes[0].Owner != "alice@example.com" {
		t.Errorf("stored notes %+v, want alice's one note", notes)
	}

	b.click(`form[action$="/close"] button[type=submit]`)
	if flash := b.text("p.flash"); flash != fmt.Sprintf("Closed #%d", a.TinyID) {
		t.Errorf("after Close the page says %q", flash)
	}
	if state := b.text(".alert-meta .badge"); state != "closed" {
		t.Errorf("after Close the state is %q", state)
	}
	if n := chromeEval[int](b, "count the Acknowledge and Close buttons", `document.querySelectorAll('form[action$="/ack"], form[action$="/close"]').length`); n != 0 {
		t.Errorf("a closed alert still offers %d Acknowledge or Close buttons", n)
	}
	got := site.alert(a)
	if got.Status != alert.StatusClosed || got.Report.ClosedBy != "alice@example.com" {
		t.Errorf("after Close: status %s closed by %q, want closed by alice@example.com", got.Status, got.Report.ClosedBy)
	}
	logs, err := site.env.App.Alerts.Logs(ctx, alert.Ref{Type: alert.ByID, Value: a.ID}, alert.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	owners := map[string]string{}
	for _, l := range logs {
		owners[l.Type] = l.Owner
	}
	for _, typ := range []string{"alertAck", "alertNote", "alertClose"} {
		if owners[typ] != "alice@example.com" {
			t.Errorf("the activity log's %s entry is owned by %q, want alice@example.com (log %+v)", typ, owners[typ], logs)
		}
	}
	if activity := b.text("#alert-activity"); strings.Count(activity, "alice@example.com") < 3 {
		t.Errorf("the page's activity does not show alice's three changes:\n%s", activity)
	}
}

func TestBrowserAnAdminCreatesASecurityHubIntegrationAndCopiesItsURL(t *testing.T) {
	site := startBrowserSite(t)
	b := openChromeTab(t, site.env.URL)

	b.signIn("admin@example.com")
	b.click(`header nav a[href="/integrations"]`)
	b.click(`a[href="/integrations/new"]`)
	if h := b.text("h1"); h != "New Security Hub integration" {
		t.Errorf("the form's heading is %q", h)
	}
	externalID := chromeEval[string](b, "read the external id", `document.getElementById("in-external-id").value`)
	if !strings.HasPrefix(externalID, "tocsin-") {
		t.Errorf("the form's external id is %q, want a generated tocsin-…", externalID)
	}
	b.do("fill in the new integration",
		chromedp.SendKeys(chromedp.ID("in-name"), "securityhub staging"),
		chromedp.SetValue(chromedp.ID("in-team"), "secops"),
		chromedp.SetValue(chromedp.ID("in-min-severity"), "HIGH"),
		chromedp.SendKeys(chromedp.ID("in-products"), "GuardDuty, Inspector"),
	)
	if status := b.follow("create the integration", chromedp.Click(chromedp.CSS(`.integration-form button[type=submit]`))); status != http.StatusCreated {
		t.Fatalf("creating the integration answered %d\n%s", status, b.where())
	}
	if h := b.text("h1"); h != "Integration securityhub staging created" {
		t.Errorf("after creating, the heading is %q", h)
	}
	endpoint := chromeStep(b, "read the endpoint URL", func(ctx context.Context) (string, error) {
		return chromedp.Run(ctx, chromedp.Value(chromedp.ID("endpoint-url")))
	})
	prefix := site.env.URL + "/v1/json/amazonsecurityhub?apiKey="
	if !strings.HasPrefix(endpoint, prefix) || len(endpoint) == len(prefix) {
		t.Fatalf("the endpoint URL is %q, want %sKEY", endpoint, prefix)
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	key := u.Query().Get("apiKey")
	chromeScreenshot(t, b, "desktop-integration-key")

	copyButton := `button[data-copy="#endpoint-url"]`
	if got := b.text(copyButton); got != "Copy" {
		t.Errorf("the copy button says %q before it is used", got)
	}
	b.do("click Copy", chromedp.Click(chromedp.CSS(copyButton)))
	b.waitText(copyButton, "Copied")
	// Where the browser lets the page write the clipboard, it holds the URL.
	if clip := chromeClipboard(b); clip != "" && clip != endpoint {
		t.Errorf("the clipboard holds %q, want the endpoint URL", clip)
	}

	in, err := site.env.App.Integrations.Authenticate(context.Background(), key)
	if err != nil {
		t.Fatalf("the key in the endpoint URL does not authenticate: %v", err)
	}
	st := in.Settings
	if in.Name != "securityhub staging" || in.Type != integration.TypeSecurityHub || in.Team != "secops" || st.ExternalID != externalID ||
		st.Filter.MinSeverity != "HIGH" || !slices.Equal(st.Filter.ProductNames, []string{"GuardDuty", "Inspector"}) {
		t.Errorf("the stored integration is %+v", in)
	}
}

// chromeClipboard reads the clipboard through the page, "" when the browser does not allow it.
func chromeClipboard(b *chromeTab) string {
	b.t.Helper()
	b.do("allow the page to read the clipboard", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.CallBrowser(ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: "clipboard-read"}, Setting: cdpbrowser.PermissionSettingGranted, Origin: b.base,
		})
		return err
	}))
	return chromeStep(b, "read the clipboard", func(ctx context.Context) (string, error) {
		return chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.clipboard.readText().catch(() => "")`, chromedp.EvalAwaitPromise))
	})
}

func TestBrowserAnOnCallOverrideAddedOnThePageChangesWhoIsOnCall(t *testing.T) {
	site := startBrowserSite(t)
	b := openChromeTab(t, site.env.URL)

	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	d := time.Now().In(berlin).AddDate(0, 0, 2)
	from := time.Date(d.Year(), d.Month(), d.Day(), 10, 0, 0, 0, berlin)
	to := from.Add(4 * time.Hour)
	during := from.Add(2 * time.Hour)
	who := "bob@example.com"
	if slices.Equal(chromeOnCall(t, site.env, "secops-primary", during), []string{who}) {
		who = "alice@example.com" // the override must change something
	}

	b.signIn("alice@example.com") // a member of the schedule's team
	b.click(`header nav a[href="/oncall"]`)
	b.do("fill in the override",
		chromedp.WaitVisible(chromedp.ID("schedule-0-user")),
		chromedp.SetValue(chromedp.ID("schedule-0-user"), who),
		chromedp.SetValue(chromedp.ID("schedule-0-from"), from.Format("2006-01-02T15:04")),
		chromedp.SetValue(chromedp.ID("schedule-0-to"), to.Format("2006-01-02T15:04")),
	)
	b.click(`form[action="/oncall/secops-primary/overrides"] button[type=submit]`)

	wantFlash := fmt.Sprintf("Override added: %s is on call for secops-primary from %s to %s.", who, from.Format("Mon 2 Jan 15:04"), to.Format("Mon 2 Jan 15:04 MST"))
	if flash := b.text("p.flash"); flash != wantFlash {
		t.Errorf("after adding the override the page says %q, want %q", flash, wantFlash)
	}
	overrides := b.waitText("#schedule-0", "Current and coming overrides")
	wantLine := fmt.Sprintf("%s: %s to %s", who, from.Format("Mon 2 Jan 2006 15:04"), to.Format("Mon 2 Jan 2006 15:04 MST"))
	if !strings.Contains(overrides, wantLine) {
		t.Errorf("the schedule does not list the override %q:\n%s", wantLine, overrides)
	}
	day := b.text(fmt.Sprintf(`#schedule-0 tr:has(time[datetime="%s"])`, from.Format("2006-01-02")))
	if !strings.Contains(day, "10:00–14:00 "+who) || !strings.Contains(day, "override") {
		t.Errorf("the timeline's day of the override reads %q, want 10:00–14:00 %s (override)", day, who)
	}
	if got := chromeOnCall(t, site.env, "secops-primary", during); !slices.Equal(got, []string{who}) {
		t.Errorf("on call during the override: %v, want [%s]", got, who)
	}
}

// chromeOnCall asks the stored configuration who is on call for the schedule at that time.
func chromeOnCall(t *testing.T, env *servertest.Env, schedule string, at time.Time) []string {
	t.Helper()
	cfg, err := env.App.DB.OnCall().Config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(cfg.Schedules, func(s oncall.Schedule) bool { return s.Name == schedule })
	if i < 0 {
		t.Fatalf("no schedule %s", schedule)
	}
	users, err := cfg.Schedules[i].OnCall(at)
	if err != nil {
		t.Fatal(err)
	}
	return users
}

func TestBrowserOnAPhoneAResponderSignsInSeesANewFindingArriveLiveAndAcknowledgesIt(t *testing.T) {
	site := startBrowserSite(t)
	b := openChromeTab(t, site.env.URL)
	b.do("be a phone", chromePhone())

	b.signIn("bob@example.com")
	if w := chromeEval[int](b, "read the viewport width", `window.innerWidth`); w != 375 {
		t.Fatalf("the viewport is %d px wide, want 375", w)
	}
	b.waitLive()
	b.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.__tocsinSamePage = true`))
	title := "S3 bucket payments-exports is public"
	a := site.postFinding(title, "HIGH")
	b.waitText("#alert-list", title)
	if !chromeEval[bool](b, "is it the same page", `window.__tocsinSamePage === true`) {
		t.Fatal("the finding appeared by reloading the page, not in the live list")
	}
	if over := b.overflow(); len(over) > 0 {
		t.Errorf("the alert list scrolls sideways on a phone: %v", over)
	}
	link := fmt.Sprintf(`#alert-list a[href="/alerts/%d"]`, a.TinyID)
	if status := b.follow("tap the new alert", chromedp.Tap(chromedp.CSS(link))); status != http.StatusOK {
		t.Fatalf("tapping the alert: %d\n%s", status, b.where())
	}
	ack := `form[action$="/ack"] button[type=submit]`
	if box := chromeEval[[]float64](b, "measure Acknowledge", `(() => { const r = document.querySelector('`+ack+`').getBoundingClientRect(); return [r.width, r.height, r.top]; })()`); box[1] < 44 || box[2] > 812 {
		t.Errorf("Acknowledge is %.0f×%.0f px at %.0f px from the top: want a tap target of 44 px or more on the first screen", box[0], box[1], box[2])
	}
	if over := b.overflow(); len(over) > 0 {
		t.Errorf("the alert page scrolls sideways on a phone: %v", over)
	}
	if status := b.follow("tap Acknowledge", chromedp.Tap(chromedp.CSS(ack))); status != http.StatusOK {
		t.Fatalf("tapping Acknowledge: %d\n%s", status, b.where())
	}
	if flash := b.text("p.flash"); flash != fmt.Sprintf("Acknowledged #%d", a.TinyID) {
		t.Errorf("after Acknowledge the page says %q", flash)
	}
	if got := site.alert(a); !got.Acknowledged || got.Report.AcknowledgedBy != "bob@example.com" {
		t.Errorf("after Acknowledge: acknowledged %v by %q, want by bob@example.com", got.Acknowledged, got.Report.AcknowledgedBy)
	}
}

func TestBrowserTabFromTheTopOfTheAlertsReachesTheSkipLinkFirstThenTheNavigation(t *testing.T) {
	site := startBrowserSite(t)
	b := openChromeTab(t, site.env.URL)
	b.signIn("alice@example.com")
	b.open("/alerts")

	focused := func() string {
		return chromeEval[string](b, "read the focused element", `(() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "body";
  return el.tagName.toLowerCase() + (el.className ? "." + el.className : "") + " " + (el.getAttribute("href") || "") + " " + el.textContent.trim();
})()`)
	}
	if f := focused(); f != "body" {
		t.Fatalf("before any key, %s has the focus", f)
	}
	var got []string
	for range 6 {
		b.do("press Tab", chromedp.KeyEvent("\t"))
		got = append(got, focused())
	}
	want := []string{
		"a.skip #main Skip to content",
		"a.brand /alerts tocsin",
		"a /alerts Alerts",
		"a /oncall On call",
		"a /integrations Integrations",
		"a /profile Profile",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Tab from the top focuses\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The skip link shows when it has the focus, and takes the focus to the content.
	b.open("/alerts")
	b.do("press Tab", chromedp.KeyEvent("\t"))
	if box := chromeEval[[]float64](b, "measure the skip link", `(() => { const r = document.activeElement.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`); box[0] < 0 || box[1] < 0 || box[2] < 1 || box[3] < 1 {
		t.Errorf("the focused skip link is at %v, off screen", box)
	}
	b.do("press Enter", chromedp.KeyEvent("\r"))
	if f := chromeEval[string](b, "read the focused element", `document.activeElement.id`); f != "main" {
		t.Errorf("after the skip link, the focus is on %q, want main", f)
	}
}

// --- screenshots ---

// chromeScreenshotDir is where the screenshots go: TOCSIN_SCREENSHOTS, or tocsin-screenshots in the
// temporary directory.
func chromeScreenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TOCSIN_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "tocsin-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// chromeScreenshot writes a full-page PNG of what the tab shows as name.png.
func chromeScreenshot(t *testing.T, b *chromeTab, name string) {
	t.Helper()
	png := chromeStep(b, "screenshot "+name, func(ctx context.Context) ([]byte, error) { return chromedp.Run(ctx, chromedp.FullScreenshot(100)) })
	if err := os.WriteFile(filepath.Join(chromeScreenshotDir(t), name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBrowserScreenshotsOfTheMainPagesOnADesktopAndAPhoneInLightAndDark(t *testing.T) {
	site := startBrowserSite(t)
	env := site.env
	ctx := context.Background()

	// Alerts of every priority and state, from Security Hub and from the API.
	site.postFinding("Root account used to sign in from an unusual location (Tor exit node)", "CRITICAL")
	p2 := site.postFinding(browserFindingTitle, "HIGH")
	p3 := site.postFinding("S3 bucket payments-exports-eu-central-1-7d1f2 allows public read access through its bucket policy", "MEDIUM")
	site.postFinding("Security group sg-0a1b2c3d4e5f allows SSH (22) from 0.0.0.0/0", "LOW")
	site.postFinding("EC2 instance i-0a1b2c3d4e5f67890 does not require IMDSv2", "INFORMATIONAL")
	api, err := env.App.Alerts.Create(ctx, alert.Origin{Actor: alert.Actor{Kind: alert.ActorIntegration, ID: "api", Name: "test", Type: "api"}}, alert.CreateRequest{
		Message: "Disk /var/lib/postgresql on db-eu-central-1a.payments.internal is 97% full", Priority: alert.P3,
		Source: "prometheus", Entity: "db-eu-central-1a", Tags: []string{"prod", "postgres"}, Description: "Free space fell below 3% at 07:12 UTC.\nRunbook: https://runbooks.example.com/disk-full",
		Responders: []alert.Responder{{Type: "team", Name: "secops"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	admin := chromeUserOrigin("admin@example.com")
	ref := func(a *alert.Alert) alert.Ref { return alert.Ref{Type: alert.ByID, Value: a.ID} }
	if _, err := env.App.Alerts.Acknowledge(ctx, admin, ref(p2)); err != nil {
		t.Fatal(err)
	}
	note := admin
	note.Note = "Looking at CloudTrail: the calls come from 198.51.100.23, not one of our NAT gateways.\nRevoking the role's sessions now."
	if _, err := env.App.Alerts.AddNote(ctx, note, ref(p2)); err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.Alerts.Close(ctx, admin, ref(p3)); err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.Alerts.Snooze(ctx, admin, ref(api.Alert), time.Now().Add(4*time.Hour)); err != nil {
		t.Fatal(err)
	}

	b := openChromeTab(t, env.URL)
	dir := chromeScreenshotDir(t)
	t.Logf("screenshots in %s", dir)

	detail := fmt.Sprintf("/alerts/%d", p2.TinyID)
	pages := []struct{ name, path string }{
		{"alerts", "/alerts"},
		{"alert-securityhub", detail},
		{"integrations", "/integrations"},
		{"integration-edit", "/integrations/securityhub-prod"},
		{"integration-new", "/integrations/new"},
		{"oncall", "/oncall"},
		{"profile", "/profile"},
	}
	for _, size := range []struct {
		name     string
		viewport chromedp.Action[chromedp.Void]
	}{{"desktop", chromeDesktop()}, {"phone", chromePhone()}} {
		b.do("be a "+size.name, size.viewport, chromeColorScheme("light"))
		// Signed out first, for the sign-in page.
		if chromeEval[bool](b, "look for Sign out", `document.querySelector("form.signout") !== null`) {
			b.click("form.signout button[type=submit]")
		} else {
			b.open("/login")
		}
		if loc := b.location(); loc != "/login" {
			t.Fatalf("signed out, the browser shows %s", loc)
		}
		chromeScreenshot(t, b, size.name+"-login")
		b.signIn("admin@example.com")
		for _, p := range pages {
			b.open(p.path)
			chromeScreenshot(t, b, size.name+"-"+p.name)
			if size.name == "phone" {
				if over := b.overflow(); len(over) > 0 {
					t.Errorf("%s scrolls sideways on a phone: %v", p.path, over)
				}
			}
		}
		b.do("go dark", chromeColorScheme("dark"))
		for _, p := range pages[:2] {
			b.open(p.path)
			chromeScreenshot(t, b, size.name+"-dark-"+p.name)
		}
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	for i := range names {
		names[i] = filepath.Base(names[i])
	}
	t.Logf("%d screenshots: %s", len(names), strings.Join(names, " "))
}
