// Package githubtest is an in-process fake of the few GitHub endpoints the
// github identity provider uses, for tests: the OAuth device flow, the
// authenticated user, gists (create, list a user's public gists, get one,
// raw content) and user search. It answers with GitHub's JSON shapes,
// status codes and error bodies, and lets a test approve device codes,
// edit published gists and inject faults (hangs, garbage, huge answers).
//
// The fake listens on 127.0.0.1 and serves the web endpoints at WebURL and
// the REST API under WebURL/api/v3 (as GitHub Enterprise does), so a client
// that mixes up the two bases fails. Control endpoints under /_fake/ drive
// the same actions for tests of other processes (see internal/githubfake).
package githubtest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/pkfs/pkfs/gestalt"
)

// apiPrefix is where the REST API lives under the server's root.
const apiPrefix = "/api/v3"

// Server is a fake GitHub. Its methods are safe for concurrent use.
type Server struct {
	srv  *httptest.Server
	done chan struct{} // closed by Close: hanging handlers return

	mu         sync.Mutex
	users      map[string]*user   // by lower-case login
	tokens     map[string]string  // token -> lower-case login
	gists      []*gist            // oldest first
	codes      map[string]*device // by device code
	interval   int                // device-flow poll interval, seconds
	expiresIn  int                // device-code lifetime, seconds
	truncateAt int                // content of GET /gists/{id} is truncated past this
	rawBase    string             // base of raw_url; "" means the web URL
	faults     map[Endpoint]Fault
	counts     map[Endpoint]int
	nextID     int64
}

type user struct {
	login string
	id    int64
	made  time.Time
}

type gist struct {
	id, owner   string // owner: lower-case login
	description string
	public      bool
	files       map[string]string
	made        time.Time
}

// NewServer starts a fake GitHub on 127.0.0.1 with a random port. It
// panics if it cannot listen, as httptest does. Close it when done.
func NewServer() *Server {
	s, err := Listen("127.0.0.1:0")
	if err != nil {
		panic("githubtest: " + err.Error())
	}
	return s
}

// Listen starts a fake GitHub on addr, which must be a loopback address.
func Listen(addr string) (*Server, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("the fake listens only on a loopback IP address, not %q", host)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{
		done:       make(chan struct{}),
		users:      map[string]*user{},
		tokens:     map[string]string{},
		codes:      map[string]*device{},
		interval:   1,
		expiresIn:  900,
		truncateAt: 1 << 20,
		faults:     map[Endpoint]Fault{},
		counts:     map[Endpoint]int{},
		nextID:     1000,
	}
	s.srv = httptest.NewUnstartedServer(s.routes())
	s.srv.Listener.Close()
	s.srv.Listener = l
	s.srv.Start()
	return s, nil
}

// WebURL is the base of the web endpoints (Config.WebURL of the provider).
func (s *Server) WebURL() string { return s.srv.URL }

// APIURL is the base of the REST API (Config.APIURL of the provider).
func (s *Server) APIURL() string { return s.srv.URL + apiPrefix }

// Close ends hanging handlers, shuts the server down and waits for its
// handlers to return.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	s.mu.Unlock()
	s.srv.Close()
}

var loginRE = regexp.MustCompile(`^[A-Za-z0-9](?:-?[A-Za-z0-9])*$`)

// ValidLogin reports whether GitHub would accept s as a login.
func ValidLogin(s string) bool { return len(s) <= 39 && loginRE.MatchString(s) }

// AddUser creates the user login if it does not exist and returns a new
// token of that user. It panics on a login GitHub would refuse.
func (s *Server) AddUser(login string) string {
	if !ValidLogin(login) {
		panic(fmt.Sprintf("githubtest: %q is not a GitHub login", login))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenFor(s.addUser(login))
}

func (s *Server) addUser(login string) *user {
	k := strings.ToLower(login)
	if u, ok := s.users[k]; ok {
		return u
	}
	s.nextID++
	u := &user{login: login, id: s.nextID, made: time.Now().UTC()}
	s.users[k] = u
	return u
}

func (s *Server) tokenFor(u *user) string {
	t := "gho_" + randomHex(18)
	s.tokens[t] = strings.ToLower(u.login)
	return t
}

// AddGist creates a gist of login (created if need be) with the given
// files (name to content) and returns its ID.
func (s *Server) AddGist(login string, public bool, files map[string]string) string {
	if !ValidLogin(login) {
		panic(fmt.Sprintf("githubtest: %q is not a GitHub login", login))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addGist(s.addUser(login), "", public, files).id
}

func (s *Server) addGist(u *user, description string, public bool, files map[string]string) *gist {
	g := &gist{id: randomHex(16), owner: strings.ToLower(u.login), description: description,
		public: public, files: map[string]string{}, made: time.Now().UTC()}
	for k, v := range files {
		g.files[k] = v
	}
	s.gists = append(s.gists, g)
	return g
}

// EditGist replaces the text of the claim file (gestalt.ClaimFileName) in
// every gist of login with edit(old), and returns how many it changed.
func (s *Server) EditGist(login string, edit func(old string) string) int {
	return s.EditFile(login, gestalt.ClaimFileName, edit)
}

// EditFile is EditGist for files of any name.
func (s *Server) EditFile(login, name string, edit func(old string) string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, g := range s.gists {
		if old, ok := g.files[name]; ok && g.owner == strings.ToLower(login) {
			g.files[name] = edit(old)
			n++
		}
	}
	return n
}

// SetTruncateAt makes GET /gists/{id} truncate file contents longer than n
// bytes (GitHub: about 1 MiB), setting "truncated" as GitHub does.
func (s *Server) SetTruncateAt(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.truncateAt = n
}

// SetRawBase makes raw_url of gist files start with base (an http URL)
// instead of WebURL, as GitHub's point to gist.githubusercontent.com.
func (s *Server) SetRawBase(base string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rawBase = strings.TrimSuffix(base, "/")
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
