package keyring

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var testParams = Params{Ops: 1, MemKiB: MinMemKiB, Parallelism: 1}

const zeroCode = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon " +
	"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon art"

// A fixed recovery code gives a fixed seed and node ID (regression vector;
// the seed is BIP39's seed of that mnemonic with an empty passphrase).
func TestRecoveryCodeVector(t *testing.T) {
	seed, err := SeedFromRecoveryCode(zeroCode)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(seed); got != "408b285c123836004f4b8842c89324c1f01382450c0d439af345ba7fc49acf70" {
		t.Fatalf("seed %s", got)
	}
	kr, code, err := Create(t.TempDir(), []byte("pw"), testParams, zeroCode)
	if err != nil {
		t.Fatal(err)
	}
	defer kr.Close()
	if code != zeroCode {
		t.Fatalf("code %q", code)
	}
	if got := kr.NodeID().String(); got != wantZeroNodeID {
		t.Fatalf("node ID %s", got)
	}
}

const wantZeroNodeID = "v3nhl5p2cqcpme9cju8pkksoe305aua8dt2da2ra81nip9oqe55gg"

func TestNodeIDText(t *testing.T) {
	kr, _, err := Create(t.TempDir(), []byte("pw"), testParams, "")
	if err != nil {
		t.Fatal(err)
	}
	defer kr.Close()
	s := kr.NodeID().String()
	if len(s) != 53 || s[0] != 'v' || strings.ToLower(s) != s {
		t.Fatalf("node ID text %q", s)
	}
	back, err := ParseNodeID(strings.ToUpper(s))
	if err != nil || back != kr.NodeID() {
		t.Fatalf("parse: %v", err)
	}
	for _, bad := range []string{"", "v", s[1:], "z" + s[1:], s + "0", s[:52] + "w", "v" + strings.Repeat("v", 52)} {
		if _, err := ParseNodeID(bad); !errors.Is(err, ErrInvalidNodeID) {
			t.Errorf("ParseNodeID(%q) = %v", bad, err)
		}
	}
}

