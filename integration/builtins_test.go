package integration

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pkfs/pkfs/keyring"
	"github.com/rogpeppe/go-internal/testscript"
)

// waitfile FILE: wait (up to 20s) until FILE exists.
func cmdWaitfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitfile FILE")
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	ts.Fatalf("%s did not appear within 20s", args[0])
}

// stderrpid FILE: the last command's stderr names the pid written in FILE.
func cmdStderrPid(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: stderrpid FILE")
	}
	pid := strings.TrimSpace(ts.ReadFile(args[0]))
	if _, err := strconv.Atoi(pid); err != nil {
		ts.Fatalf("%s holds no pid: %q", args[0], pid)
	}
	if stderr := ts.ReadFile("stderr"); !strings.Contains(stderr, "pid "+pid+" ") {
		ts.Fatalf("stderr does not name pid %s: %q", pid, stderr)
	}
}

// jsonField returns field key of the JSON object the last command printed.
func jsonField(ts *testscript.TestScript, key string) string {
	var obj map[string]any
	if err := json.Unmarshal([]byte(ts.ReadFile("stdout")), &obj); err != nil {
		ts.Fatalf("stdout is not one JSON object: %v", err)
	}
	v, ok := obj[key]
	if !ok {
		ts.Fatalf("stdout has no field %q", key)
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// jsonenv KEY VAR: set $VAR to field KEY of the JSON object on stdout.
func cmdJSONEnv(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: jsonenv KEY VAR")
	}
	ts.Setenv(args[1], jsonField(ts, args[0]))
}

// jsonfile KEY FILE: write field KEY of the JSON object on stdout to FILE.
func cmdJSONFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: jsonfile KEY FILE")
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(jsonField(ts, args[0])+"\n"), 0o600))
}

// truncate FILE N: cut FILE to N bytes.
func cmdTruncate(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: truncate FILE N")
	}
	n, err := strconv.ParseInt(args[1], 10, 64)
	ts.Check(err)
	ts.Check(os.Truncate(ts.MkAbs(args[0]), n))
}

// flipbyte FILE OFFSET: flip one bit of the byte at OFFSET (negative: from
// the end).
func cmdFlipByte(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: flipbyte FILE OFFSET")
	}
	name := ts.MkAbs(args[0])
	b, err := os.ReadFile(name)
	ts.Check(err)
	off, err := strconv.Atoi(args[1])
	ts.Check(err)
	if off < 0 {
		off += len(b)
	}
	if off < 0 || off >= len(b) {
		ts.Fatalf("offset %s outside %s (%d bytes)", args[1], args[0], len(b))
	}
	b[off] ^= 0x01
	ts.Check(os.WriteFile(name, b, 0o600))
}

// nosecret DIR [-code FILE] [SECRETFILE...]: no file under DIR holds the
// content of a SECRETFILE (a password, a plaintext), nor, with -code, the
// recovery code in FILE or the Ed25519 seed it stands for (raw, hex or
// base64).
func cmdNoSecret(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: nosecret DIR [-code FILE] [SECRETFILE...]")
	}
	dir := ts.MkAbs(args[0])
	var needles [][]byte
	for i := 1; i < len(args); i++ {
		if args[i] == "-code" && i+1 < len(args) {
			i++
			code := strings.TrimSpace(ts.ReadFile(args[i]))
			seed, err := keyring.SeedFromRecoveryCode(code)
			ts.Check(err)
			needles = append(needles, []byte(code), seed, []byte(hex.EncodeToString(seed)),
				[]byte(base64.StdEncoding.EncodeToString(seed)), []byte(base64.RawURLEncoding.EncodeToString(seed)))
			continue
		}
		content := strings.TrimRight(ts.ReadFile(args[i]), "\n")
		if len(content) < 4 {
			ts.Fatalf("secret in %s is too short to search for", args[i])
		}
		needles = append(needles, []byte(content))
	}
	files := 0
	ts.Check(filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		for _, n := range needles {
			if bytes.Contains(b, n) {
				ts.Fatalf("%s holds a secret (%d bytes)", p, len(n))
			}
		}
		return nil
	}))
	if files < 4 {
		ts.Fatalf("only %d files under %s: wrong directory?", files, dir)
	}
	ts.Logf("searched %d files for %d secrets", files, len(needles))
}
