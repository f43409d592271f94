package github

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkfs/pkfs/gestalt"
	"github.com/pkfs/pkfs/gestalt/github/githubtest"
	"github.com/pkfs/pkfs/keyring"
)

func TestPublishThenClaims(t *testing.T) {
	s, p := fake(t, 5*time.Second)
	ctx := ctxT(t)
	tok := gestalt.NewToken(s.AddUser("alice"))
	text := []byte("-----BEGIN PKFS IDENTITY CLAIM-----\nAAAA\n-----END PKFS IDENTITY CLAIM-----\n")
	where, err := p.Publish(ctx, tok, text)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(where, s.WebURL()+"/") {
		t.Errorf("published at %q", where)
	}
	for _, who := range []string{"alice", "ALICE"} {
		texts, err := p.Claims(ctx, who)
		if err != nil || len(texts) != 1 || !bytes.Equal(texts[0], text) {
			t.Fatalf("Claims(%s) = %q, %v", who, texts, err)
		}
	}
	if texts, err := p.Claims(ctx, "bob"); !errors.Is(err, gestalt.ErrProvider) || !strings.Contains(fmt.Sprint(err), "404") {
		t.Errorf("Claims of an unknown user = %q, %v", texts, err)
	}
}

func TestPublishRefusals(t *testing.T) {
	s, p := fake(t, 5*time.Second)
	ctx := ctxT(t)
	tok := s.AddUser("alice")
	bad := "gho_notatoken"
	if _, err := p.Publish(ctx, gestalt.NewToken(bad), []byte("x")); !errors.Is(err, gestalt.ErrNotAuthenticated) ||
		strings.Contains(err.Error(), bad) {
		t.Errorf("bad token: %v", err)
	}
	for _, text := range [][]byte{nil, []byte("\xff\xfe"), bytes.Repeat([]byte("a"), MaxAnswer)} {
		if _, err := p.Publish(ctx, gestalt.NewToken(tok), text); !errors.Is(err, gestalt.ErrBadClaim) {
			t.Errorf("text of %d bytes: %v", len(text), err)
		}
	}
	if n := s.Requests(githubtest.CreateGist); n != 1 {
		t.Errorf("%d gists created, want only the one with the bad token", n)
	}
}

func TestClaimsIgnoresOtherGists(t *testing.T) {
	s, p := fake(t, 5*time.Second)
	claim := map[string]string{gestalt.ClaimFileName: "claim 1"}
	s.AddGist("alice", true, map[string]string{"notes.md": "hello"})
	s.AddGist("alice", true, claim)
	s.AddGist("alice", false, map[string]string{gestalt.ClaimFileName: "secret claim"})
	s.AddGist("alice", true, map[string]string{"pkfs-identity-claim.txt.bak": "old", "other.txt": "x"})
	s.AddGist("bob", true, map[string]string{gestalt.ClaimFileName: "bob's claim"})
	s.AddGist("alice", true, map[string]string{gestalt.ClaimFileName: "claim 2", "README": "two files"})
	texts, err := p.Claims(ctxT(t), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%q", texts); got != `["claim 2" "claim 1"]` {
		t.Errorf("claims %s, want the two public claim files, newest first", got)
	}
	if n := s.Requests(githubtest.Gist); n != 2 {
		t.Errorf("%d gists fetched, want only the 2 with a claim file", n)
	}
}

