package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- run([]string{"-user", "alice", "-user", "Bob-2", "-interval", "2s"}, strings.NewReader(""), pw, done)
		pw.Close()
	}()
	var u urls
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil || json.Unmarshal([]byte(line), &u) != nil {
		t.Fatalf("first line %q, %v", line, err)
	}
	go io.Copy(io.Discard, pr)
	if !strings.HasPrefix(u.WebURL, "http://127.0.0.1:") || u.APIURL != u.WebURL+"/api/v3" || u.ControlURL != u.WebURL+"/_fake" ||
		len(u.Users) != 2 || !strings.HasPrefix(u.Users["Bob-2"], "gho_") {
		t.Fatalf("printed %+v", u)
	}
	req, _ := http.NewRequest("GET", u.APIURL+"/user", nil)
	req.Header.Set("Authorization", "Bearer "+u.Users["alice"])
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	c.CloseIdleConnections()
	if !strings.Contains(string(b), `"login":"alice"`) {
		t.Errorf("GET /user: %s", b)
	}
	close(done)
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not stop")
	}
}

func TestRunStopsWhenStdinEnds(t *testing.T) {
	errc := make(chan error, 1)
	go func() { errc <- run([]string{"-watch-stdin"}, strings.NewReader(""), io.Discard, make(chan struct{})) }()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not stop at the end of stdin")
	}
}

func TestRunRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-user", "-x-"}, {"-addr", "0.0.0.0:0"}, {"extra"}, {"-nope"}} {
		if err := run(args, strings.NewReader(""), io.Discard, make(chan struct{})); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
