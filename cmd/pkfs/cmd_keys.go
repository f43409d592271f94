package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pkfs/pkfs/internal/agent"
	"github.com/pkfs/pkfs/internal/node"
	"github.com/pkfs/pkfs/keyring"
	"github.com/urfave/cli/v2"
)

// Environment variables of keys password.
const (
	envPasswordNew = "PK_PASSWORD_NEW"
)

// maxInput bounds a file given to sign, verify, encrypt or decrypt.
const maxInput = 64 << 20

func newKeysCommand() *cli.Command {
	return &cli.Command{
		Name:  "keys",
		Usage: "the node's root key pair: public key, password, signatures, encryption",
		Subcommands: []*cli.Command{
			{Name: "public", Usage: "print the node ID and the public key (JWK); needs no password",
				ArgsUsage: " ", Action: withArgs(0, runKeysPublic)},
			{Name: "password", Usage: "seal the root key under a new password, given the current one (the key and node ID stay)",
				ArgsUsage: " ", Action: withArgs(0, runKeysPassword),
				Description: "The current password is required, also through a running agent: it comes from " +
					envPassword + " or --password-file, or is asked on the terminal. The new one comes from\n" +
					"--password-new-file, " + envPasswordNew + ", or is asked twice on the terminal. Through an agent, each\n" +
					"wrong current password makes the next attempt wait longer (1 s, doubling, up to a minute).",
				Flags: append([]cli.Flag{&cli.StringFlag{Name: "password-new-file",
					Usage: "read the new password from `FILE` (env " + envPasswordNew + " gives the password itself)"}},
					passwordCostFlags()...)},
			{Name: "sign", Usage: "sign FILE with the root key (Ed25519, detached, base64)",
				ArgsUsage: "FILE", Action: withArgs(1, runKeysSign)},
			{Name: "verify", Usage: "check a signature of FILE by NODEID; needs no password",
				ArgsUsage: "FILE SIGNATURE NODEID", Action: withArgs(3, runKeysVerify)},
			{Name: "encrypt", Usage: "encrypt FILE to NODEID (X25519 sealed box, base64); needs no password",
				ArgsUsage: "FILE NODEID", Action: withArgs(2, runKeysEncrypt)},
			{Name: "decrypt", Usage: "decrypt FILE (as written by encrypt) and print the plaintext",
				ArgsUsage: "FILE", Action: withArgs(1, runKeysDecrypt)},
		},
	}
}

// withArgs checks a command's argument count before running it. FILE
// arguments may be "-" for standard input.
func withArgs(n int, run func(c *cli.Context, p printer) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		if c.NArg() != n {
			return usageErrorf("%s takes %d argument(s): %s, got %d", c.Command.HelpName, n, c.Command.ArgsUsage, c.NArg())
		}
		p, err := newPrinter(c)
		if err != nil {
			return err
		}
		return run(c, p)
	}
}

func runKeysPublic(c *cli.Context, p printer) error {
	path, err := nodePath(c)
	if err != nil {
		return err
	}
	var pub agent.KeysPublic
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	if cl.Remote() {
		if err := cl.Do(c.Context, "keys.public", nil, nil, nil, &pub); err != nil {
			return err
		}
	} else {
		// The public key is readable without the password, and while
		// another process has the node open.
		if err := node.CheckOpenable(path); err != nil && !errors.Is(err, node.ErrInUse) {
			return err
		}
		id, err := keyring.ReadNodeID(node.KeysDir(path))
		if err != nil {
			return err
		}
		pub = agent.PublicOf(id)
	}
	return p.Print(pub, func(w io.Writer) {
		jwk, _ := json.Marshal(pub.PublicKey)
		table(w, [2]string{"node ID", pub.NodeID}, [2]string{"public key", string(jwk)})
	})
}

func runKeysPassword(c *cli.Context, p printer) error {
	if _, err := passwordParams(c); err != nil {
		return err
	}
	// The current password is asked once, when first needed: to open the
	// node path when no agent runs, else before the new one.
	var current []byte
	defer func() { clear(current) }()
	currentPw := func() ([]byte, error) {
		if current == nil {
			pw, err := passwordAs(c, "current password", false)
			if err != nil {
				return nil, err
			}
			current = pw
		}
		return bytes.Clone(current), nil
	}
	cl, err := newClientAsking(c, currentPw)
	if err != nil {
		return err
	}
	defer cl.Close()
	// Without an agent this opens the node with the current password, so
	// a wrong one is reported before the new one is asked. An agent checks
	// it with the change.
	var pub agent.KeysPublic
	if err := cl.Do(c.Context, "keys.public", nil, nil, nil, &pub); err != nil {
		return err
	}
	cur, err := currentPw()
	if err != nil {
		return err
	}
	defer clear(cur)
	pw, err := newPassword(c)
	if err != nil {
		return err
	}
	params := agent.KeysPasswordParams{Current: string(cur), New: string(pw), OpsLimit: c.String("password-ops-limit"),
		MemLimit: c.String("password-mem-limit")}
	clear(pw)
	if err := cl.Do(c.Context, "keys.password", params, nil, nil, nil); err != nil {
		return err
	}
	return p.Print(struct {
		NodeID string `json:"nodeId"`
	}{pub.NodeID}, func(w io.Writer) {
		fmt.Fprintf(w, "The root key of node %s is now sealed under the new password.\n", pub.NodeID)
	})
}

