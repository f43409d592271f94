package p2p

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pkfs/pkfs/gestalt"
	"github.com/pkfs/pkfs/keyring"
)

// Fuzz targets for every decoder of the wire. `make test` runs their seeds;
// run one for real with
//
//	go test ./p2p -run '^$' -fuzz '^FuzzReadFrame$' -fuzztime 20s

func frameBytes(kind byte, payload string) []byte {
	var b bytes.Buffer
	if err := writeFrame(&b, kind, []byte(payload)); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// FuzzReadFrame: readFrame never returns more than the limit of a kind,
// never panics, and what it accepts writes back to the same bytes.
func FuzzReadFrame(f *testing.F) {
	f.Add(frameBytes(kindRequest, `{"m":"nodes.ping","b":{}}`))
	f.Add(frameBytes(kindData, "PACK\x00\x00\x00\x02"))
	f.Add(frameBytes(kindEnd, ""))
	f.Add(append(frameBytes(kindError, `{"code":2,"message":"x"}`), 1, 2, 3))
	f.Add([]byte{1, 1, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{2, 1, 0, 0, 0, 0})
	f.Add([]byte{1, 9, 0, 0, 0, 0})
	f.Add([]byte{1, 1, 0, 0})
	f.Add([]byte{1, 4, 0, 0x10, 0, 1, 'x'})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		fr, err := readFrame(r)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, ErrBadRequest) && !errors.Is(err, ErrVersion) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error of no protocol kind: %v", err)
			}
			return
		}
		limit := MaxControl
		if fr.kind == kindData {
			limit = MaxData
		}
		if len(fr.payload) > limit {
			t.Fatalf("%d-byte payload of kind %d accepted", len(fr.payload), fr.kind)
		}
		consumed := len(data) - r.Len()
		var back bytes.Buffer
		if err := writeFrame(&back, fr.kind, fr.payload); err != nil {
			t.Fatalf("an accepted frame does not write: %v", err)
		}
		if !bytes.Equal(back.Bytes(), data[:consumed]) {
			t.Fatalf("round trip: read %x, wrote %x", data[:consumed], back.Bytes())
		}
		// readPayload with the same header agrees
		var hdr [6]byte
		copy(hdr[:], data)
		fr2, err := readPayload(bytes.NewReader(data[6:]), hdr)
		if err != nil || fr2.kind != fr.kind || !bytes.Equal(fr2.payload, fr.payload) {
			t.Fatalf("readPayload disagrees: %+v %v", fr2, err)
		}
	})
}

// FuzzDecodeRequest: an accepted request has a method of 1..64 bytes and
// survives a marshal and decode unchanged.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"m":"nodes.ping","b":{}}`))
	f.Add([]byte(`{"m":"vaults.fetch","b":{"vaultId":"z1","have":""}}`))
	f.Add([]byte(`{"m":"","b":{}}`))
	f.Add([]byte(`{"m":"x","b":null}`))
	f.Add([]byte(`{"m":"x","M":"y"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"m":"\u0000"}`))
	f.Fuzz(func(t *testing.T, p []byte) {
		req, err := decodeRequest(p)
		if err != nil {
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("error of no protocol kind: %v", err)
			}
			return
		}
		if req.Method == "" || len(req.Method) > 64 {
			t.Fatalf("method %q accepted", req.Method)
		}
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("an accepted request does not marshal: %v", err)
		}
		req2, err := decodeRequest(b)
		if err != nil || req2.Method != req.Method {
			t.Fatalf("round trip: %+v -> %s -> %+v %v", req, b, req2, err)
		}
		b2, _ := json.Marshal(req2)
		if !bytes.Equal(b, b2) {
			t.Fatalf("marshal not stable: %s vs %s", b, b2)
		}
	})
}