func TestClaimsPagination(t *testing.T) {
	s, p := fake(t, 5*time.Second)
	ctx := ctxT(t)
	noise := map[string]string{"notes.txt": "x"}
	s.AddGist("alice", true, map[string]string{gestalt.ClaimFileName: "old"}) // the oldest: on page 3
	for range 249 {
		s.AddGist("alice", true, noise)
	}
	s.AddGist("alice", true, map[string]string{gestalt.ClaimFileName: "new"}) // page 1
	texts, err := p.Claims(ctx, "alice")
	if err != nil || fmt.Sprintf("%q", texts) != `["new" "old"]` {
		t.Fatalf("claims %q, %v", texts, err)
	}
	if n := s.Requests(githubtest.UserGists); n != 3 {
		t.Errorf("%d pages read, want 3", n)
	}

	// Past MaxGistPages pages, older gists are not read.
	for range MaxGistPages*perPage - 250 { // "old" is now gist 1001
		s.AddGist("alice", true, noise)
	}
	before := s.Requests(githubtest.UserGists)
	texts, err = p.Claims(ctx, "alice")
	if err != nil || fmt.Sprintf("%q", texts) != `["new"]` {
		t.Fatalf("claims %q, %v; want only the one in the first %d pages", texts, err, MaxGistPages)
	}
	if n := s.Requests(githubtest.UserGists) - before; n != MaxGistPages {
		t.Errorf("%d pages read, want %d", n, MaxGistPages)
	}
}

func TestClaimsBoundsFetches(t *testing.T) {
	s, p := fake(t, 5*time.Second)
	for i := range MaxClaimGists + 10 {
		s.AddGist("alice", true, map[string]string{gestalt.ClaimFileName: fmt.Sprint(i)})
	}
	texts, err := p.Claims(ctxT(t), "alice")
	if err != nil || len(texts) != MaxClaimGists || string(texts[0]) != fmt.Sprint(MaxClaimGists+9) {
		t.Fatalf("%d claims, %v", len(texts), err)
	}
	if n := s.Requests(githubtest.Gist); n != MaxClaimGists {
		t.Errorf("%d gists fetched, want %d", n, MaxClaimGists)
	}
}

func TestClaimsBadIdentity(t *testing.T) {
	s, p := fake(t, 5*time.Second)
	for _, id := range []string{"", "-a", "a--b", "../../user", "a/b", "a?b", "a%2fb", "a b", strings.Repeat("a", 40), "ä"} {
		if _, err := p.Claims(ctxT(t), id); !errors.Is(err, ErrBadLogin) || !errors.Is(err, gestalt.ErrBadClaim) {
			t.Errorf("Claims(%q): %v", id, err)
		}
	}
	if s.Requests(githubtest.UserGists) != 0 {
		t.Error("a bad identity reached the API")
	}
}

// A truncated claim file is read whole from its raw_url on a configured
// host, and never from another host.
func TestClaimsTruncated(t *testing.T) {
	s, p := fake(t, 5*time.Second)
	long := strings.Repeat("claim ", 100)
	s.AddGist("alice", true, map[string]string{gestalt.ClaimFileName: long})
	s.SetTruncateAt(10)
	texts, err := p.Claims(ctxT(t), "alice")
	if err != nil || len(texts) != 1 || string(texts[0]) != long {
		t.Fatalf("claims %q, %v", texts, err)
	}
	if s.Requests(githubtest.Raw) != 1 {
		t.Error("the raw text was not read")
	}

	var hits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(long))
	}))
	t.Cleanup(other.Close)
	s.SetRawBase(other.URL)
	texts, err = p.Claims(ctxT(t), "alice")
	if err != nil || len(texts) != 0 {
		t.Fatalf("claims %q, %v; want none", texts, err)
	}
	if hits.Load() != 0 {
		t.Error("a raw_url on another host was followed")
	}
}

// Redirects to hosts other than the configured ones are refused.
func TestNoRedirectToOtherHosts(t *testing.T) {
	var hits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(`[]`))
	}))
	t.Cleanup(other.Close)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
	}))
	t.Cleanup(api.Close)
	p := New(Config{WebURL: api.URL, APIURL: api.URL, HTTP: &http.Client{Timeout: 5 * time.Second}})
	if _, err := p.Claims(ctxT(t), "alice"); !errors.Is(err, gestalt.ErrProvider) || !strings.Contains(err.Error(), "redirect") {
		t.Fatalf("got %v", err)
	}
	if hits.Load() != 0 {
		t.Error("a redirect to another host was followed")
	}
}

