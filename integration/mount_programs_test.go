package integration

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Real programs on a real mount of the built pkfs: each test starts its own
// agent with `pkfs mount --background` and uses the programs as a user
// would.

// sampleTree is a small tree with what copies get wrong: an empty file, a
// binary file with NULs, a file of several hundred KiB, deep and empty
// directories, names with spaces.
func sampleTree() map[string]string {
	big := bytes.Repeat([]byte("0123456789abcdef"), 40_000) // 640 KiB
	bin := make([]byte, 4096)
	for i := range bin {
		bin[i] = byte(i * 7)
	}
	return map[string]string{
		"README":                "a tree to copy\n",
		"empty":                 "",
		"bin/blob":              string(bin),
		"bin/run.sh":            "#!/bin/sh\necho run\n",
		"a/b/c/deep.txt":        "deep\n",
		"a/b/c/big":             string(big),
		"with space/name x.txt": "spaces\n",
	}
}

// makeSampleTree writes sampleTree under root, with an executable, an
// empty directory and a symlink.
func makeSampleTree(t *testing.T, root string) {
	t.Helper()
	writeFiles(t, root, sampleTree())
	noErr(t, os.Chmod(filepath.Join(root, "bin/run.sh"), 0o700))
	noErr(t, os.MkdirAll(filepath.Join(root, "emptydir"), 0o700))
	noErr(t, os.Symlink("a/b/c/deep.txt", filepath.Join(root, "link")))
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// checkSampleTree checks what diff -r does not: modes and the symlink.
func checkSampleTree(t *testing.T, root string) {
	t.Helper()
	for p, want := range map[string]os.FileMode{"README": 0o600, "bin/run.sh": 0o700, "emptydir": os.ModeDir | 0o700} {
		fi, err := os.Lstat(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
	}
	if target, err := os.Readlink(filepath.Join(root, "link")); err != nil || target != "a/b/c/deep.txt" {
		t.Errorf("link: %q, %v", target, err)
	}
}

// `cp -r` of a tree into a vault and back out: `diff -r` finds no
// difference either way, and the tree is still there after a remount.
func TestMountCpR(t *testing.T) {
	t.Parallel()
	needPrograms(t, "cp", "diff")
	n := newMountNode(t)
	mnt := n.mkdir()
	st := n.mount(mnt)
	src := filepath.Join(n.dir, "src")
	makeSampleTree(t, src)
	noErr(t, os.Mkdir(filepath.Join(mnt, "v"), 0o700))
	in := filepath.Join(mnt, "v", "tree")
	n.mustRun("cp", "-r", src, in)
	n.mustRun("diff", "-r", "--no-dereference", src, in)
	checkSampleTree(t, in)
	out := filepath.Join(n.dir, "out")
	n.mustRun("cp", "-r", in, out)
	n.mustRun("diff", "-r", "--no-dereference", src, out)

	n.umount(mnt, st.PID)
	n.mount(mnt)
	n.mustRun("diff", "-r", "--no-dereference", src, in)
	if got := n.mustPkfs("secrets", "cat", "v:tree/with space/name x.txt"); got != "spaces\n" {
		t.Errorf("secrets cat: %q", got)
	}
	n.verify("v")
}

// tar x of a tarball of a few hundred files into a vault, and tar c of it
// back out: the same files, contents and mtimes.
func TestMountTar(t *testing.T) {
	t.Parallel()
	needPrograms(t, "tar", "diff")
	n := newMountNode(t)
	mnt := n.newMount()
	src := filepath.Join(n.dir, "src")
	files := map[string]string{}
	for i := 0; i < 300; i++ {
		files[fmt.Sprintf("d%02d/sub%d/file%03d.txt", i%20, i%3, i)] = strings.Repeat(fmt.Sprintf("line %d\n", i), i%50+1)
	}
	writeFiles(t, src, files)
	old := time.Date(2020, 2, 3, 4, 5, 6, 0, time.UTC)
	noErr(t, os.Chtimes(filepath.Join(src, "d00/sub0/file000.txt"), old, old))
	tarball := filepath.Join(n.dir, "in.tar")
	n.mustRun("tar", "-C", src, "-cf", tarball, ".")

	noErr(t, os.Mkdir(filepath.Join(mnt, "v"), 0o700))
	dst := filepath.Join(mnt, "v", "x")
	noErr(t, os.Mkdir(dst, 0o700))
	before := n.commits("v")
	n.mustRun("tar", "-C", dst, "--no-same-owner", "-xf", tarball)
	n.mustRun("diff", "-r", src, dst)
	if after := n.commits("v"); after < before+len(files) {
		t.Errorf("tar x of %d files made %d commits", len(files), after-before)
	}
	fi, err := os.Stat(filepath.Join(dst, "d00/sub0/file000.txt"))
	if err != nil || !fi.ModTime().Equal(old) {
		t.Errorf("mtime set by tar: %v, %v; want %v", fi.ModTime(), err, old)
	}

	outTar := filepath.Join(n.dir, "out.tar")
	n.mustRun("tar", "-C", dst, "-cf", outTar, ".")
	out := filepath.Join(n.dir, "out")
	noErr(t, os.Mkdir(out, 0o700))
	n.mustRun("tar", "-C", out, "-xf", outTar)
	n.mustRun("diff", "-r", src, out)
	list := func(tarball string) []string {
		l := strings.Fields(n.mustRun("tar", "-tf", tarball))
		sort.Strings(l)
		return l
	}
	if a, b := list(tarball), list(outTar); strings.Join(a, " ") != strings.Join(b, " ") {
		t.Errorf("tar c lists %d entries, tar x got %d", len(b), len(a))
	}
	n.verify("v")
}

// An editor's save: write a temp file, fsync it, rename it over the
// target, fsync the directory. Each save is a new version; a reader that
// opened the old file keeps reading the old content.
func TestMountEditorSave(t *testing.T) {
	t.Parallel()
	n := newMountNode(t)
	mnt := n.newMount()
	dir := filepath.Join(mnt, "v", "conf")
	noErr(t, os.MkdirAll(dir, 0o700))
	target := filepath.Join(dir, "app.conf")
	noErr(t, os.WriteFile(target, []byte("version 0\n"), 0o600))
	before := n.commits("v")
	const saves = 20
	for i := 1; i <= saves; i++ {
		old, err := os.Open(target)
		noErr(t, err)
		content := fmt.Sprintf("version %d\n%s", i, strings.Repeat("x", i*100))
		tmp := filepath.Join(dir, ".app.conf.tmp")
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		noErr(t, err)
		_, err = f.WriteString(content)
		noErr(t, err)
		noErr(t, f.Sync())
		noErr(t, f.Close())
		noErr(t, os.Rename(tmp, target))
		d, err := os.Open(dir)
		noErr(t, err)
		noErr(t, d.Sync())
		d.Close()
		if got := fileContent(t, target); got != content {
			t.Fatalf("save %d: read %q", i, got)
		}
		buf := make([]byte, 64)
		k, _ := old.Read(buf)
		old.Close()
		if want := fmt.Sprintf("version %d\n", i-1); !strings.HasPrefix(string(buf[:k]), want) {
			t.Fatalf("save %d: the descriptor opened before reads %q, want %q", i, buf[:k], want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".app.conf.tmp")); !os.IsNotExist(err) {
		t.Errorf("temp file left: %v", err)
	}
	if after := n.commits("v"); after < before+saves {
		t.Errorf("%d saves made %d commits", saves, after-before)
	}
	if got := n.mustPkfs("secrets", "cat", "v:conf/app.conf"); !strings.HasPrefix(got, fmt.Sprintf("version %d\n", saves)) {
		t.Errorf("secrets cat: %.20q", got)
	}
	hist := filepath.Join(mnt, ".history", "v", "HEAD~2", "conf", "app.conf")
	if got := fileContent(t, hist); !strings.HasPrefix(got, fmt.Sprintf("version %d\n", saves-1)) {
		t.Errorf("%s: %.20q", hist, got)
	}
}

// vim itself, non-interactively, with its swap file and its backup on
// write: the content is what vim wrote, no swap or backup file is left,
// and the save is a new version.
func TestMountVim(t *testing.T) {
	t.Parallel()
	needPrograms(t, "vim")
	n := newMountNode(t)
	mnt := n.newMount()
	dir := filepath.Join(mnt, "v")
	noErr(t, os.Mkdir(dir, 0o700))
	file := filepath.Join(dir, "notes.txt")
	noErr(t, os.WriteFile(file, []byte("line one\nline two\n"), 0o600))
	before := n.commits("v")
	swapOut := filepath.Join(n.dir, "swap.txt")
	// -u NONE: no vimrc; -i NONE: no viminfo; 'nocompatible' with a swap
	// file in the file's directory and a backup while writing.
	r := n.runIn(dir, "", "vim", "-u", "NONE", "-i", "NONE", "-N", "-es",
		"-c", "set directory=. writebackup backupcopy=auto",
		"-c", "call writefile([swapname('%'), filereadable(swapname('%'))], '"+swapOut+"')",
		"-c", "%s/two/TWO/",
		"-c", "normal Goline three",
		"-c", "wq", "notes.txt")
	if r.code != 0 {
		t.Fatalf("vim: %v", r)
	}
	if got := fileContent(t, file); got != "line one\nline TWO\nline three\n" {
		t.Errorf("after vim: %q", got)
	}
	swap := strings.Fields(fileContent(t, swapOut))
	if len(swap) != 2 || !strings.HasSuffix(swap[0], ".notes.txt.swp") || swap[1] != "1" {
		t.Errorf("vim's swap file in the vault (name, readable): %q", swap)
	}
	ents, err := os.ReadDir(dir)
	noErr(t, err)
	if len(ents) != 1 || ents[0].Name() != "notes.txt" {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("after vim the vault holds %q", names)
	}
	if after := n.commits("v"); after <= before {
		t.Errorf("the log did not grow (%d commits)", after)
	}
	if got := n.mustPkfs("secrets", "cat", "v:notes.txt"); got != "line one\nline TWO\nline three\n" {
		t.Errorf("secrets cat: %q", got)
	}
	// an edit in normal mode too, without a terminal
	r = n.runIn(dir, "", "vim", "--not-a-term", "-u", "NONE", "-i", "NONE", "-N", "-c", "normal ggdd", "-c", "wq", "notes.txt")
	if r.code != 0 {
		t.Fatalf("vim: %v", r)
	}
	if got := fileContent(t, file); got != "line TWO\nline three\n" {
		t.Errorf("after the second vim: %q", got)
	}
}

// sed -i writes a temp file in the directory and renames it over the
// file: the new content, the same mode, one more version.
func TestMountSedInPlace(t *testing.T) {
	t.Parallel()
	needPrograms(t, "sed")
	n := newMountNode(t)
	mnt := n.newMount()
	dir := filepath.Join(mnt, "v")
	noErr(t, os.Mkdir(dir, 0o700))
	file := filepath.Join(dir, "run.sh")
	noErr(t, os.WriteFile(file, []byte("#!/bin/sh\necho old\n"), 0o700))
	before := n.commits("v")
	n.mustRun("sed", "-i", "s/old/new/", file)
	if got := fileContent(t, file); got != "#!/bin/sh\necho new\n" {
		t.Errorf("after sed -i: %q", got)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode() != 0o700 {
		t.Errorf("mode after sed -i: %v, %v", fi.Mode(), err)
	}
	if out := n.mustRun(file); out != "new\n" {
		t.Errorf("running the script: %q", out)
	}
	if after := n.commits("v"); after <= before {
		t.Errorf("the log did not grow")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("sed left files: %v", ents)
	}
}

// ssh-keygen writes a key pair into a vault, and reads the private key
// back (it refuses keys whose mode lets others read them).
func TestMountSSHKeygen(t *testing.T) {
	t.Parallel()
	needPrograms(t, "ssh-keygen")
	n := newMountNode(t)
	mnt := n.newMount()
	noErr(t, os.Mkdir(filepath.Join(mnt, "v"), 0o700))
	key := filepath.Join(mnt, "v", "id_ed25519")
	n.mustRun("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pkfs-test", "-f", key)
	for p, want := range map[string]os.FileMode{key: 0o600, key + ".pub": 0o600} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode() != want {
			t.Errorf("%s: %v, %v", p, fi.Mode(), err)
		}
	}
	pub := strings.Fields(fileContent(t, key+".pub"))
	derived := strings.Fields(n.mustRun("ssh-keygen", "-y", "-f", key))
	if len(pub) < 2 || len(derived) < 2 || pub[0] != "ssh-ed25519" || pub[1] != derived[1] {
		t.Errorf("ssh-keygen -y: %q, public key file: %q", derived, pub)
	}
	// and the same bytes through the CLI
	if got := n.mustPkfs("secrets", "cat", "v:id_ed25519"); got != fileContent(t, key) {
		t.Error("secrets cat differs from the mount")
	}
}

// sqlite3 creates a database in a vault, inserts rows in separate
// transactions and processes (its journal files come and go), and reads
// them back; also in WAL mode (shared memory file, mmap).
func TestMountSQLite(t *testing.T) {
	t.Parallel()
	needPrograms(t, "sqlite3")
	n := newMountNode(t)
	mnt := n.newMount()
	noErr(t, os.Mkdir(filepath.Join(mnt, "v"), 0o700))
	for _, mode := range []string{"delete", "wal"} {
		db := filepath.Join(mnt, "v", mode+".db")
		n.mustRun("sqlite3", db, "pragma journal_mode="+mode+"; create table t(id integer primary key, v text); insert into t(v) values('a'); insert into t(v) values('b');")
		for i := 0; i < 5; i++ {
			n.mustRun("sqlite3", db, fmt.Sprintf("insert into t(v) values('row %d');", i))
		}
		n.mustRun("sqlite3", db, "begin; insert into t(v) values('x'); insert into t(v) values('y'); commit;")
		if got := strings.TrimSpace(n.mustRun("sqlite3", db, "select count(*), group_concat(v, ',') from t;")); got != "9|a,b,row 0,row 1,row 2,row 3,row 4,x,y" {
			t.Errorf("%s: %q", mode, got)
		}
		if got := strings.TrimSpace(n.mustRun("sqlite3", db, "pragma integrity_check;")); got != "ok" {
			t.Errorf("%s: integrity_check: %q", mode, got)
		}
	}
	// the committed database, copied out of the vault by the CLI, holds
	// the rows
	out := filepath.Join(n.dir, "copy.db")
	b := n.mustPkfs("secrets", "cat", "v:delete.db")
	noErr(t, os.WriteFile(out, []byte(b), 0o600))
	if got := strings.TrimSpace(n.mustRun("sqlite3", out, "select count(*) from t;")); got != "9" {
		t.Errorf("the committed database: %q rows", got)
	}
	ents, _ := os.ReadDir(filepath.Join(mnt, "v"))
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), "-journal") {
			t.Errorf("journal left: %s", e.Name())
		}
	}
}

