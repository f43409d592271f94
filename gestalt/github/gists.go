package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pkfs/pkfs/gestalt"
)

// Bounds of Claims.
const (
	perPage = 100
	// MaxGistPages is the number of pages of gists Claims reads at most.
	MaxGistPages = 10
	// MaxClaimGists is the number of gists holding a claim file that
	// Claims fetches at most, newest first.
	MaxClaimGists = 50
)

// Publish creates a public gist holding text as gestalt.ClaimFileName and
// returns its address (POST /gists, with the gist scope).
func (p *Provider) Publish(ctx context.Context, t gestalt.Token, text []byte) (string, error) {
	if len(text) == 0 || len(text) > MaxAnswer/2 || !utf8.Valid(text) {
		return "", fmt.Errorf("%w: claim text: want 1 byte to %d KiB of UTF-8", gestalt.ErrBadClaim, MaxAnswer/2>>10)
	}
	body, _ := json.Marshal(map[string]any{
		"description": "pkfs identity claim",
		"public":      true,
		"files":       map[string]any{gestalt.ClaimFileName: map[string]string{"content": string(text)}},
	})
	r := request{method: http.MethodPost, u: endpoint(p.api, "/gists", nil), kind: kindAPI, json: body, token: &t}
	ans, err := p.do(ctx, r)
	if err != nil {
		return "", err
	}
	g, err := decodeGist(ans)
	if err == nil && !webURL(g.HTMLURL) {
		err = shapeErr("bad html_url")
	}
	if err != nil {
		return "", &Error{Op: r.op(), Status: http.StatusCreated, Err: err}
	}
	return g.HTMLURL, nil
}

// Claims returns the texts of the gestalt.ClaimFileName files in the
// public gists of identity, newest gist first. Gists without such a file
// are ignored; so are gists deleted while Claims reads them and files too
// large to be a claim whose full text is not on a configured host.
func (p *Provider) Claims(ctx context.Context, identity string) ([][]byte, error) {
	if err := checkLogin(identity); err != nil {
		return nil, err
	}
	ids, err := p.claimGists(ctx, identity)
	if err != nil {
		return nil, err
	}
	var texts [][]byte
	for _, id := range ids {
		text, err := p.claimText(ctx, identity, id)
		if err != nil {
			return nil, err
		}
		if text != nil {
			texts = append(texts, text)
		}
	}
	return texts, nil
}

// claimGists lists the IDs of identity's gists that have a claim file.
func (p *Provider) claimGists(ctx context.Context, identity string) ([]string, error) {
	path := "/users/" + url.PathEscape(identity) + "/gists"
	seen := map[string]bool{}
	var ids []string
	for page := 1; page <= MaxGistPages && len(ids) < MaxClaimGists; page++ {
		q := url.Values{"per_page": {strconv.Itoa(perPage)}, "page": {strconv.Itoa(page)}}
		r := request{method: http.MethodGet, u: endpoint(p.api, path, q), kind: kindAPI}
		body, err := p.do(ctx, r)
		if err != nil {
			return nil, err
		}
		gs, err := decodeGistList(body)
		if err != nil {
			return nil, &Error{Op: r.op(), Status: http.StatusOK, Err: err}
		}
		for _, g := range gs {
			if _, ok := g.Files[gestalt.ClaimFileName]; ok && !seen[g.ID] && ownedBy(g, identity) && len(ids) < MaxClaimGists {
				seen[g.ID] = true
				ids = append(ids, g.ID)
			}
		}
		if len(gs) < perPage {
			break
		}
	}
	return ids, nil
}

// ownedBy reports whether a gist that names its owner belongs to login.
func ownedBy(g gist, login string) bool {
	return g.Owner == nil || strings.EqualFold(g.Owner.Login, login)
}

// claimText fetches the claim file of one gist; nil when it is to be
// ignored.
func (p *Provider) claimText(ctx context.Context, identity, id string) ([]byte, error) {
	r := request{method: http.MethodGet, u: endpoint(p.api, "/gists/"+url.PathEscape(id), nil), kind: kindAPI}
	body, err := p.do(ctx, r)
	var e *Error
	if errors.As(err, &e) && e.Status == http.StatusNotFound {
		return nil, nil // deleted since it was listed
	}
	if err != nil {
		return nil, err
	}
	g, err := decodeGist(body)
	if err == nil && g.ID != id {
		err = shapeErr("asked for gist %s, got %s", id, g.ID)
	}
	if err != nil {
		return nil, &Error{Op: r.op(), Status: http.StatusOK, Err: err}
	}
	f, ok := g.Files[gestalt.ClaimFileName]
	if !ok || !ownedBy(g, identity) {
		return nil, nil
	}
	if !f.Truncated {
		if f.Content == nil {
			return nil, &Error{Op: r.op(), Status: http.StatusOK, Err: shapeErr("claim file without content")}
		}
		return []byte(*f.Content), nil
	}
	return p.rawText(ctx, f.RawURL)
}

// rawText fetches the full text of a truncated file, only from a
// configured host; elsewhere (GitHub's gist.githubusercontent.com) the file
// is ignored: GitHub truncates only files far larger than any claim.
func (p *Provider) rawText(ctx context.Context, raw string) ([]byte, error) {
	u, err := url.Parse(raw)
	if err != nil || !p.allowed(u) {
		return nil, nil
	}
	return p.do(ctx, request{method: http.MethodGet, u: u, kind: kindRaw})
}
