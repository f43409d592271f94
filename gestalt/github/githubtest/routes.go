package githubtest

import (
	"encoding/json"
	"net/http"
	"strings"
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login/device/code", s.serve(DeviceCode, s.handleDeviceCode))
	mux.HandleFunc("POST /login/oauth/access_token", s.serve(AccessToken, s.handleAccessToken))
	mux.HandleFunc("GET /login/device", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<html><body><h1>Device activation</h1><p>Enter the code displayed on your device.</p></body></html>\n"))
	})
	mux.HandleFunc("GET /raw/{login}/{id}/{file}", s.serve(Raw, s.handleRaw))
	api := http.NewServeMux()
	api.HandleFunc("GET /user", s.serve(User, s.handleUser))
	api.HandleFunc("POST /gists", s.serve(CreateGist, s.handleCreateGist))
	api.HandleFunc("GET /users/{login}/gists", s.serve(UserGists, s.handleUserGists))
	api.HandleFunc("GET /gists/{id}", s.serve(Gist, s.handleGist))
	api.HandleFunc("GET /search/users", s.serve(SearchUsers, s.handleSearchUsers))
	api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { apiError(w, http.StatusNotFound, "Not Found") })
	mux.Handle(apiPrefix+"/", http.StripPrefix(apiPrefix, requireUserAgent(api)))
	s.controlRoutes(mux)
	return mux
}

// requireUserAgent refuses API requests without a User-Agent, as GitHub.
func requireUserAgent(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.UserAgent() == "" {
			apiError(w, http.StatusForbidden, "Request forbidden by administrative rules. "+
				"Please make sure your request has a User-Agent header.")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// controlRoutes are the fake's own endpoints, for tests in another process
// (internal/githubfake). They take form values and answer JSON:
//
//	POST /_fake/users    login               {"login", "token"}
//	POST /_fake/approve  login [user_code]   the oldest pending code without user_code
//	POST /_fake/deny     user_code
//	POST /_fake/expire   user_code
//	POST /_fake/edit     login old new       replaces old by new in login's claim files: {"edited": n}
//	POST /_fake/fault    fault [endpoint...] every endpoint without one
//	GET  /_fake/pending                      {"userCodes": [...]}
func (s *Server) controlRoutes(mux *http.ServeMux) {
	fail := func(w http.ResponseWriter, status int, msg string) {
		writeJSON(w, status, map[string]string{"error": msg})
	}
	done := func(w http.ResponseWriter, err error) {
		if err != nil {
			fail(w, http.StatusNotFound, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	}
	mux.HandleFunc("POST /_fake/users", func(w http.ResponseWriter, r *http.Request) {
		login := r.FormValue("login")
		if !ValidLogin(login) {
			fail(w, http.StatusUnprocessableEntity, "not a GitHub login")
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"login": login, "token": s.AddUser(login)})
	})
	mux.HandleFunc("POST /_fake/approve", func(w http.ResponseWriter, r *http.Request) {
		code := r.FormValue("user_code")
		if code == "" {
			pending := s.PendingUserCodes()
			if len(pending) == 0 {
				fail(w, http.StatusNotFound, "no pending user code")
				return
			}
			code = pending[0]
		}
		done(w, s.Approve(code, r.FormValue("login")))
	})
	mux.HandleFunc("POST /_fake/deny", func(w http.ResponseWriter, r *http.Request) { done(w, s.Deny(r.FormValue("user_code"))) })
	mux.HandleFunc("POST /_fake/expire", func(w http.ResponseWriter, r *http.Request) { done(w, s.Expire(r.FormValue("user_code"))) })
	mux.HandleFunc("POST /_fake/edit", func(w http.ResponseWriter, r *http.Request) {
		old, repl := r.FormValue("old"), r.FormValue("new")
		n := s.EditGist(r.FormValue("login"), func(t string) string { return strings.ReplaceAll(t, old, repl) })
		writeJSON(w, http.StatusOK, map[string]int{"edited": n})
	})
	mux.HandleFunc("POST /_fake/fault", func(w http.ResponseWriter, r *http.Request) {
		if r.ParseForm() != nil {
			fail(w, http.StatusBadRequest, "bad form")
			return
		}
		f, ok := parseFault(r.PostForm.Get("fault"))
		var eps []Endpoint
		for _, e := range r.PostForm["endpoint"] {
			ep, known := parseEndpoint(e)
			ok = ok && known
			eps = append(eps, ep)
		}
		if !ok {
			fail(w, http.StatusUnprocessableEntity, "unknown fault or endpoint")
			return
		}
		s.SetFault(f, eps...)
		done(w, nil)
	})
	mux.HandleFunc("GET /_fake/pending", func(w http.ResponseWriter, r *http.Request) {
		codes := s.PendingUserCodes()
		if codes == nil {
			codes = []string{}
		}
		b, _ := json.Marshal(map[string][]string{"userCodes": codes})
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	})
}

func parseFault(s string) (Fault, bool) {
	for _, f := range append([]Fault{NoFault}, Faults...) {
		if string(f) == s {
			return f, true
		}
	}
	return "", false
}

func parseEndpoint(s string) (Endpoint, bool) {
	for _, e := range Endpoints {
		if string(e) == s {
			return e, true
		}
	}
	return "", false
}