// find, ls -lR and du see the tree as it is: every name, modes 0600/0700,
// the owner, the sizes.
func TestMountFindLsDu(t *testing.T) {
	t.Parallel()
	needPrograms(t, "find", "ls", "du")
	n := newMountNode(t)
	mnt := n.newMount()
	files := map[string]string{}
	total := 0
	for i := 0; i < 40; i++ {
		c := strings.Repeat("z", i*1000)
		files[fmt.Sprintf("v/d%d/e%d/f%d", i%4, i%3, i)] = c
		total += len(c)
	}
	noErr(t, os.Mkdir(filepath.Join(mnt, "v"), 0o700))
	noErr(t, os.Mkdir(filepath.Join(mnt, "w"), 0o700))
	writeFiles(t, mnt, files)
	noErr(t, os.Chmod(filepath.Join(mnt, "v/d0/e0/f0"), 0o755))

	var want []string
	for p := range files {
		want = append(want, filepath.Join(mnt, p))
	}
	sort.Strings(want)
	got := strings.Fields(n.mustRun("find", filepath.Join(mnt, "v"), "-type", "f"))
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("find -type f: %d files, want %d", len(got), len(want))
	}
	if got := strings.Fields(n.mustRun("find", mnt, "-maxdepth", "1", "-mindepth", "1")); len(got) != 3 {
		t.Errorf("find at the root: %q (want v, w, .history)", got)
	}
	if got := strings.TrimSpace(n.mustRun("find", filepath.Join(mnt, "v"), "-type", "f", "-perm", "0700")); got != filepath.Join(mnt, "v/d0/e0/f0") {
		t.Errorf("find -perm 0700: %q", got)
	}

	ls := n.mustRun("ls", "-lR", filepath.Join(mnt, "v"))
	var fileLines, dirLines int
	for _, l := range strings.Split(ls, "\n") {
		f := strings.Fields(l)
		if len(f) < 9 {
			continue
		}
		switch {
		case strings.HasPrefix(l, "-"):
			fileLines++
			if f[0] != "-rw-------" && !(f[0] == "-rwx------" && f[8] == "f0") {
				t.Errorf("ls -lR: %q", l)
			}
		case strings.HasPrefix(l, "d"):
			dirLines++
			if f[0] != "drwx------" {
				t.Errorf("ls -lR: %q", l)
			}
		}
		if f[2] != "root" && os.Geteuid() == 0 {
			t.Errorf("owner in %q", l)
		}
	}
	if fileLines != len(files) || dirLines != 4+12 {
		t.Errorf("ls -lR shows %d files and %d dirs, want %d and 16", fileLines, dirLines, len(files))
	}

	var bytes, kib int
	fmt.Sscan(n.mustRun("du", "-sb", filepath.Join(mnt, "v")), &bytes)
	if bytes < total || bytes > total+64*4096 {
		t.Errorf("du -sb: %d, files hold %d bytes", bytes, total)
	}
	fmt.Sscan(n.mustRun("du", "-sk", filepath.Join(mnt, "v")), &kib)
	if kib < total/1024 {
		t.Errorf("du -sk: %d KiB, files hold %d bytes", kib, total)
	}
	var st syscall.Statfs_t
	noErr(t, syscall.Statfs(mnt, &st))
	if st.Bsize == 0 || st.Blocks == 0 {
		t.Errorf("statfs: %+v", st)
	}
}

