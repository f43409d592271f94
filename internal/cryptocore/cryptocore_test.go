package cryptocore

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// draft-irtf-cfrg-xchacha-03, appendix A.3.1.
func TestXChaCha20Poly1305KnownAnswer(t *testing.T) {
	pt := []byte("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.")
	ad := unhex(t, "50515253c0c1c2c3c4c5c6c7")
	key, _ := KeyFromBytes(unhex(t, "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"))
	nonce := unhex(t, "404142434445464748494a4b4c4d4e4f5051525354555657")
	want := unhex(t, "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e"+
		"c0875924c1c7987947deafd8780acf49")
	a := NewAEAD(key)
	got := a.SealWithNonce(nil, nonce, pt, ad)
	if !bytes.Equal(got[NonceSize:], want) {
		t.Fatalf("ciphertext mismatch:\n got %x\nwant %x", got[NonceSize:], want)
	}
	back, err := a.Open(nil, got, ad)
	if err != nil || !bytes.Equal(back, pt) {
		t.Fatalf("open: %v", err)
	}
}

// The reference implementation's argon2id of "password"/"somesalt", t=2,
// m=64 MiB, p=1, 32 bytes.
func TestArgon2idKnownAnswer(t *testing.T) {
	got := Argon2idRaw([]byte("password"), []byte("somesalt"), 2, 65536, 1, 32)
	want := unhex(t, "09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7")
	if !bytes.Equal(got, want) {
		t.Fatalf("argon2id: got %x want %x", got, want)
	}
}

// BIP39's reference vector (passphrase "TREZOR") checks the PBKDF2 used for
// recovery codes.
func TestPBKDF2BIP39Vector(t *testing.T) {
	m := "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
	got := PBKDF2SHA512([]byte(m), []byte("mnemonicTREZOR"), 2048, 64)
	want := unhex(t, "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04")
	if !bytes.Equal(got, want) {
		t.Fatalf("pbkdf2: got %x", got)
	}
}

func TestSealOpenRejectsTampering(t *testing.T) {
	k := NewRandomKey()
	a := NewAEAD(k)
	sealed := a.Seal(nil, []byte("secret"), []byte("ad1"))
	if _, err := a.Open(nil, sealed, []byte("ad2")); err != ErrAuth {
		t.Fatalf("moved value opened: %v", err)
	}
	for i := range sealed {
		c := bytes.Clone(sealed)
		c[i] ^= 1
		if _, err := a.Open(nil, c, []byte("ad1")); err != ErrAuth {
			t.Fatalf("flipped byte %d opened", i)
		}
	}
	if _, err := a.Open(nil, sealed[:10], nil); err != ErrAuth {
		t.Fatal("truncated value opened")
	}
	other := NewAEAD(NewRandomKey())
	if _, err := other.Open(nil, sealed, []byte("ad1")); err != ErrAuth {
		t.Fatal("opened under another key")
	}
}

func TestDeriveKeyIsDeterministicAndSeparated(t *testing.T) {
	m := NewRandomKey()
	a, b, c := DeriveKey(m, "a"), DeriveKey(m, "a"), DeriveKey(m, "b")
	if !a.Equal(&b) || a.Equal(&c) {
		t.Fatal("HKDF sub-keys are not deterministic or not separated")
	}
}

func TestSealToRoundTrip(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, 32)
	pub, priv, err := Ed25519FromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	box, err := SealTo(pub, []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := OpenSealed(priv, box)
	if err != nil || string(out) != "hello" {
		t.Fatalf("open sealed: %v %q", err, out)
	}
	_, priv2, _ := Ed25519FromSeed(bytes.Repeat([]byte{8}, 32))
	if _, err := OpenSealed(priv2, box); err != ErrAuth {
		t.Fatal("opened by another key")
	}
	if _, err := SealTo(make([]byte, 3), nil); err == nil {
		t.Fatal("short public key accepted")
	}
}

func TestSignVerify(t *testing.T) {
	pub, priv, _ := Ed25519FromSeed(bytes.Repeat([]byte{1}, 32))
	sig := Sign(priv, []byte("m"))
	if !Verify(pub, []byte("m"), sig) || Verify(pub, []byte("n"), sig) || Verify(pub[:5], []byte("m"), sig) {
		t.Fatal("verify")
	}
}

func FuzzOpen(f *testing.F) {
	k := NewRandomKey()
	a := NewAEAD(k)
	f.Add(a.Seal(nil, []byte("x"), nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := a.Open(nil, b, nil)
		if err == nil && out == nil {
			t.Fatal("nil plaintext without error")
		}
	})
}