func TestCreateUnlock(t *testing.T) {
	dir := t.TempDir()
	kr, code, err := Create(dir, []byte("correct horse"), testParams, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(strings.Fields(code)) != 24 {
		t.Fatalf("code has %d words", len(strings.Fields(code)))
	}
	dk1, _ := kr.DataKey()
	kr.Close()
	if _, err := kr.Sign([]byte("x")); !errors.Is(err, ErrLocked) {
		t.Fatal("closed keyring signs")
	}
	kr2, err := Unlock(dir, []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	defer kr2.Close()
	dk2, _ := kr2.DataKey()
	if !dk1.Equal(&dk2) || kr2.NodeID() != kr.NodeID() {
		t.Fatal("unlock gives other keys")
	}
	if _, err := Unlock(dir, []byte("wrong")); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := Unlock(dir, nil); !errors.Is(err, ErrEmptyPassword) {
		t.Fatalf("empty password: %v", err)
	}
	if _, err := Unlock(t.TempDir(), []byte("x")); !errors.Is(err, ErrNoKeys) {
		t.Fatalf("no keys: %v", err)
	}
	if _, _, err := Create(t.TempDir(), nil, testParams, ""); !errors.Is(err, ErrEmptyPassword) {
		t.Fatal("empty password accepted at create")
	}
}

func TestDamagedKeyFiles(t *testing.T) {
	dir := t.TempDir()
	kr, _, err := Create(dir, []byte("pw"), testParams, "")
	if err != nil {
		t.Fatal(err)
	}
	kr.Close()
	for _, name := range []string{PrivateKeyFile, PublicKeyFile, DataKeyFile} {
		orig, _ := os.ReadFile(filepath.Join(dir, name))
		damage := map[string][]byte{
			"truncated": orig[:len(orig)/2],
			"empty":     {},
			"garbled":   bytes.ReplaceAll(orig, []byte(":"), []byte(";")),
		}
		// flip a byte inside the base64 payload
		flipped := bytes.Clone(orig)
		i := bytes.LastIndex(flipped, []byte("\":")) + 6
		flipped[i] ^= 0x01
		damage["flipped"] = flipped
		for what, b := range damage {
			os.WriteFile(filepath.Join(dir, name), b, 0o600)
			_, err := Unlock(dir, []byte("pw"))
			if !errors.Is(err, ErrKeyFileDamaged) && !(name == PublicKeyFile && errors.Is(err, ErrInvalidNodeID)) {
				t.Errorf("%s %s: got %v, want damaged", name, what, err)
			}
		}
		os.WriteFile(filepath.Join(dir, name), orig, 0o600)
	}
	if kr, err := Unlock(dir, []byte("pw")); err != nil {
		t.Fatalf("restored files do not unlock: %v", err)
	} else {
		kr.Close()
	}
}

func TestWeakParamsRefused(t *testing.T) {
	dir := t.TempDir()
	kr, _, _ := Create(dir, []byte("pw"), testParams, "")
	kr.Close()
	b, _ := os.ReadFile(filepath.Join(dir, PrivateKeyFile))
	weak := bytes.Replace(b, []byte(`"memLimitKiB": 8192`), []byte(`"memLimitKiB": 8`), 1)
	if bytes.Equal(weak, b) {
		t.Fatal("test did not change the file")
	}
	os.WriteFile(filepath.Join(dir, PrivateKeyFile), weak, 0o600)
	if _, err := Unlock(dir, []byte("pw")); !errors.Is(err, ErrKeyFileDamaged) {
		t.Fatalf("weakened params: %v", err)
	}
	if _, _, err := Create(t.TempDir(), []byte("pw"), Params{Ops: 1, MemKiB: 8, Parallelism: 1}, ""); !errors.Is(err, ErrInvalidParams) {
		t.Fatalf("create with weak params: %v", err)
	}
}

func TestRestoreAndChangePassword(t *testing.T) {
	dir := t.TempDir()
	kr, code, _ := Create(dir, []byte("old"), testParams, "")
	id := kr.NodeID()
	dk, _ := kr.DataKey()
	if err := kr.ChangePassword([]byte("old"), []byte("new"), testParams); err != nil {
		t.Fatal(err)
	}
	kr.Close()
	if _, err := Unlock(dir, []byte("old")); !errors.Is(err, ErrWrongPassword) {
		t.Fatal("old password still works")
	}
	kr2, err := Restore(dir, "  "+strings.ToUpper(code)+"\n", []byte("third"), testParams)
	if err != nil {
		t.Fatal(err)
	}
	kr2.Close()
	kr3, err := Unlock(dir, []byte("third"))
	if err != nil {
		t.Fatal(err)
	}
	defer kr3.Close()
	dk3, _ := kr3.DataKey()
	if kr3.NodeID() != id || !dk.Equal(&dk3) {
		t.Fatal("restore changed the identity or the data key")
	}
	if _, err := Restore(dir, zeroCode, []byte("x"), testParams); !errors.Is(err, ErrRecoveryOther) {
		t.Fatalf("other code: %v", err)
	}
}

func TestInvalidRecoveryCodes(t *testing.T) {
	words := strings.Fields(zeroCode)
	for name, c := range map[string]string{
		"bad checksum": strings.Join(append(words[:23:23], "abandon"), " "),
		"23 words":     strings.Join(words[:23], " "),
		"12 words":     "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
		"not a word":   strings.Join(append(words[:23:23], "xyzzy"), " "),
		"empty":        "",
	} {
		if _, err := SeedFromRecoveryCode(c); !errors.Is(err, ErrInvalidRecoveryCode) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestSignVerifyEncrypt(t *testing.T) {
	kr, _, _ := Create(t.TempDir(), []byte("pw"), testParams, "")
	defer kr.Close()
	sig, _ := kr.Sign([]byte("msg"))
	if Verify(kr.NodeID(), []byte("msg"), sig) != nil || Verify(kr.NodeID(), []byte("msh"), sig) == nil {
		t.Fatal("verify")
	}
	box, err := Encrypt(kr.NodeID(), []byte("hi"))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := kr.Decrypt(box); err != nil || string(out) != "hi" {
		t.Fatal("decrypt")
	}
}

func TestParseLimits(t *testing.T) {
	for _, c := range []struct {
		ops, mem string
		want     Params
		ok       bool
	}{
		{"", "", DefaultParams, true},
		{"min", "min", Params{1, 8 << 10, 4}, true},
		{"moderate", "moderate", Params{3, 256 << 10, 4}, true},
		{"2", "64MiB", Params{2, 64 << 10, 4}, true},
		{"0", "", Params{}, false},
		{"", "1KiB", Params{}, false},
		{"", "lots", Params{}, false},
		{"999", "", Params{}, false},
	} {
		p, err := ParamsFrom(c.ops, c.mem)
		if (err == nil) != c.ok || (c.ok && p != c.want) {
			t.Errorf("ParamsFrom(%q,%q) = %+v, %v", c.ops, c.mem, p, err)
		}
	}
}

func FuzzParsePrivateFile(f *testing.F) {
	b, _ := sealSeed(make([]byte, 32), []byte("pw"), testParams)
	f.Add(b)
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pf, salt, sealed, err := parsePrivateFile(b)
		if err == nil && (pf == nil || len(salt) < 16 || len(sealed) == 0) {
			t.Fatal("accepted without fields")
		}
	})
}

func FuzzParsePublicFile(f *testing.F) {
	f.Add([]byte(`{"kty":"OKP","crv":"Ed25519","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := parsePublicFile(b)
		if err == nil && id.IsZero() && !bytes.Contains(b, []byte("AAAA")) {
			t.Fatal("zero id without zero input")
		}
	})
}

func FuzzParseNodeID(f *testing.F) {
	f.Add("v" + strings.Repeat("0", 52))
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseNodeID(s)
		if err == nil && !strings.EqualFold(id.String(), s) {
			t.Fatalf("round trip %q -> %q", s, id.String())
		}
	})
}

// The grid init prints (numbered, read by columns) restores as printed.
func TestRecoveryCodeGrid(t *testing.T) {
	words := strings.Fields(zeroCode)
	var grid strings.Builder
	for row := 0; row < 6; row++ {
		for col := 0; col < 4; col++ {
			n := col*6 + row + 1
			fmt.Fprintf(&grid, "  %2d. %-10s", n, words[n-1])
		}
		grid.WriteString("\n")
	}
	if got := NormalizeRecoveryCode(grid.String()); got != zeroCode {
		t.Fatalf("grid read as %q", got)
	}
	if _, err := SeedFromRecoveryCode(grid.String()); err != nil {
		t.Fatal(err)
	}
}
