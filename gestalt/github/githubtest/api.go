package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

const docsURL = "https://docs.github.com/rest"

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic("githubtest: " + err.Error())
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-GitHub-Media-Type", "github.v3; format=json")
	w.WriteHeader(status)
	w.Write(b)
}

// apiError answers an error of the REST API, in GitHub's shape.
func apiError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"message": msg, "documentation_url": docsURL, "status": strconv.Itoa(status)})
}

// authUser returns the user of the request's token, or answers 401.
// Callers hold s.mu.
func (s *Server) authUser(w http.ResponseWriter, r *http.Request) *user {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		tok, ok = strings.CutPrefix(h, "token ")
	}
	if !ok || tok == "" {
		apiError(w, http.StatusUnauthorized, "Requires authentication")
		return nil
	}
	login, ok := s.tokens[tok]
	if !ok {
		apiError(w, http.StatusUnauthorized, "Bad credentials")
		return nil
	}
	return s.users[login]
}

func (s *Server) userJSON(u *user) map[string]any {
	api := s.APIURL() + "/users/" + u.login
	return map[string]any{
		"login": u.login, "id": u.id, "node_id": fmt.Sprintf("U_kgDO%08d", u.id),
		"avatar_url": "https://avatars.githubusercontent.com/u/" + strconv.FormatInt(u.id, 10) + "?v=4",
		"url":        api, "html_url": s.WebURL() + "/" + u.login,
		"gists_url": api + "/gists{/gist_id}", "type": "User", "user_view_type": "public", "site_admin": false,
	}
}

// handleUser serves GET /user.
func (s *Server) handleUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.authUser(w, r)
	if u == nil {
		return
	}
	m := s.userJSON(u)
	m["name"], m["company"], m["blog"], m["bio"] = nil, nil, "", nil
	m["public_gists"], m["created_at"] = s.publicGists(u), u.made.Format(time.RFC3339)
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) publicGists(u *user) int {
	n := 0
	for _, g := range s.gists {
		if g.owner == strings.ToLower(u.login) && g.public {
			n++
		}
	}
	return n
}

// gistJSON is a gist as GitHub shows it; withContent adds the files'
// content (GET /gists/{id}, POST /gists), truncated past truncateAt.
func (s *Server) gistJSON(g *gist, withContent bool) map[string]any {
	u := s.users[g.owner]
	api := s.APIURL() + "/gists/" + g.id
	raw := s.rawBase
	if raw == "" {
		raw = s.WebURL()
	}
	files := map[string]any{}
	for name, content := range g.files {
		f := map[string]any{"filename": name, "type": "text/plain", "language": "Text", "size": len(content),
			"raw_url": raw + "/raw/" + u.login + "/" + g.id + "/" + url.PathEscape(name)}
		if withContent {
			f["truncated"] = len(content) > s.truncateAt
			if len(content) > s.truncateAt {
				content = content[:s.truncateAt]
			}
			f["content"] = content
		}
		files[name] = f
	}
	m := map[string]any{
		"url": api, "forks_url": api + "/forks", "commits_url": api + "/commits", "id": g.id,
		"node_id": "G_kwDO" + g.id[:8], "git_pull_url": s.WebURL() + "/" + g.id + ".git",
		"html_url": s.WebURL() + "/gist/" + u.login + "/" + g.id, "files": files, "public": g.public,
		"created_at": g.made.Format(time.RFC3339), "updated_at": g.made.Format(time.RFC3339),
		"description": g.description, "comments": 0, "user": nil, "owner": s.userJSON(u), "truncated": false,
	}
	return m
}

