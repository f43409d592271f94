package integration

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The harness of the gestalt tests: the fake GitHub as a process of its
// own (internal/githubfake, built once per test binary) on 127.0.0.1, its
// control endpoints, and the few pkfs calls the tests repeat. The fake
// stops when its standard input ends, so it goes with a test binary that
// dies; t.Cleanup closes it and waits (killing it if it lingers).

var (
	fakeBuildOnce sync.Once
	fakeBin       string
	fakeBuildErr  error
)

// githubFakeBin builds internal/githubfake into the directory of the built
// pkfs (removed after the tests) and returns its path.
func githubFakeBin(t *testing.T) string {
	t.Helper()
	dir := pkfsBinDir(t)
	fakeBuildOnce.Do(func() {
		fakeBin = filepath.Join(dir, "githubfake")
		out, err := exec.Command("go", "build", "-o", fakeBin, "github.com/pkfs/pkfs/internal/githubfake").CombinedOutput()
		if err != nil {
			fakeBuildErr = fmt.Errorf("go build ./internal/githubfake: %v\n%s", err, out)
		}
	})
	if fakeBuildErr != nil {
		t.Fatal(fakeBuildErr)
	}
	return fakeBin
}

// fakeGitHub is a running githubfake.
type fakeGitHub struct {
	t       *testing.T
	WebURL  string            `json:"webUrl"`
	APIURL  string            `json:"apiUrl"`
	Control string            `json:"controlUrl"`
	Users   map[string]string `json:"users"` // login -> token
	hc      *http.Client
}

