package github

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pkfs/pkfs/gestalt"
	"github.com/pkfs/pkfs/gestalt/github/githubtest"
)

func TestWhoAmI(t *testing.T) {
	s, p := fake(t, 5*time.Second)
	ctx := ctxT(t)
	tok := s.AddUser("Alice-1")
	if login, err := p.WhoAmI(ctx, gestalt.NewToken(tok)); err != nil || login != "Alice-1" {
		t.Fatalf("WhoAmI = %q, %v", login, err)
	}
	bad := "gho_" + strings.Repeat("x", 36)
	_, err := p.WhoAmI(ctx, gestalt.NewToken(bad))
	if !errors.Is(err, gestalt.ErrNotAuthenticated) || !errors.Is(err, gestalt.ErrProvider) {
		t.Fatalf("bad token: %v", err)
	}
	if strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "Bad credentials") {
		t.Errorf("error %q: want the status and GitHub's message, never the token", err)
	}
	n := s.Requests(githubtest.User)
	for _, tok := range []string{"", "a b", "tok\r\nX-Evil: 1", strings.Repeat("x", 513)} {
		if _, err := p.WhoAmI(ctx, gestalt.NewToken(tok)); !errors.Is(err, gestalt.ErrNotAuthenticated) {
			t.Errorf("token %q: %v", tok, err)
		}
	}
	if s.Requests(githubtest.User) != n {
		t.Error("an unusable token was sent")
	}
}

func TestSearch(t *testing.T) {
	s, p := fake(t, 5*time.Second)
	ctx := ctxT(t)
	for _, l := range []string{"alice", "Alicia", "bob", "malice"} {
		s.AddUser(l)
	}
	for q, want := range map[string][]string{
		"ali":              {"Alicia", "alice", "malice"},
		"alic in:login":    {"Alicia", "alice", "malice"},
		"bob":              {"bob"},
		"nobody":           {},
		"ali ce type:user": {"alice", "malice"},
	} {
		got, err := p.Search(ctx, q)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("Search(%q) = %q, %v; want %q", q, got, err, want)
		}
	}
	n := s.Requests(githubtest.SearchUsers)
	for _, q := range []string{"", strings.Repeat("a", 257), "a\nb", "a\x00", "\xff"} {
		if _, err := p.Search(ctx, q); !errors.Is(err, ErrBadQuery) {
			t.Errorf("Search(%q): %v, want ErrBadQuery", q, err)
		}
	}
	if s.Requests(githubtest.SearchUsers) != n {
		t.Error("a bad query was sent")
	}
}

func TestValidLogin(t *testing.T) {
	for s, want := range map[string]bool{
		"a": true, "octocat": true, "Octo-Cat": true, "a-b-c": true, "0": true,
		strings.Repeat("a", 39): true, strings.Repeat("a", 40): false,
		"": false, "-a": false, "a-": false, "a--b": false, "a_b": false, "a.b": false,
		"a/b": false, "..": false, "a b": false, "ä": false, "a%2fb": false, "a\x00": false,
	} {
		if ValidLogin(s) != want {
			t.Errorf("ValidLogin(%q) = %v", s, !want)
		}
	}
}