// newPassword returns the new password of keys password.
func newPassword(c *cli.Context) ([]byte, error) {
	var pw []byte
	var err error
	if v := os.Getenv(envPasswordNew); v != "" {
		pw = []byte(v)
	} else if f := c.String("password-new-file"); f != "" {
		pw, err = readSecretFile(f, "new password")
	} else {
		pw, err = promptPassword(c.Context, "new password", true)
		if errors.Is(err, errNoPassword) {
			return nil, usageErrorf("no new password: set %s, --password-new-file, or run on a terminal", envPasswordNew)
		}
	}
	if err == nil && len(pw) == 0 {
		err = keyring.ErrEmptyPassword
	}
	return pw, err
}

func runKeysSign(c *cli.Context, p printer) error {
	data, err := readInput(c, c.Args().Get(0))
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	var sig agent.KeysSignature
	if err := cl.Do(c.Context, "keys.sign", agent.KeysSignParams{Data: b64(data)}, nil, nil, &sig); err != nil {
		return err
	}
	return p.Print(sig, func(w io.Writer) { fmt.Fprintln(w, sig.Signature) })
}

func runKeysVerify(c *cli.Context, p printer) error {
	data, err := readInput(c, c.Args().Get(0))
	if err != nil {
		return err
	}
	sig, id := strings.TrimSpace(c.Args().Get(1)), c.Args().Get(2)
	res, err := agent.Verify(agent.KeysVerifyParams{NodeID: id, Data: b64(data), Signature: sig})
	if err != nil {
		return err
	}
	if !res.Verified {
		return kindErrorf(agent.KindDamaged, "the signature does not verify: the file was changed, or %s did not sign it", id)
	}
	return p.Print(res, func(w io.Writer) { fmt.Fprintf(w, "Signature verified: %s signed this file.\n", id) })
}

func runKeysEncrypt(c *cli.Context, p printer) error {
	data, err := readInput(c, c.Args().Get(0))
	if err != nil {
		return err
	}
	out, err := agent.Encrypt(agent.KeysEncryptParams{NodeID: c.Args().Get(1), Data: b64(data)})
	if err != nil {
		return err
	}
	return p.Print(out, func(w io.Writer) { fmt.Fprintln(w, out.Data) })
}

func runKeysDecrypt(c *cli.Context, p printer) error {
	data, err := readInput(c, c.Args().Get(0))
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	var out agent.KeysData
	params := agent.KeysEncryptParams{Data: strings.TrimSpace(string(data))}
	if err := cl.Do(c.Context, "keys.decrypt", params, nil, nil, &out); err != nil {
		return err
	}
	if p.JSON() {
		return p.Print(out, nil)
	}
	plain, err := base64.StdEncoding.DecodeString(out.Data)
	if err != nil {
		return fmt.Errorf("failed to decode the plaintext: %w", err)
	}
	defer clear(plain)
	return p.Raw(plain)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// readInput reads a FILE argument; "-" is standard input, and a SIGINT
// while waiting for it stops the command.
func readInput(c *cli.Context, name string) ([]byte, error) {
	if name == "-" {
		type result struct {
			b   []byte
			err error
		}
		done := make(chan result, 1)
		go func() {
			b, err := readLimited(c.App.Reader, name)
			done <- result{b, err}
		}()
		select {
		case r := <-done:
			return r.b, r.err
		case <-c.Context.Done():
			return nil, c.Context.Err()
		}
	}
	f, err := os.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, kindErrorf(agent.KindNotFound, "%s does not exist", name)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLimited(f, name)
}

// readLimited reads r up to maxInput bytes.
func readLimited(r io.Reader, name string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, fmt.Errorf("failed to read %s: %w", name, err)
	}
	if len(b) > maxInput {
		return nil, kindErrorf(agent.KindTooLarge, "%s is larger than %d MiB", name, maxInput>>20)
	}
	return b, nil
}
