package github

import (
	"encoding/json"
	"reflect"
	"testing"
)

// Fuzz targets of the answer decoders: no input panics, what a decoder
// accepts meets its checks, and re-encoding an accepted answer decodes to
// the same value.

var garbageSeeds = []string{
	"", "null", "[]", "{}", "[null]", `"x"`, "0", "<html>Unicorn!</html>", "{", `{"a":`,
	`{"login":17}`, `[{"id":["x"]}]`, "\xff\xfe", "   \n\t{}",
}

func seed(f *testing.F, seeds ...string) {
	for _, s := range append(seeds, garbageSeeds...) {
		f.Add([]byte(s))
	}
}

// roundTrip checks that the encoding of v decodes to v.
func roundTrip[T any](t *testing.T, v T, enc any, dec func([]byte) (T, error)) {
	t.Helper()
	b, err := json.Marshal(enc)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := dec(b)
	if err != nil || !reflect.DeepEqual(v, v2) {
		t.Fatalf("round trip of %s: %+v, %v; want %+v", b, v2, err, v)
	}
}

func FuzzDecodeDeviceCode(f *testing.F) {
	seed(f, `{"device_code":"3584d83530557fdd1f46af8289938c8ef79f9dc5","user_code":"WDJB-MJHT",`+
		`"verification_uri":"https://github.com/login/device","expires_in":900,"interval":5}`,
		`{"error":"device_flow_disabled","error_description":"Device Flow must be explicitly enabled for this App"}`,
		`{"device_code":"d","user_code":"u","verification_uri":"javascript:alert(1)","expires_in":900,"interval":5}`,
		`{"device_code":"d","user_code":"u","verification_uri":"http://127.0.0.1:1/login/device","expires_in":-1,"interval":5}`)
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := decodeDeviceCode(b)
		if err != nil {
			return
		}
		if a.Error == "" && (!printable(a.DeviceCode, 512) || !printable(a.UserCode, 64) || !webURL(a.VerificationURI) ||
			a.ExpiresIn <= 0 || a.Interval < 0) {
			t.Fatalf("accepted %+v", a)
		}
		roundTrip(t, a, a, decodeDeviceCode)
	})
}

func FuzzDecodeToken(f *testing.F) {
	seed(f, `{"access_token":"gho_16C7e42F292c6912E7710c838347Ae178B4a","token_type":"bearer","scope":"gist"}`,
		`{"error":"authorization_pending","error_description":"The authorization request is still pending.","error_uri":"https://docs.github.com"}`,
		`{"error":"slow_down","error_description":"Too many requests.","interval":10}`,
		`{"access_token":"a b"}`, `{"access_token":""}`, `{"error":"x\u0000"}`)
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := decodeToken(b)
		if err != nil {
			return
		}
		if a.Error == "" && !validToken(a.AccessToken) || a.Error != "" && !printable(a.Error, 100) {
			t.Fatalf("accepted %+v", a)
		}
		roundTrip(t, a, a, decodeToken)
	})
}

func FuzzDecodeUser(f *testing.F) {
	seed(f, `{"login":"octocat","id":1,"node_id":"MDQ6VXNlcjE=","type":"User","site_admin":false,"name":"monalisa octocat"}`,
		`{"login":"-bad"}`, `{"login":"a/b"}`, `{"LOGIN":"caseless"}`)
	f.Fuzz(func(t *testing.T, b []byte) {
		login, err := decodeUser(b)
		if err != nil {
			return
		}
		if !ValidLogin(login) {
			t.Fatalf("accepted %q", login)
		}
		roundTrip(t, login, userAnswer{Login: login}, decodeUser)
	})
}

func FuzzDecodeSearch(f *testing.F) {
	seed(f, `{"total_count":2,"incomplete_results":false,"items":[{"login":"mojombo","id":1,"score":1},{"login":"alice","id":2,"score":1}]}`,
		`{"total_count":0,"incomplete_results":false,"items":[]}`, `{"total_count":1,"items":[{"login":"a--b"}]}`,
		`{"total_count":1,"items":null}`)
	f.Fuzz(func(t *testing.T, b []byte) {
		logins, err := decodeSearch(b)
		if err != nil {
			return
		}
		a := searchAnswer{Items: []userAnswer{}}
		for _, l := range logins {
			if !ValidLogin(l) {
				t.Fatalf("accepted %q", l)
			}
			a.Items = append(a.Items, userAnswer{Login: l})
		}
		roundTrip(t, logins, a, decodeSearch)
	})
}

const gistSeed = `{"url":"https://api.github.com/gists/aa5a315d61ae9438b18d","id":"aa5a315d61ae9438b18d",` +
	`"html_url":"https://gist.github.com/aa5a315d61ae9438b18d","public":true,` +
	`"files":{"pkfs-identity-claim.txt":{"filename":"pkfs-identity-claim.txt","type":"text/plain","language":"Text",` +
	`"raw_url":"https://gist.githubusercontent.com/octocat/aa5a315d61ae9438b18d/raw/pkfs-identity-claim.txt","size":167,` +
	`"truncated":false,"content":"-----BEGIN PKFS IDENTITY CLAIM-----\nAAAA\n-----END PKFS IDENTITY CLAIM-----\n"}},` +
	`"owner":{"login":"octocat","id":1},"truncated":false}`

func FuzzDecodeGist(f *testing.F) {
	seed(f, gistSeed, `{"id":"../x","files":{}}`, `{"id":"x","files":null}`, `{"id":"x","files":{"a":{"content":5}}}`)
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := decodeGist(b)
		if err != nil {
			return
		}
		if !gistIDRE.MatchString(g.ID) || g.Files == nil {
			t.Fatalf("accepted %+v", g)
		}
		roundTrip(t, g, g, decodeGist)
	})
}

func FuzzDecodeGistList(f *testing.F) {
	seed(f, "["+gistSeed+"]", "["+gistSeed+","+gistSeed+"]", `[{"id":"x","files":{"a":{}}},{"id":"","files":{}}]`)
	f.Fuzz(func(t *testing.T, b []byte) {
		gs, err := decodeGistList(b)
		if err != nil {
			return
		}
		if len(gs) > perPage {
			t.Fatalf("accepted %d gists", len(gs))
		}
		for _, g := range gs {
			if !gistIDRE.MatchString(g.ID) || g.Files == nil {
				t.Fatalf("accepted %+v", g)
			}
		}
		if gs == nil {
			gs = []gist{}
		}
		roundTrip(t, gs, gs, decodeGistList)
	})
}
