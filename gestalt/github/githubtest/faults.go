package githubtest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"time"
)

// Endpoint names one endpoint of the fake, for faults and request counts.
type Endpoint string

// The endpoints of the fake.
const (
	DeviceCode  Endpoint = "device-code"  // POST /login/device/code
	AccessToken Endpoint = "access-token" // POST /login/oauth/access_token
	User        Endpoint = "user"         // GET /user
	CreateGist  Endpoint = "create-gist"  // POST /gists
	UserGists   Endpoint = "user-gists"   // GET /users/{login}/gists
	Gist        Endpoint = "gist"         // GET /gists/{id}
	Raw         Endpoint = "raw"          // GET /raw/{login}/{id}/{file} on the web host
	SearchUsers Endpoint = "search-users" // GET /search/users
)

// Endpoints lists every endpoint.
var Endpoints = []Endpoint{DeviceCode, AccessToken, User, CreateGist, UserGists, Gist, Raw, SearchUsers}

// Fault is a way for an endpoint to misbehave.
type Fault string

// The faults.
const (
	NoFault     Fault = "none"
	Hang        Fault = "hang"         // no answer until the client gives up (or a minute, or Close)
	Garbage     Fault = "garbage"      // 200 with an HTML page instead of JSON
	WrongShape  Fault = "wrong-shape"  // 200 with JSON of another shape (array for object and back)
	Huge        Fault = "huge"         // the right answer after 4 MiB of JSON whitespace
	Cut         Fault = "cut"          // the first half of the right answer
	ServerError Fault = "server-error" // 502 with an HTML body
)

// Faults lists every fault but NoFault.
var Faults = []Fault{Hang, Garbage, WrongShape, Huge, Cut, ServerError}

// hangLimit bounds a hanging handler when the client never gives up.
const hangLimit = time.Minute

// SetFault makes the given endpoints (every endpoint when none is given)
// misbehave with f from now on; NoFault restores them.
func (s *Server) SetFault(f Fault, eps ...Endpoint) {
	if len(eps) == 0 {
		eps = Endpoints
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ep := range eps {
		if f == NoFault {
			delete(s.faults, ep)
		} else {
			s.faults[ep] = f
		}
	}
}

// Requests returns how many requests an endpoint received, faulty or not.
func (s *Server) Requests(ep Endpoint) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[ep]
}

// serve counts a request to ep and answers it with h or with ep's fault.
func (s *Server) serve(ep Endpoint, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.counts[ep]++
		f := s.faults[ep]
		s.mu.Unlock()
		switch f {
		case "", NoFault:
			h(w, r)
		case Hang:
			t := time.NewTimer(hangLimit)
			defer t.Stop()
			select {
			case <-r.Context().Done():
			case <-s.done:
			case <-t.C:
			}
		case Garbage:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte("<!DOCTYPE html>\n<html><head><title>Unicorn! · GitHub</title></head>" +
				"<body><p>This page is taking too long to load.</p></body></html>\n"))
		case ServerError:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusBadGateway)
			w.Write([]byte("<html><body><h1>502 Bad Gateway</h1></body></html>\n"))
		default:
			rec := httptest.NewRecorder()
			h(rec, r)
			body := mangle(f, rec.Body.Bytes())
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(body)
		}
	}
}

// mangle turns a right answer into a faulty one.
func mangle(f Fault, body []byte) []byte {
	switch f {
	case WrongShape:
		if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '[' {
			return []byte(`{"message":"an object where an array was due","items":[{"login":17}]}`)
		}
		return []byte(`[{"login":17,"id":"x","files":"none"}]`)
	case Huge:
		return append(bytes.Repeat([]byte(" "), 4<<20), body...)
	case Cut:
		return body[:len(body)/2]
	}
	return body
}
