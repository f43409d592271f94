package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pkfs/pkfs/internal/agent"
	"github.com/pkfs/pkfs/keyring"
	"github.com/urfave/cli/v2"
)

// Environment variables read by every command.
const (
	envNodePath     = "PK_NODE_PATH"
	envPassword     = "PK_PASSWORD"
	envPasswordFile = "PK_PASSWORD_FILE"
)

// maxSecretFile bounds password and recovery code files.
const maxSecretFile = 64 << 10

// commonFlags returns fresh instances of the flags every command accepts,
// before the subcommand (global) or after it. Their environment variables
// are read by commonString rather than by the library, so that a flag on
// the command line always wins over the environment wherever it stands.
func commonFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "node-path", Usage: "the node's state directory (env " + envNodePath + ")",
			DefaultText: "$XDG_DATA_HOME/pkfs, else ~/.local/share/pkfs"},
		&cli.StringFlag{Name: "password-file", Usage: "read the password from `FILE`, trailing newline ignored (env " +
			envPasswordFile + "; " + envPassword + " gives the password itself)"},
		&cli.StringFlag{Name: "format", Value: "human", Usage: "output format: human or json"},
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "say what pkfs does, on stderr"},
	}
}

// setOnCommandLine returns the innermost context where one of names was
// given on the command line, or nil.
func setOnCommandLine(c *cli.Context, names ...string) *cli.Context {
	for _, cc := range c.Lineage() {
		if cc.Command == nil {
			continue
		}
		for _, n := range cc.LocalFlagNames() {
			if slices.Contains(names, n) {
				return cc
			}
		}
	}
	return nil
}

// commonString returns a common flag's value: from the command line (the
// innermost command that has it), else from env, else def.
func commonString(c *cli.Context, name, env, def string) string {
	if cc := setOnCommandLine(c, name); cc != nil {
		return cc.String(name)
	}
	if v, ok := os.LookupEnv(env); ok && env != "" && v != "" {
		return v
	}
	return def
}

// verbose reports whether -v was given anywhere on the command line.
func verbose(c *cli.Context) bool {
	cc := setOnCommandLine(c, "verbose", "v")
	return cc != nil && cc.Bool("verbose")
}

// verbosef prints a progress note on stderr when -v is given. Never pass it
// a secret.
func verbosef(c *cli.Context, format string, args ...any) {
	if verbose(c) {
		notef(c, format, args...)
	}
}

// outputFormat returns "human" or "json", or a usage error.
func outputFormat(c *cli.Context) (string, error) {
	f := commonString(c, "format", "", "human")
	if f != "human" && f != "json" {
		return "", usageErrorf("unknown --format %q: want human or json", f)
	}
	return f, nil
}

// nodePath returns the node path: --node-path, PK_NODE_PATH, else
// $XDG_DATA_HOME/pkfs, else ~/.local/share/pkfs.
func nodePath(c *cli.Context) (string, error) {
	if p := commonString(c, "node-path", envNodePath, ""); p != "" {
		return filepath.Abs(p)
	}
	if x := os.Getenv("XDG_DATA_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "pkfs"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return "", usageErrorf("cannot find a node path: set --node-path or %s", envNodePath)
	}
	return filepath.Join(home, ".local", "share", "pkfs"), nil
}

// password returns the node's password: PK_PASSWORD, else --password-file,
// else a prompt on the terminal (twice when confirm is set). An empty
// PK_PASSWORD counts as unset.
func password(c *cli.Context, confirm bool) ([]byte, error) {
	return passwordAs(c, "password", confirm)
}

// passwordAs is password with the prompt naming it what.
func passwordAs(c *cli.Context, what string, confirm bool) ([]byte, error) {
	if v := os.Getenv(envPassword); v != "" {
		return []byte(v), nil
	}
	if f := commonString(c, "password-file", envPasswordFile, ""); f != "" {
		return readSecretFile(f, "password")
	}
	return promptPassword(c.Context, what, confirm)
}

// readSecretFile reads a password or recovery code file, dropping one
// trailing newline (LF or CRLF).
func readSecretFile(name, what string) ([]byte, error) {
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, kindErrorf(agent.KindNotFound, "%s file %s does not exist", what, name)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read %s file: %w", what, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, fmt.Errorf("failed to read %s file: %w", what, err)
	}
	if len(b) > maxSecretFile {
		clear(b)
		return nil, kindErrorf(agent.KindTooLarge, "%s file %s is larger than %d bytes", what, name, maxSecretFile)
	}
	n := len(b)
	if n > 0 && b[n-1] == '\n' {
		n--
		if n > 0 && b[n-1] == '\r' {
			n--
		}
	}
	return b[:n], nil
}

// newClient returns the client that serves the command's calls on the node.
// A running agent serves the calls over its control socket (no password, no
// KDF cost); otherwise the node path is opened in this process, asking for
// the password only when a call first needs the node. The caller closes it.
func newClient(c *cli.Context) (agent.Client, error) {
	return newClientAsking(c, func() ([]byte, error) { return password(c, false) })
}

// newClientAsking is newClient with the password, when the node path is
// opened in this process, from pw.
func newClientAsking(c *cli.Context, pw func() ([]byte, error)) (agent.Client, error) {
	p, err := nodePath(c)
	if err != nil {
		return nil, err
	}
	if sc := agent.DialAgent(p); sc != nil {
		verbosef(c, "using the running agent at %s", sc.Path)
		return sc, nil
	}
	verbosef(c, "no agent runs: opening node path %s in this process", p)
	return &agent.LocalClient{NodePath: p, Password: pw}, nil
}

// Environment variables of the password hashing costs.
const (
	envOpsLimit = "PK_PASSWORD_OPS_LIMIT"
	envMemLimit = "PK_PASSWORD_MEM_LIMIT"
)

// passwordCostFlags are the Argon2id cost flags of the commands that seal
// the root key under a password (init, keys password).
func passwordCostFlags() []cli.Flag {
	presets := strings.Join(keyring.PresetNames(), "|")
	return []cli.Flag{
		&cli.StringFlag{Name: "password-ops-limit", EnvVars: []string{envOpsLimit}, DefaultText: "moderate",
			Usage: "Argon2id passes: " + presets + " or a number"},
		&cli.StringFlag{Name: "password-mem-limit", EnvVars: []string{envMemLimit}, DefaultText: "moderate",
			Usage: "Argon2id memory: " + presets + " or a size such as 64MiB"},
	}
}

// passwordParams returns the Argon2id costs chosen with passwordCostFlags.
func passwordParams(c *cli.Context) (keyring.Params, error) {
	return keyring.ParamsFrom(c.String("password-ops-limit"), c.String("password-mem-limit"))
}
