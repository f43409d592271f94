package github

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/pkfs/pkfs/gestalt"
)

// Defaults of Config.
const (
	DefaultWebURL = "https://github.com"
	DefaultAPIURL = "https://api.github.com"
	// DefaultClientID is a placeholder for the client ID of pkfs's GitHub
	// OAuth app (an app with the device flow enabled). Until a real app is
	// registered and its ID put here, GitHub refuses the device flow of the
	// default configuration; set Config.ClientID to an app of your own.
	DefaultClientID = "pkfs-placeholder-client-id"
	// DefaultTimeout bounds each request when the HTTP client sets none.
	DefaultTimeout = 20 * time.Second
)

// ProviderID is the provider's name in PROVIDER:IDENTITY.
const ProviderID = "github.com"

// Config says where GitHub is and how to reach it. Zero fields take the
// defaults above; HTTP nil means a client with DefaultTimeout.
type Config struct {
	WebURL, APIURL, ClientID string
	HTTP                     *http.Client
}

// Provider is the GitHub identity provider. It is safe for concurrent use.
type Provider struct {
	web, api *url.URL
	clientID string
	hc       *http.Client
	timeout  time.Duration
	cfgErr   error
	// sleep waits between device-flow polls; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

var _ gestalt.Provider = (*Provider)(nil)

// New returns a provider for c. A malformed URL in c makes every call fail
// with gestalt.ErrProvider.
func New(c Config) *Provider {
	if c.WebURL == "" {
		c.WebURL = DefaultWebURL
	}
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	if c.ClientID == "" {
		c.ClientID = DefaultClientID
	}
	p := &Provider{clientID: c.ClientID, timeout: DefaultTimeout, sleep: sleepCtx}
	var err1, err2 error
	p.web, err1 = parseBase(c.WebURL)
	p.api, err2 = parseBase(c.APIURL)
	if err1 != nil {
		p.cfgErr = err1
	} else if err2 != nil {
		p.cfgErr = err2
	}
	hc := http.Client{Timeout: DefaultTimeout}
	if c.HTTP != nil {
		hc = *c.HTTP // a copy: the caller's client keeps its own redirect policy
		if hc.Timeout > 0 {
			p.timeout = hc.Timeout
		}
	}
	hc.CheckRedirect = p.checkRedirect
	p.hc = &hc
	return p
}

// ID returns "github.com".
func (p *Provider) ID() string { return ProviderID }

func parseBase(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return &url.URL{}, fmt.Errorf("%w: github: bad base URL %q", gestalt.ErrProvider, s)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// endpoint returns base joined with an already escaped path and a query.
func endpoint(base *url.URL, escapedPath string, q url.Values) *url.URL {
	u := *base
	u.RawPath = u.EscapedPath() + escapedPath
	u.Path, _ = url.PathUnescape(u.RawPath)
	u.RawQuery = q.Encode()
	return &u
}

// allowed reports whether u is on one of the configured hosts.
func (p *Provider) allowed(u *url.URL) bool {
	for _, b := range []*url.URL{p.web, p.api} {
		if u.Scheme == b.Scheme && strings.EqualFold(u.Host, b.Host) && u.User == nil {
			return true
		}
	}
	return false
}

func (p *Provider) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return fmt.Errorf("%w: github: too many redirects", gestalt.ErrProvider)
	}
	if !p.allowed(req.URL) {
		return fmt.Errorf("%w: github: redirect to another host refused", gestalt.ErrProvider)
	}
	return nil
}

var loginRE = regexp.MustCompile(`^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$`)

// ValidLogin reports whether s is a GitHub login: 1 to 39 alphanumerics
// and single hyphens, not starting or ending with a hyphen.
func ValidLogin(s string) bool { return len(s) >= 1 && len(s) <= 39 && loginRE.MatchString(s) }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
