// Package github is the GitHub identity provider of gestalts: it links a
// node to a GitHub account by publishing the node's signed identity claim as
// a public gist, and reads the claims an account published, all through
// GitHub's REST API (never its HTML).
//
// # Authentication
//
// StartAuth and FinishAuth run GitHub's OAuth device flow: the user opens
// the verification URI, types the user code, and FinishAuth polls until
// GitHub hands out a token with the gist scope. The client ID of the OAuth
// app is Config.ClientID (DefaultClientID, a placeholder, when empty).
//
// # Requests
//
// Every request carries a timeout (the context's, bounded by the HTTP
// client's Timeout or DefaultTimeout), reads at most MaxAnswer bytes of
// answer, and goes only to the configured web and API hosts: redirects and
// URLs found in answers that lead elsewhere are not followed. Answers that
// are not the expected JSON are errors. Every failure wraps
// gestalt.ErrProvider; a refused or missing token also wraps
// gestalt.ErrNotAuthenticated. The token travels only in the Authorization
// header: it never appears in an error.
//
// # Limits
//
// Claims reads at most MaxGistPages pages of 100 gists of an identity and
// fetches at most MaxClaimGists of them; Search returns at most 100 logins.
// Claims and Search are anonymous requests (GitHub allows 60 an hour per
// address).
package github
