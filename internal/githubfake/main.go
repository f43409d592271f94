// Command githubfake runs the fake GitHub of package
// gestalt/github/githubtest on a loopback address, for tests of the built
// pkfs binary. It creates the users named by -user, prints one line of JSON
//
//	{"webUrl":"http://127.0.0.1:PORT","apiUrl":"http://127.0.0.1:PORT/api/v3",
//	 "controlUrl":"http://127.0.0.1:PORT/_fake","users":{"alice":"gho_..."}}
//
// and serves until SIGINT or SIGTERM (or, with -watch-stdin, until its
// standard input ends, so a fake started by a test that dies goes too).
// Point pkfs at it with the web and API URLs; drive the device flow, edits
// and faults through the control endpoints (see githubtest's controlRoutes):
//
//	POST controlUrl/approve  login=alice [user_code=...]
//	POST controlUrl/edit     login=alice old=... new=...
//	POST controlUrl/fault    fault=hang endpoint=user-gists
//
// Usage:
//
//	githubfake [-addr 127.0.0.1:0] [-user alice]... [-interval 1s] [-expires 15m] [-watch-stdin]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pkfs/pkfs/gestalt/github/githubtest"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { <-stop; close(done) }()
	if err := run(os.Args[1:], os.Stdin, os.Stdout, done); err != nil {
		fmt.Fprintln(os.Stderr, "githubfake:", err)
		os.Exit(2)
	}
}

// urls is what the command prints.
type urls struct {
	WebURL     string            `json:"webUrl"`
	APIURL     string            `json:"apiUrl"`
	ControlURL string            `json:"controlUrl"`
	Users      map[string]string `json:"users"`
}

// run serves until done is closed (or stdin ends, with -watch-stdin).
func run(args []string, stdin io.Reader, stdout io.Writer, done <-chan struct{}) error {
	fl := flag.NewFlagSet("githubfake", flag.ContinueOnError)
	addr := fl.String("addr", "127.0.0.1:0", "loopback address to listen on")
	interval := fl.Duration("interval", time.Second, "device-flow poll interval (whole seconds)")
	expires := fl.Duration("expires", 15*time.Minute, "device-code lifetime")
	watch := fl.Bool("watch-stdin", false, "exit when standard input ends")
	var users []string
	fl.Func("user", "create this user (repeatable)", func(s string) error { users = append(users, s); return nil })
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fl.Args())
	}
	s, err := githubtest.Listen(*addr)
	if err != nil {
		return err
	}
	defer s.Close()
	s.SetDeviceFlow(*interval, *expires)
	out := urls{WebURL: s.WebURL(), APIURL: s.APIURL(), ControlURL: s.WebURL() + "/_fake", Users: map[string]string{}}
	for _, u := range users {
		if !githubtest.ValidLogin(u) {
			return fmt.Errorf("-user %q is not a GitHub login", u)
		}
		out.Users[u] = s.AddUser(u)
	}
	if err := json.NewEncoder(stdout).Encode(out); err != nil {
		return err
	}
	stdinEnded := make(chan struct{})
	if *watch {
		go func() { io.Copy(io.Discard, stdin); close(stdinEnded) }()
	}
	select {
	case <-done:
	case <-stdinEnded:
	}
	return nil
}