// handleCreateGist serves POST /gists.
func (s *Server) handleCreateGist(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.authUser(w, r)
	if u == nil {
		return
	}
	var in struct {
		Description string `json:"description"`
		Public      bool   `json:"public"`
		Files       map[string]struct {
			Content string `json:"content"`
		} `json:"files"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 10<<20)).Decode(&in); err != nil {
		apiError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	files := map[string]string{}
	for name, f := range in.Files {
		if name == "" || strings.ContainsAny(name, "/\x00") || f.Content == "" {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed",
				"errors": []map[string]any{{"resource": "Gist", "field": "files", "code": "missing_field"}}, "documentation_url": docsURL})
			return
		}
		files[name] = f.Content
	}
	if len(files) == 0 {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed",
			"errors": []map[string]any{{"resource": "Gist", "field": "files", "code": "missing_field"}}, "documentation_url": docsURL})
		return
	}
	g := s.addGist(u, in.Description, in.Public, files)
	w.Header().Set("Location", s.APIURL()+"/gists/"+g.id)
	writeJSON(w, http.StatusCreated, s.gistJSON(g, true))
}

// pageParams reads per_page (default 30, at most 100) and page (from 1).
func pageParams(r *http.Request) (perPage, page int) {
	perPage, page = 30, 1
	if n, err := strconv.Atoi(r.URL.Query().Get("per_page")); err == nil && n > 0 {
		perPage = min(n, 100)
	}
	if n, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && n > 0 {
		page = n
	}
	return perPage, page
}

// handleUserGists serves GET /users/{login}/gists: public gists, newest
// first, paginated with a Link header.
func (s *Server) handleUserGists(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[strings.ToLower(r.PathValue("login"))]
	if !ok {
		apiError(w, http.StatusNotFound, "Not Found")
		return
	}
	var gs []*gist
	for i := len(s.gists) - 1; i >= 0; i-- {
		if g := s.gists[i]; g.owner == strings.ToLower(u.login) && g.public {
			gs = append(gs, g)
		}
	}
	perPage, page := pageParams(r)
	out := []any{}
	for i := (page - 1) * perPage; i >= 0 && i < len(gs) && len(out) < perPage; i++ {
		out = append(out, s.gistJSON(gs[i], false))
	}
	last := max(1, (len(gs)+perPage-1)/perPage)
	base := s.APIURL() + "/users/" + u.login + "/gists?per_page=" + strconv.Itoa(perPage) + "&page="
	var links []string
	if page < last {
		links = append(links, fmt.Sprintf(`<%s%d>; rel="next"`, base, page+1), fmt.Sprintf(`<%s%d>; rel="last"`, base, last))
	}
	if page > 1 {
		links = append(links, fmt.Sprintf(`<%s%d>; rel="prev"`, base, page-1), fmt.Sprintf(`<%s1>; rel="first"`, base))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) findGist(id string) *gist {
	for _, g := range s.gists {
		if g.id == id {
			return g
		}
	}
	return nil
}

// handleGist serves GET /gists/{id} (secret gists too: their ID is the
// secret, as on GitHub).
func (s *Server) handleGist(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.findGist(r.PathValue("id"))
	if g == nil {
		apiError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, s.gistJSON(g, true))
}

// handleRaw serves GET /raw/{login}/{id}/{file} (web host): a whole file.
func (s *Server) handleRaw(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.findGist(r.PathValue("id"))
	var content string
	ok := g != nil && strings.EqualFold(g.owner, r.PathValue("login"))
	if ok {
		content, ok = g.files[r.PathValue("file")]
	}
	if !ok {
		http.Error(w, "404: Not Found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte(content))
}

// handleSearchUsers serves GET /search/users: the users whose login holds
// every word of q that is not a qualifier (in:login, type:user...).
func (s *Server) handleSearchUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	if strings.TrimSpace(q) == "" {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed",
			"errors": []map[string]any{{"resource": "Search", "field": "q", "code": "missing"}}, "documentation_url": docsURL})
		return
	}
	var words []string
	for _, f := range strings.Fields(strings.ToLower(q)) {
		if !strings.Contains(f, ":") {
			words = append(words, f)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []*user
	for k, u := range s.users {
		match := true
		for _, w := range words {
			match = match && strings.Contains(k, w)
		}
		if match {
			found = append(found, u)
		}
	}
	sort.Slice(found, func(i, j int) bool { return found[i].login < found[j].login })
	perPage, page := pageParams(r)
	items := []any{}
	for i := (page - 1) * perPage; i >= 0 && i < len(found) && len(items) < perPage; i++ {
		m := s.userJSON(found[i])
		m["score"] = 1.0
		items = append(items, m)
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(found), "incomplete_results": false, "items": items})
}