// startFakeGitHub starts the fake with the given users and a device-flow
// poll interval of one second (the least the wire allows).
func startFakeGitHub(t *testing.T, users ...string) *fakeGitHub {
	t.Helper()
	args := []string{"-addr", "127.0.0.1:0", "-watch-stdin", "-interval", "1s"}
	for _, u := range users {
		args = append(args, "-user", u)
	}
	cmd := exec.Command(githubFakeBin(t), args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- s
		io.Copy(io.Discard, stdout)
	}()
	f := &fakeGitHub{t: t, hc: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}}
	t.Cleanup(f.hc.CloseIdleConnections)
	select {
	case s := <-line:
		if err := json.Unmarshal([]byte(s), f); err != nil || f.WebURL == "" || f.Control == "" {
			t.Fatalf("githubfake printed %q: %v", s, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("githubfake printed nothing within 30 s")
	}
	return f
}

// env is the environment that points an agent at the fake.
func (f *fakeGitHub) env() []string {
	return []string{"PKFS_GITHUB_URL=" + f.WebURL, "PKFS_GITHUB_API_URL=" + f.APIURL}
}

// control posts a form to a control endpoint (approve, edit, fault...),
// which must answer 200, and decodes its JSON answer into v (if not nil).
func (f *fakeGitHub) control(endpoint string, form url.Values, v any) {
	f.t.Helper()
	resp, err := f.hc.PostForm(f.Control+"/"+endpoint, form)
	if err != nil {
		f.t.Fatalf("fake %s: %v", endpoint, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("fake %s %v: %s: %s", endpoint, form, resp.Status, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			f.t.Fatalf("fake %s: %v: %s", endpoint, err, b)
		}
	}
}

// fault makes endpoints of the fake misbehave ("none" restores them).
func (f *fakeGitHub) fault(fault string, endpoints ...string) {
	f.t.Helper()
	f.control("fault", url.Values{"fault": {fault}, "endpoint": endpoints}, nil)
}

// get fetches a URL of the fake (as GitHub's API clients do) into v.
func (f *fakeGitHub) get(u string, v any) []byte {
	f.t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("User-Agent", "pkfs-integration-test")
	resp, err := f.hc.Do(req)
	if err != nil {
		f.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("GET %s: %s: %s", u, resp.Status, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			f.t.Fatalf("GET %s: %v: %s", u, err, b)
		}
	}
	return b
}

// claimTexts returns the published claim files of login, read through the
// fake's API as anyone could.
func (f *fakeGitHub) claimTexts(login string) []string {
	f.t.Helper()
	var gists []struct {
		Files map[string]struct {
			RawURL string `json:"raw_url"`
		} `json:"files"`
	}
	f.get(f.APIURL+"/users/"+login+"/gists", &gists)
	var out []string
	for _, g := range gists {
		if file, ok := g.Files["pkfs-identity-claim.txt"]; ok {
			out = append(out, string(f.get(file.RawURL, nil)))
		}
	}
	return out
}

// editClaim changes login's one published claim so that its signature no
// longer verifies: it decodes the claim, changes its issuedAt, encodes it
// again, and has the fake replace the text. It returns the claim's node.
func (f *fakeGitHub) editClaim(login string) string {
	f.t.Helper()
	texts := f.claimTexts(login)
	if len(texts) != 1 {
		f.t.Fatalf("%s has published %d claims, want 1", login, len(texts))
	}
	lines := strings.Split(strings.TrimSpace(texts[0]), "\n")
	if len(lines) != 3 {
		f.t.Fatalf("claim text of %s: %q", login, texts[0])
	}
	raw, err := base64.StdEncoding.DecodeString(lines[1])
	if err != nil {
		f.t.Fatalf("claim text of %s: %v", login, err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		f.t.Fatal(err)
	}
	c["issuedAt"] = "2001-01-01T00:00:00Z" // still well formed, no longer signed
	edited, _ := json.Marshal(c)
	var res struct {
		Edited int `json:"edited"`
	}
	f.control("edit", url.Values{"login": {login}, "old": {lines[1]}, "new": {base64.StdEncoding.EncodeToString(edited)}}, &res)
	if res.Edited != 1 {
		f.t.Fatalf("the fake edited %d claims of %s", res.Edited, login)
	}
	node, _ := c["nodeA"].(string)
	return node
}

var userCodeRE = regexp.MustCompile(`enter the code ([A-Z]{4}-[A-Z]{4})`)

// authenticate runs `pkfs identities authenticate github.com` on n and,
// when it shows the device-flow challenge on stderr, approves the code on
// the fake as login, as the user would in a browser. It returns what the
// command printed on stdout (the JSON result) and stderr.
func (n *peerNode) authenticate(f *fakeGitHub, login string) (stdout, stderr string) {
	n.t.Helper()
	r := n.deviceFlow(f, "approve", url.Values{"login": {login}})
	if r.code != 0 {
		n.t.Fatalf("%s: identities authenticate: %v", n.name, r)
	}
	return r.stdout, r.stderr
}

// deviceFlow runs `pkfs identities authenticate github.com` on n and, when
// it shows the challenge on stderr, posts the user code with form to the
// fake's control endpoint (approve, deny, expire).
func (n *peerNode) deviceFlow(f *fakeGitHub, endpoint string, form url.Values) peerResult {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), peerCmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, n.bin, "identities", "authenticate", "github.com", "--format", "json")
	cmd.Env = n.env
	cmd.Dir = n.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var out strings.Builder
	cmd.Stdout = &out
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		n.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	var errb strings.Builder
	sc := bufio.NewScanner(errPipe)
	approved := false
	for sc.Scan() {
		errb.WriteString(sc.Text() + "\n")
		if m := userCodeRE.FindStringSubmatch(sc.Text()); m != nil && !approved {
			if !strings.Contains(sc.Text(), "open "+f.WebURL+"/login/device") {
				n.t.Errorf("%s: the challenge does not name the fake's device page: %q", n.name, sc.Text())
			}
			form.Set("user_code", m[1])
			f.control(endpoint, form, nil)
			approved = true
		}
	}
	err = cmd.Wait()
	r := peerResult{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil || !approved:
		n.t.Fatalf("%s: identities authenticate: %v (challenge seen: %v), %v", n.name, err, approved, r)
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		n.t.Fatalf("%s: identities authenticate: %v", n.name, err)
	}
	return r
}

// peerGestalt is a gestalt as the identities commands print it.
type peerGestalt struct {
	Nodes      []string `json:"nodes"`
	Identities []string `json:"identities"`
}

func (g peerGestalt) String() string {
	return fmt.Sprintf("nodes %v identities %v", g.Nodes, g.Identities)
}

// is reports whether the gestalt holds exactly these nodes and identities.
func (g peerGestalt) is(nodes []string, identities ...string) bool {
	return sameSet(g.Nodes, nodes) && sameSet(g.Identities, identities)
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]bool{}
	for _, x := range a {
		m[x] = true
	}
	for _, x := range b {
		if !m[x] {
			return false
		}
	}
	return true
}

// discoverResult is the JSON of `pkfs identities discover --wait`.
type discoverResult struct {
	peerGestalt
	Rejected []string `json:"rejected"`
}

// discover runs `identities discover VERTEX --wait`, which must succeed.
func (n *peerNode) discover(vertex string) discoverResult {
	n.t.Helper()
	var r discoverResult
	n.jsonOK(&r, "identities", "discover", vertex, "--wait")
	return r
}

// gestaltOf returns the gestalt `identities get` shows for a vertex.
func (n *peerNode) gestaltOf(vertex string) peerGestalt {
	n.t.Helper()
	var r struct {
		Vertex  string      `json:"vertex"`
		Gestalt peerGestalt `json:"gestalt"`
	}
	n.jsonOK(&r, "identities", "get", vertex)
	if r.Vertex != vertex {
		n.t.Fatalf("%s: identities get %s shows vertex %q", n.name, vertex, r.Vertex)
	}
	return r.Gestalt
}

// gestaltQueue is the JSON of `pkfs identities queue`.
type gestaltQueue struct {
	Active   string   `json:"active"`
	Queued   []string `json:"queued"`
	Rejected []string `json:"rejected"`
}

func (n *peerNode) queue() gestaltQueue {
	n.t.Helper()
	var q gestaltQueue
	n.jsonOK(&q, "identities", "queue")
	return q
}