// FuzzDecodeError: any payload becomes either a malformed-message error or
// a *RemoteError that unwraps to a sentinel and round-trips.
func FuzzDecodeError(f *testing.F) {
	for _, err := range []error{ErrBadRequest, ErrPermission, ErrConflict, errors.New("secret detail")} {
		f.Add(encodeError(fmt.Errorf("%w: context", err)))
	}
	f.Add([]byte(`{"code":0,"message":"x"}`))
	f.Add([]byte(`{"code":65535}`))
	f.Add([]byte(`{"code":-1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, p []byte) {
		err := decodeError(p)
		var re *RemoteError
		if !errors.As(err, &re) {
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("neither remote nor malformed: %v", err)
			}
			return
		}
		if re.Code == 0 {
			t.Fatal("code 0 accepted")
		}
		if errors.Unwrap(re) == nil {
			t.Fatal("a remote error unwraps to nothing")
		}
		b, _ := json.Marshal(re)
		var re2 *RemoteError
		if !errors.As(decodeError(b), &re2) || *re2 != *re {
			t.Fatalf("round trip: %+v -> %s -> %+v", re, b, re2)
		}
		// what we send back for it is bounded and decodes
		enc := encodeError(re)
		if len(enc) > MaxControl || decodeError(enc) == nil {
			t.Fatalf("re-encoded: %q", enc)
		}
	})
}

// bodyTypes are the request bodies the handlers decode, and the response
// bodies callers decode, by method.
var bodyTypes = map[string]func() any{
	"hello": func() any { return new(helloBody) },
	"nodes.closest": func() any {
		return new(struct {
			Target keyring.NodeID `json:"target"`
		})
	},
	"nodes.closest resp": func() any { return new([]NodeAddress) },
	"notifications.send": func() any { return new(Notification) },
	"vaults.info": func() any {
		return new(struct {
			Vault string `json:"vault"`
		})
	},
	"vaults.info resp":  func() any { return new(VaultInfo) },
	"vaults.fetch":      func() any { return new(fetchRequest) },
	"vaults.fetch resp": func() any { return new(fetchResponse) },
	"vaults.changed":    func() any { return new(changedRequest) },
	"vaults.scan resp":  func() any { return new([]ScanItem) },
	"gestalts.link":     func() any { return new(gestalt.Claim) },
	"empty":             func() any { return new(struct{}) },
}

// FuzzDecodeBody decodes the input as every body type: no panic, and what
// is accepted marshals to a form that decodes again and marshals the same.
func FuzzDecodeBody(f *testing.F) {
	id := "v" + strings.Repeat("0", 52)
	f.Add([]byte(`{"nodeId":"` + id + `","port":1314,"version":1}`))
	f.Add([]byte(`{"target":"` + id + `"}`))
	f.Add([]byte(`{"vaultId":"zHmVTbhajpz1TDCWz3Lpj82","have":"` + strings.Repeat("a", 40) + `"}`))
	f.Add([]byte(`{"vaultId":"z","head":"` + strings.Repeat("A", 40) + `"}`))
	f.Add([]byte(`{"id":"` + strings.Repeat("0", 32) + `","type":"general","from":"` + id + `","to":"` + id +
		`","issuedAt":"2026-01-02T03:04:05.678Z","data":{"message":"hi"},"signature":"AAAA"}`))
	f.Add([]byte(`[{"nodeId":"` + id + `","host":"127.0.0.1","port":1,"lastSeen":"2026-01-01T00:00:00Z","seed":true}]`))
	f.Add([]byte(`{"vault":"prod"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(``))
	f.Add([]byte(`{"issuedAt":"2026-13-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for name, mk := range bodyTypes {
			v := mk()
			if err := decodeBody(b, v); err != nil {
				if !errors.Is(err, ErrBadRequest) {
					t.Fatalf("%s: error of no protocol kind: %v", name, err)
				}
				continue
			}
			m1, err := json.Marshal(v)
			if err != nil {
				// a time outside years 0..9999 decodes but cannot be
				// written back: harmless, the value is never re-sent
				if strings.Contains(err.Error(), "year outside of range") {
					continue
				}
				t.Fatalf("%s: accepted %q but cannot marshal it: %v", name, b, err)
			}
			v2 := mk()
			if err := decodeBody(m1, v2); err != nil {
				t.Fatalf("%s: accepted %q, marshalled %s, which does not decode: %v", name, b, m1, err)
			}
			m2, _ := json.Marshal(v2)
			if !bytes.Equal(m1, m2) {
				t.Fatalf("%s: not stable: %s vs %s", name, m1, m2)
			}
		}
	})
}

// FuzzNotificationVerify: Verify never panics on any decoded notification;
// one that verifies still verifies after a JSON round trip, and changing
// any signed field breaks it.
func FuzzNotificationVerify(f *testing.F) {
	kr, _, err := keyring.Create(f.TempDir(), []byte("pw"), keyring.Params{Ops: 1, MemKiB: keyring.MinMemKiB, Parallelism: 1}, "")
	if err != nil {
		f.Fatal(err)
	}
	defer kr.Close()
	s := &System{Keyring: kr}
	for _, data := range []any{"hello", map[string]string{"message": "x"}, VaultShareData{VaultID: "z1", VaultName: "prod"}} {
		n, err := s.NewNotification(kr.NodeID(), TypeGeneral, data)
		if err != nil {
			f.Fatal(err)
		}
		b, _ := json.Marshal(n)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var n Notification
		if decodeBody(b, &n) != nil {
			return
		}
		if err := n.Verify(); err != nil {
			if !errors.Is(err, ErrBadRequest) && !errors.Is(err, ErrPermission) {
				t.Fatalf("error of no protocol kind: %v", err)
			}
			return
		}
		if len(n.Data) > MaxNotificationData || len(n.ID) != 32 {
			t.Fatalf("verified a notification out of bounds: %+v", n)
		}
		m, err := json.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		var n2 Notification
		if err := decodeBody(m, &n2); err != nil || n2.Verify() != nil {
			t.Fatalf("a verified notification fails after a round trip: %v", err)
		}
		n2.IssuedAt = n2.IssuedAt.Add(time.Millisecond)
		if n2.Verify() == nil {
			t.Fatal("a changed time still verifies")
		}
	})
}

