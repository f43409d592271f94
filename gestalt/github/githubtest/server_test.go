package githubtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// post sends a form and returns the status and body.
func post(t *testing.T, u string, form url.Values, hdr map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func newServer(t *testing.T) *Server {
	s := NewServer()
	t.Cleanup(s.Close)
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	return s
}

func TestListenOnlyLoopback(t *testing.T) {
	for _, a := range []string{"0.0.0.0:0", ":0", "example.com:0", "127.0.0.1"} {
		if s, err := Listen(a); err == nil {
			s.Close()
			t.Errorf("Listen(%q) succeeded", a)
		}
	}
	s := newServer(t)
	if !strings.HasPrefix(s.WebURL(), "http://127.0.0.1:") || s.APIURL() != s.WebURL()+"/api/v3" {
		t.Errorf("URLs %s %s", s.WebURL(), s.APIURL())
	}
}

// Like GitHub, the OAuth endpoints answer form-encoded text unless asked
// for JSON, and OAuth errors come with status 200.
func TestOAuthAnswerFormats(t *testing.T) {
	s := newServer(t)
	code, body := post(t, s.WebURL()+"/login/device/code", url.Values{"client_id": {"x"}, "scope": {"gist"}}, nil)
	v, err := url.ParseQuery(body)
	if code != 200 || err != nil || v.Get("device_code") == "" || v.Get("interval") != "1" {
		t.Fatalf("%d %q", code, body)
	}
	code, body = post(t, s.WebURL()+"/login/oauth/access_token", url.Values{"client_id": {"x"},
		"device_code": {v.Get("device_code")}, "grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}},
		map[string]string{"Accept": "application/json"})
	var m map[string]any
	if code != 200 || json.Unmarshal([]byte(body), &m) != nil || m["error"] != "authorization_pending" {
		t.Fatalf("%d %q", code, body)
	}
}

func TestAPIRefusals(t *testing.T) {
	s := newServer(t)
	for _, tc := range []struct {
		method, path, ua string
		want             int
		msg              string
	}{
		{"GET", "/user", "test", 401, "Requires authentication"},
		{"GET", "/user", "", 403, "User-Agent"},
		{"GET", "/users/nobody/gists", "test", 404, "Not Found"},
		{"GET", "/nothing/here", "test", 404, "Not Found"},
		{"GET", "/search/users", "test", 422, "Validation Failed"},
		{"POST", "/gists", "test", 401, "Requires authentication"},
	} {
		req, _ := http.NewRequest(tc.method, s.APIURL()+tc.path, nil)
		req.Header.Set("User-Agent", tc.ua)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want || !strings.Contains(string(b), tc.msg) {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, resp.StatusCode, b)
		}
	}
}

// Control endpoints drive the fake from another process.
func TestControlEndpoints(t *testing.T) {
	s := newServer(t)
	code, body := post(t, s.WebURL()+"/_fake/users", url.Values{"login": {"alice"}}, nil)
	if code != 200 || !strings.Contains(body, `"token":"gho_`) {
		t.Fatalf("users: %d %s", code, body)
	}
	if code, _ := post(t, s.WebURL()+"/_fake/users", url.Values{"login": {"-x"}}, nil); code != 422 {
		t.Errorf("a bad login: %d", code)
	}
	if code, _ := post(t, s.WebURL()+"/_fake/approve", url.Values{"login": {"alice"}}, nil); code != 404 {
		t.Errorf("approve with nothing pending: %d", code)
	}
	post(t, s.WebURL()+"/login/device/code", url.Values{"client_id": {"x"}}, nil)
	if p := s.PendingUserCodes(); len(p) != 1 {
		t.Fatalf("pending %q", p)
	}
	if code, body := post(t, s.WebURL()+"/_fake/approve", url.Values{"login": {"alice"}}, nil); code != 200 {
		t.Fatalf("approve: %d %s", code, body)
	}
	if p := s.PendingUserCodes(); len(p) != 0 {
		t.Errorf("still pending %q", p)
	}
	s.AddGist("alice", true, map[string]string{"pkfs-identity-claim.txt": "abc abc"})
	if code, body := post(t, s.WebURL()+"/_fake/edit", url.Values{"login": {"alice"}, "old": {"b"}, "new": {"X"}}, nil); code != 200 || body != `{"edited":1}` {
		t.Errorf("edit: %d %s", code, body)
	}
	if code, _ := post(t, s.WebURL()+"/_fake/fault", url.Values{"fault": {"garbage"}, "endpoint": {"user-gists"}}, nil); code != 200 {
		t.Errorf("fault: %d", code)
	}
	if code, _ := post(t, s.WebURL()+"/_fake/fault", url.Values{"fault": {"fire"}}, nil); code != 422 {
		t.Errorf("unknown fault: %d", code)
	}
	resp, err := http.Get(s.APIURL() + "/users/alice/gists")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "Unicorn") {
		t.Errorf("fault not injected: %s", b)
	}
}

// Close returns while a hanging request is outstanding.
func TestCloseEndsHangs(t *testing.T) {
	s := NewServer()
	s.SetFault(Hang)
	errc := make(chan error, 1)
	go func() {
		resp, err := http.Get(s.APIURL() + "/search/users?q=a")
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for s.Requests(SearchUsers) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	s.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	select {
	case <-errc:
	case <-time.After(5 * time.Second):
		t.Error("the hanging request did not end")
	}
}
