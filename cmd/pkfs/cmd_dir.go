package main

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pkfs/pkfs/internal/agent"
	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

func newSecretsDirCommand() *cli.Command {
	return &cli.Command{
		Name:      "dir",
		Usage:     "import a local directory tree into a vault as one commit",
		ArgsUsage: "LOCALDIR VAULT[:DIR]",
		Action:    withArgs(2, runSecretsDir),
	}
}

func runSecretsDir(c *cli.Context, p printer) error {
	local := c.Args().Get(0)
	sp, err := parseSecretPath(c.Args().Get(1))
	if err != nil {
		return err
	}
	fi, err := os.Stat(local)
	if err != nil {
		return kindErrorf(agent.KindNotFound, "%s: %v", local, err)
	}
	if !fi.IsDir() {
		return kindErrorf(agent.KindInvalid, "%s is not a directory", local)
	}
	var total int64
	filepath.WalkDir(local, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	var bar io.Writer = io.Discard
	if f, ok := c.App.ErrWriter.(*os.File); ok && term.IsTerminal(int(f.Fd())) && p.w == os.Stdout {
		bar = progressbar.DefaultBytes(total, "importing")
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeTar(c, local, pw, bar)) }()
	var res agent.ImportResult
	err = call(c, "secrets.dir", agent.SecretDirParams{Vault: sp.Vault, Dir: sp.Path}, pr, nil, &res)
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) {
		fmt.Fprintf(w, "imported %d files, %d directories (%d bytes) into %s as commit %s\n", res.Files, res.Dirs, res.Bytes, sp, res.CommitID)
	})
}

// writeTar streams the tree under root as a tar archive; files other than
// regular files, directories and symlinks are skipped with a warning.
func writeTar(c *cli.Context, root string, w io.Writer, progress io.Writer) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		var link string
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		case info.IsDir(), info.Mode().IsRegular():
		default:
			notef(c, "warning: %s: not a regular file, skipped", rel)
			return nil
		}
		h, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(io.MultiWriter(tw, progress), f)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