// FuzzHashUnmarshalText: a hash is "" or 40 hex digits, and what is
// accepted marshals back to the same digits (in lower case).
func FuzzHashUnmarshalText(f *testing.F) {
	f.Add("")
	f.Add(strings.Repeat("a", 40))
	f.Add(strings.Repeat("A", 40))
	f.Add(strings.Repeat("0", 40))
	f.Add(strings.Repeat("g", 40))
	f.Add(strings.Repeat("a", 39))
	f.Fuzz(func(t *testing.T, s string) {
		var h Hash
		if err := h.UnmarshalText([]byte(s)); err != nil {
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("error of no protocol kind: %v", err)
			}
			return
		}
		b, err := h.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		if h.V().IsZero() {
			if len(b) != 0 {
				t.Fatalf("zero hash marshals to %q", b)
			}
			return
		}
		if !strings.EqualFold(string(b), s) {
			t.Fatalf("%q -> %q", s, b)
		}
		var h2 Hash
		if err := h2.UnmarshalText(b); err != nil || h2 != h {
			t.Fatalf("round trip %q: %v", b, err)
		}
	})
}

// FuzzParseSeeds: accepted seeds are valid addresses, and writing them
// back as NODEID@HOST:PORT;... parses to the same list.
func FuzzParseSeeds(f *testing.F) {
	kr, _, err := keyring.Create(f.TempDir(), []byte("pw"), keyring.Params{Ops: 1, MemKiB: keyring.MinMemKiB, Parallelism: 1}, "")
	if err != nil {
		f.Fatal(err)
	}
	kr.Close()
	id := kr.NodeID().String()
	f.Add(id + "@127.0.0.1:1314")
	f.Add(id + "@[::1]:1;" + id + "@seed.example.com:65535;")
	f.Add(" ; " + id + "@h:0")
	f.Add(id + "@:1314")
	f.Add("x@y:z")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		seeds, err := ParseSeeds(s)
		if err != nil {
			return
		}
		parts := make([]string, len(seeds))
		for i, a := range seeds {
			if ValidateAddress(a.Host, a.Port) != nil || !a.Seed {
				t.Fatalf("accepted %+v", a)
			}
			parts[i] = a.NodeID.String() + "@" + a.Addr()
		}
		back := strings.Join(parts, ";")
		seeds2, err := ParseSeeds(back)
		if err != nil || !reflect.DeepEqual(seeds, seeds2) && len(seeds) > 0 {
			t.Fatalf("%q -> %q -> %+v %v", s, back, seeds2, err)
		}
	})
}