// A shell overwriting and appending to a file (`>` and `>>`, which open,
// dup2 and close before writing): one version per command, none of them
// empty.
func TestMountShellRedirect(t *testing.T) {
	t.Parallel()
	needPrograms(t, "sh")
	n := newMountNode(t)
	mnt := n.newMount()
	noErr(t, os.Mkdir(filepath.Join(mnt, "v"), 0o700))
	f := filepath.Join(mnt, "v", "f")
	n.mustRun("sh", "-c", `echo first > "$1"`, "sh", f)
	before := n.commits("v")
	for i := 0; i < 4; i++ {
		n.mustRun("sh", "-c", fmt.Sprintf(`echo overwrite %d > "$1"; echo append %d >> "$1"`, i, i), "sh", f)
	}
	if got := fileContent(t, f); got != "overwrite 3\nappend 3\n" {
		t.Errorf("content: %q", got)
	}
	if got := n.commits("v") - before; got != 8 {
		t.Errorf("8 redirections made %d commits", got)
	}
	for i := 0; i < 9; i++ {
		if c := fileContent(t, filepath.Join(mnt, ".history", "v", fmt.Sprintf("HEAD~%d", i), "f")); c == "" {
			t.Errorf("HEAD~%d: an empty version", i)
		}
	}
}
