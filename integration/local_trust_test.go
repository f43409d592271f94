package integration

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pkfs/pkfs/internal/agent"
	"github.com/pkfs/pkfs/keyring"
)

// A process of the user's uid talks to the running agent's control socket
// directly (no CLI, no prompt). The attack of issue 9.1: it re-seals the
// root key under a password of its own choosing, copies the re-sealed
// private.key, puts the original back, and later opens a copy of the node
// path with its password and reads secrets written after the attack. Each
// way of asking without the current password must be refused and leave
// private.key as it was.
func TestKeysPasswordThroughTheSocketNeedsTheCurrentPassword(t *testing.T) {
	n := newPeerNode(t, "A", false)
	st := n.start(0, nil)
	n.ok("vaults", "create", "prod")
	sock := &agent.SocketClient{Path: st.Socket}
	keyFile := filepath.Join(n.nodePath, "keys", keyring.PrivateKeyFile)
	orig, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	attempt := func(what string, params map[string]string) (stolen []byte) {
		t.Helper()
		params["opsLimit"], params["memLimit"] = "min", "min"
		err := sock.Do(ctx, "keys.password", params, nil, nil, nil)
		got, rerr := os.ReadFile(keyFile)
		if rerr != nil {
			t.Fatal(rerr)
		}
		if err == nil || !bytes.Equal(got, orig) {
			t.Errorf("%s: keys.password through the socket: err %v; private.key changed: %v", what, err, !bytes.Equal(got, orig))
			if werr := os.WriteFile(keyFile, orig, 0o600); werr != nil { // the attacker puts it back
				t.Fatal(werr)
			}
		}
		return got
	}

	stolen := attempt("no current password (as before the fix)", map[string]string{"password": "attacker-pw"})
	attempt("no current password", map[string]string{"newPassword": "attacker-pw"})
	attempt("a wrong current password", map[string]string{"currentPassword": "guess", "newPassword": "attacker-pw"})
	// A key file of the attacker's own (another seed, under a password it
	// knows) swapped in on disk proves nothing about the real one.
	other := t.TempDir()
	kr, _, err := keyring.Create(other, []byte("attacker-pw"), keyring.Params{Ops: 1, MemKiB: keyring.MinMemKiB, Parallelism: 1}, "")
	if err != nil {
		t.Fatal(err)
	}
	kr.Close()
	fake, err := os.ReadFile(filepath.Join(other, keyring.PrivateKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, fake, 0o600); err != nil {
		t.Fatal(err)
	}
	err = sock.Do(ctx, "keys.password", map[string]string{"currentPassword": "attacker-pw", "newPassword": "attacker-pw2",
		"opsLimit": "min", "memLimit": "min"}, nil, nil, nil)
	swapped, _ := os.ReadFile(keyFile)
	if err := os.WriteFile(keyFile, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	if err == nil || !bytes.Equal(swapped, fake) {
		t.Errorf("a swapped key file proved the current password: err %v", err)
	}

	// Secrets written after the attack, then a copy of the node path with
	// the stolen key file: does it open with the attacker's password?
	n.write("prod:db/password", "sentinel-after-attack-5be1")
	n.stop()
	cp := filepath.Join(n.dir, "copy")
	if out, err := exec.Command("cp", "-a", n.nodePath, cp).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	if err := os.WriteFile(filepath.Join(cp, "keys", keyring.PrivateKeyFile), stolen, 0o600); err != nil {
		t.Fatal(err)
	}
	lc := &agent.LocalClient{NodePath: cp, Password: func() ([]byte, error) { return []byte("attacker-pw"), nil }}
	var buf bytes.Buffer
	err = lc.Do(ctx, "secrets.cat", agent.SecretParams{Vault: "prod", Path: "db/password"}, nil, &buf, nil)
	lc.Close()
	if err == nil {
		t.Fatalf("ATTACK SUCCEEDED: the stolen key file opens with the attacker's password: %q", buf.String())
	}
	if !errors.Is(err, keyring.ErrWrongPassword) {
		t.Fatalf("opening the copy with the attacker's password: %v, want a wrong password", err)
	}
	// The owner's password still opens the node.
	if got := n.cat("prod:db/password"); got != "sentinel-after-attack-5be1" {
		t.Fatalf("after the attempts: %q", got)
	}
}

// keys password through a running agent: the current password comes from
// PK_PASSWORD (or a file, or the terminal) and a wrong one changes nothing
// (6); the right one re-seals, and the next agent opens with the new one.
func TestKeysPasswordThroughTheAgent(t *testing.T) {
	n := newPeerNode(t, "A", false)
	n.start(0, nil)
	keyFile := filepath.Join(n.nodePath, "keys", keyring.PrivateKeyFile)
	orig, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	r := n.runEnv([]string{"PK_PASSWORD=wrong", "PK_PASSWORD_NEW=new-pw"}, "keys", "password")
	if r.code != 6 || !strings.Contains(r.stderr, "current password is wrong") {
		t.Fatalf("a wrong current password: %v", r)
	}
	r = n.runEnv([]string{"PK_PASSWORD=", "PK_PASSWORD_NEW=new-pw"}, "keys", "password")
	if r.code != 2 || !strings.Contains(r.stderr, "no password") {
		t.Fatalf("no current password and no terminal: %v", r)
	}
	if b, _ := os.ReadFile(keyFile); !bytes.Equal(b, orig) {
		t.Fatal("private.key changed after refused attempts")
	}
	// After the wrong one, the right one waits (1 s) and goes through.
	r = n.runEnv([]string{"PK_PASSWORD_NEW=new-pw"}, "keys", "password", "--format", "json")
	if r.code != 0 || !strings.Contains(r.stdout, n.id) {
		t.Fatalf("the right current password: %v", r)
	}
	n.stop()
	if r := n.run("agent", "start", "--background", "--agent-host", "127.0.0.1", "--agent-port", "0"); r.code != 6 {
		t.Fatalf("an agent with the old password: %v", r)
	}
	n.start(0, []string{"PK_PASSWORD=new-pw"})
	r = n.runEnv([]string{"PK_PASSWORD=new-pw"}, "keys", "sign", "-")
	if r.code != 0 {
		t.Fatalf("sign through the agent: %v", r)
	}
}
