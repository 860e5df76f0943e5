package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tocsin-dev/tocsin/internal/server"
	"github.com/tocsin-dev/tocsin/internal/server/servertest"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

// browser is an HTTP client with cookies that does not follow redirects, so tests see them.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func fetch(t *testing.T, c *http.Client, method, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func TestSigningInNeedsTheRightPasswordAndSigningOutEndsTheSession(t *testing.T) {
	env := servertest.StartWith(t, server.Config{Database: storetest.SQLite(t)})
	c := browser(t)

	res, body := fetch(t, c, "GET", env.URL+"/login", nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "tocsin user set-password") {
		t.Fatalf("with nobody able to sign in, the page must say how to make an admin: %d %q", res.StatusCode, body)
	}
	if err := env.App.SignIn.SetPassword(context.Background(), "admin@example.com", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	if res, _ := fetch(t, c, "GET", env.URL+"/alerts", nil); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login?next=") {
		t.Fatalf("a page without a session: %d → %q, want a redirect to /login", res.StatusCode, res.Header.Get("Location"))
	}
	res, body = fetch(t, c, "POST", env.URL+"/login", url.Values{"username": {"admin@example.com"}, "password": {"wrong horse battery"}})
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong username or password") {
		t.Fatalf("a wrong password: %d", res.StatusCode)
	}
	res, _ = fetch(t, c, "POST", env.URL+"/login", url.Values{"username": {"admin@example.com"}, "password": {"correct horse battery"}, "next": {"//evil.example.com/"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/alerts" {
		t.Fatalf("sign-in: %d → %q, want /alerts (an off-site next is ignored)", res.StatusCode, res.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == "tocsin_session" {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %+v, want HttpOnly and SameSite=Lax", cookie)
	}
	res, body = fetch(t, c, "GET", env.URL+"/profile", nil)
	m := csrfRE.FindStringSubmatch(body)
	if res.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("a page after sign-in: %d, CSRF token found: %v", res.StatusCode, m != nil)
	}
	if res, _ := fetch(t, c, "POST", env.URL+"/logout", url.Values{}); res.StatusCode != http.StatusForbidden {
		t.Errorf("sign-out without the CSRF token: %d, want 403", res.StatusCode)
	}
	if res, _ := fetch(t, c, "POST", env.URL+"/logout", url.Values{"csrf": {m[1]}}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("sign-out: %d", res.StatusCode)
	}
	if res, _ := fetch(t, c, "GET", env.URL+"/profile", nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("after sign-out the session still works: %d", res.StatusCode)
	}
}

func TestTheSessionCookieIsSecureWhenTheBaseURLIsHTTPS(t *testing.T) {
	env := servertest.StartWith(t, server.Config{Database: storetest.SQLite(t), BaseURL: "https://tocsin.example.com"})
	if err := env.App.SignIn.SetPassword(context.Background(), "admin@example.com", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	res, _ := fetch(t, browser(t), "POST", env.URL+"/login", url.Values{"username": {"admin@example.com"}, "password": {"correct horse battery"}})
	if sc := res.Header.Get("Set-Cookie"); !strings.Contains(sc, "Secure") || !strings.Contains(sc, "HttpOnly") {
		t.Errorf("Set-Cookie = %q, want Secure and HttpOnly", sc)
	}
}
