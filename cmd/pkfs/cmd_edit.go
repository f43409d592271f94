package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"syscall"
	"time"

	"github.com/pkfs/pkfs/internal/agent"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// runSecretsEdit opens $EDITOR on a secret. The plaintext never touches a
// disk: it lives in a 0600 file in a fresh 0700 directory on /dev/shm when
// that is a tmpfs (editor swap and backup files land there too), else in a
// memfd passed to the editor as /proc/self/fd/3. The copy is overwritten and
// removed when the editor exits or pkfs is stopped (SIGINT, SIGTERM,
// SIGHUP), and by a watchdog process when pkfs is killed (edit_watchdog.go);
// a changed secret is written as one commit.
func runSecretsEdit(c *cli.Context, p printer) error {
	sp, err := parseSecretPath(c.Args().Get(0))
	if err != nil {
		return err
	}
	if err := sp.needPath(); err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	var orig bytes.Buffer
	err = cl.Do(c.Context, "secrets.cat", agent.SecretParams{Vault: sp.Vault, Path: sp.Path}, nil, &orig, nil)
	if err != nil && agent.KindOf(err) != agent.KindNotFound {
		return err
	}
	if err != nil {
		// a new secret: its vault must exist
		if err := cl.Do(c.Context, "secrets.ls", agent.SecretParams{Vault: sp.Vault}, nil, nil, nil); err != nil {
			return err
		}
	}
	defer clear(orig.Bytes())
	edited, err := editInMemory(c, path.Base(sp.Path), orig.Bytes())
	if err != nil {
		return err
	}
	defer clear(edited)
	if bytes.Equal(edited, orig.Bytes()) && orig.Len() > 0 {
		return p.Print(map[string]any{"changed": false}, func(w io.Writer) { fmt.Fprintln(c.App.ErrWriter, "pkfs: no changes") })
	}
	var res agent.CommitResult
	params := agent.SecretWriteParams{Vault: sp.Vault, Path: sp.Path, Size: int64(len(edited))}
	if err := cl.Do(c.Context, "secrets.write", params, bytes.NewReader(edited), nil, &res); err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) {})
}

func editorCommand() string {
	for _, v := range []string{"VISUAL", "EDITOR"} {
		if e := os.Getenv(v); e != "" {
			return e
		}
	}
	return "vi"
}

func editInMemory(c *cli.Context, name string, content []byte) ([]byte, error) {
	if isTmpfs("/dev/shm") {
		return editInShm(c, name, content)
	}
	return editInMemfd(c, content)
}

func isTmpfs(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == unix.TMPFS_MAGIC
}

// runEditor runs the editor on file; started, if not nil, is told its pid
// once it runs.
func runEditor(c *cli.Context, file string, extra []*os.File, started func(pid int) error) error {
	// exec: the shell becomes the editor, so stopping pkfs stops the editor
	// (not only a shell that would leave it running).
	cmd := exec.CommandContext(c.Context, "/bin/sh", "-c", "exec "+editorCommand()+` "$1"`, "pkfs-edit", file)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = extra
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Start()
	if err == nil && started != nil {
		if err = started(cmd.Process.Pid); err != nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
			return err
		}
	}
	if err == nil {
		err = cmd.Wait()
	}
	if err != nil {
		if c.Context.Err() != nil {
			return c.Context.Err() // interrupted: exit 130, the secret unchanged
		}
		return fmt.Errorf("editor %q failed, the secret is unchanged: %w", editorCommand(), err)
	}
	return nil
}

// editInShm edits a copy in a directory on /dev/shm that a watchdog
// removes if pkfs dies; without a watchdog, in a memfd.
func editInShm(c *cli.Context, name string, content []byte) ([]byte, error) {
	wd, err := startEditWatchdog("/dev/shm")
	if err != nil {
		verbosef(c, "%v: editing in a memfd", err)
		return editInMemfd(c, content)
	}
	defer wd.close()
	file := filepath.Join(wd.dir, name)
	if err := os.WriteFile(file, content, 0o600); err != nil {
		return nil, err
	}
	if err := runEditor(c, file, nil, wd.watch); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, kindErrorf(agent.KindNotFound, "the editor removed the file, the secret is unchanged")
	}
	return b, err
}

// wipeDir overwrites every regular file in dir with zeros, then removes dir.
func wipeDir(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() {
			if f, err := os.OpenFile(p, os.O_WRONLY, 0); err == nil {
				f.Write(make([]byte, fi.Size()))
				f.Close()
			}
		}
	}
	os.RemoveAll(dir)
}

func editInMemfd(c *cli.Context, content []byte) ([]byte, error) {
	fd, err := unix.MemfdCreate("pkfs-edit", 0)
	if err != nil {
		return nil, fmt.Errorf("no memory-backed file for the editor (no tmpfs /dev/shm, no memfd): %w", err)
	}
	f := os.NewFile(uintptr(fd), "memfd")
	defer f.Close()
	if _, err := f.Write(content); err != nil {
		return nil, err
	}
	if err := runEditor(c, "/proc/self/fd/3", []*os.File{f}, nil); err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(f)
	f.Truncate(0)
	return b, err
}