func TestBadConfig(t *testing.T) {
	for _, c := range []Config{{APIURL: "ftp://x"}, {WebURL: "127.0.0.1:80"}, {APIURL: "http://x/?q=1"}, {APIURL: "http://u:p@x"}} {
		if _, err := New(c).Search(ctxT(t), "x"); !errors.Is(err, gestalt.ErrProvider) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	if p := New(Config{}); p.web.String() != DefaultWebURL || p.api.String() != DefaultAPIURL || p.clientID != DefaultClientID {
		t.Errorf("defaults: %v %v %v", p.web, p.api, p.clientID)
	}
}

// An identity claim published and read back verifies; once the gist's text
// is edited, it does not.
func TestEditedClaimFailsVerification(t *testing.T) {
	s, p := fake(t, 5*time.Second)
	ctx := ctxT(t)
	kr, _, err := keyring.Create(t.TempDir(), []byte("pw"), keyring.Params{Ops: 1, MemKiB: keyring.MinMemKiB, Parallelism: 1}, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kr.Close() })
	c, err := gestalt.SignIdentityClaim(kr, ProviderID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Publish(ctx, gestalt.NewToken(s.AddUser("alice")), gestalt.EncodeIdentityClaim(c)); err != nil {
		t.Fatal(err)
	}
	readBack := func() ([]gestalt.Claim, error) {
		texts, err := p.Claims(ctx, "alice")
		if err != nil || len(texts) != 1 {
			t.Fatalf("claims %q, %v", texts, err)
		}
		return gestalt.DecodeIdentityClaims(texts[0])
	}
	got, err := readBack()
	if err != nil || len(got) != 1 || got[0].NodeA != kr.NodeID() || got[0].Identity != "alice" || got[0].Nonce != c.Nonce {
		t.Fatalf("read back %+v, %v", got, err)
	}
	for _, tc := range []struct {
		name string
		edit func(payload []byte) []byte
		why  string
	}{
		{"identity", func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"identity":"alice"`), []byte(`"identity":"mallory"`), 1)
		}, "signature"},
		{"issuedAt", func(b []byte) []byte { return bytes.Replace(b, []byte(`"issuedAt":"2`), []byte(`"issuedAt":"1`), 1) }, "signature"},
		{"signature", flipSignatureBit, "signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var orig string
			n := s.EditGist("alice", func(old string) string {
				orig = old
				return editPayload(t, old, tc.edit)
			})
			t.Cleanup(func() { s.EditGist("alice", func(string) string { return orig }) })
			if n != 1 {
				t.Fatalf("edited %d gists", n)
			}
			if got, err := readBack(); !errors.Is(err, gestalt.ErrBadClaim) || len(got) != 0 || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("edited claim: %+v, %v; want ErrBadClaim about the %s", got, err, tc.why)
			}
		})
	}
}

// editPayload applies edit to the JSON inside a published claim text.
func editPayload(t *testing.T, text string, edit func([]byte) []byte) string {
	lines := strings.Split(text, "\n")
	if len(lines) < 3 {
		t.Fatalf("claim text %q", text)
	}
	raw, err := base64.StdEncoding.DecodeString(lines[1])
	if err != nil {
		t.Fatal(err)
	}
	edited := edit(raw)
	if bytes.Equal(edited, raw) {
		t.Fatalf("the edit changed nothing in %s", raw)
	}
	lines[1] = base64.StdEncoding.EncodeToString(edited)
	return strings.Join(lines, "\n")
}

// flipSignatureBit flips one bit of the signature in a claim's JSON.
func flipSignatureBit(b []byte) []byte {
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return b
	}
	sig, _ := base64.StdEncoding.DecodeString(fmt.Sprint(m["sigA"]))
	if len(sig) == 0 {
		return b
	}
	sig[0] ^= 1
	m["sigA"] = base64.StdEncoding.EncodeToString(sig)
	out, _ := json.Marshal(m)
	return out
}
