package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pkfs/pkfs/internal/node"
	"github.com/pkfs/pkfs/keyring"
	"github.com/urfave/cli/v2"
)

const envRecoveryCode = "PK_RECOVERY_CODE"

func newInitCommand() *cli.Command {
	return &cli.Command{
		Name:      "init",
		Aliases:   []string{"bootstrap"},
		Usage:     "create a node: root key pair, data key and encrypted store",
		ArgsUsage: " ",
		Description: `init creates a node at the node path: an Ed25519 root key pair sealed under
your password, a data key, and an empty encrypted store. It prints the node
ID and a 24-word recovery code.

The recovery code is shown only once. It is never stored, so it cannot be
shown again: write it down and keep it offline. With it, init restores the
node (same node ID) under a new password: --recovery-code-file FILE, or the
code itself in PK_RECOVERY_CODE.

An existing node is never replaced unless --fresh is given.`,
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "fresh", Usage: "replace the node at the node path (its keys and data are deleted)"},
			&cli.StringFlag{Name: "recovery-code-file", Usage: "restore the node from the recovery code in `FILE` (env " +
				envRecoveryCode + " gives the code itself)"},
		}, passwordCostFlags()...),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("init takes no arguments")
			}
			o, err := initOptionsFrom(c)
			if err != nil {
				return err
			}
			p, err := newPrinter(c)
			if err != nil {
				return err
			}
			return runInit(c.Context, o, p)
		},
	}
}

// initOptions are the inputs of runInit.
type initOptions struct {
	NodePath     string
	Fresh        bool
	RecoveryCode string // restore from it when not empty
	Params       keyring.Params
	// Password asks for the new password (twice on a terminal).
	Password func() ([]byte, error)
}

func initOptionsFrom(c *cli.Context) (initOptions, error) {
	o := initOptions{Fresh: c.Bool("fresh"), Password: func() ([]byte, error) { return password(c, true) }}
	var err error
	if o.NodePath, err = nodePath(c); err != nil {
		return o, err
	}
	if o.Params, err = passwordParams(c); err != nil {
		return o, err
	}
	if f := c.String("recovery-code-file"); f != "" {
		b, err := readSecretFile(f, "recovery code")
		if err != nil {
			return o, err
		}
		o.RecoveryCode = string(b)
		clear(b)
	} else {
		o.RecoveryCode = os.Getenv(envRecoveryCode)
	}
	verbosef(c, "node path %s; password hashing t=%d m=%dKiB p=%d", o.NodePath, o.Params.Ops, o.Params.MemKiB, o.Params.Parallelism)
	return o, nil
}

// initResult is the JSON output of init.
type initResult struct {
	NodeID       string `json:"nodeId"`
	RecoveryCode string `json:"recoveryCode,omitempty"`
	Restored     bool   `json:"restored,omitempty"`
}

// runInit creates or restores the node and prints its node ID and, for a
// new node, its recovery code.
func runInit(ctx context.Context, o initOptions, p printer) error {
	restoring := strings.TrimSpace(o.RecoveryCode) != ""
	if restoring {
		seed, err := keyring.SeedFromRecoveryCode(o.RecoveryCode)
		if err != nil {
			return err // before asking for a password
		}
		clear(seed)
	} else if node.Exists(o.NodePath) && !o.Fresh {
		return node.ErrNodeExists
	}
	pw, err := o.Password()
	if err != nil {
		return err
	}
	defer clear(pw)
	if err := ctx.Err(); err != nil {
		return err
	}
	n, res, err := node.Init(o.NodePath, node.InitOptions{Password: pw, Params: o.Params,
		RecoveryCode: o.RecoveryCode, Fresh: o.Fresh})
	if err != nil {
		return err
	}
	if err := n.Close(); err != nil {
		return fmt.Errorf("failed to close the new node: %w", err)
	}
	out := initResult{NodeID: res.NodeID.String(), RecoveryCode: res.RecoveryCode, Restored: res.Restored}
	return p.Print(out, func(w io.Writer) {
		if out.Restored {
			fmt.Fprintf(w, "Restored node %s at %s.\nIts root key is now sealed under the new password.\n", out.NodeID, o.NodePath)
			return
		}
		fmt.Fprintf(w, "Created node %s at %s.\n\n", out.NodeID, o.NodePath)
		fmt.Fprint(w, "Recovery code. It is shown only this once and never stored, so it cannot be\n"+
			"shown again: write it down and keep it offline. It restores this node\n"+
			"(pkfs init --recovery-code-file FILE) when the password is lost.\n\n")
		printWords(w, strings.Fields(out.RecoveryCode))
	})
}

// printWords prints the recovery code as numbered words in four columns,
// numbered down each column.
func printWords(w io.Writer, words []string) {
	const cols = 4
	rows := (len(words) + cols - 1) / cols
	for r := range rows {
		var line strings.Builder
		for col := range cols {
			if i := col*rows + r; i < len(words) {
				fmt.Fprintf(&line, "%4d. %-10s", i+1, words[i])
			}
		}
		fmt.Fprintln(w, strings.TrimRight(line.String(), " "))
	}
}
