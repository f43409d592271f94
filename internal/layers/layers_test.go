package layers

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const module = "github.com/pkfs/pkfs"

// ranks is the layering of DESIGN.md. A package may import packages of
// strictly lower rank, and packages of its own entry (its sub-packages).
// A package below an entry belongs to that entry. Every package of the
// module must belong to an entry: add new ones here.
var ranks = map[string]int{
	"internal/cryptocore": 0,
	"keyring":             1,
	"internal/kvstore":    1,
	"internal/node":       2,
	"vaultstore":          2,
	"gestalt":             2, // with gestalt/github and its fake, gestalt/github/githubtest
	"fs":                  3,
	"p2p":                 3,
	"internal/agent":      4,
	"cmd/pkfs":            5,
	"internal/netlab":     5, // network namespaces for integration tests and benchmarks: imports nothing of the module
	"integration":         6,
	"internal/layers":     6,
	"internal/benchmount": 6, // a benchmark program: imports nothing of the module
	"internal/benchp2p":   6, // the replication benchmark: imports nothing of the module
	"internal/benchreach": 6, // the reachability benchmark: netlab, and the built binary
	"internal/githubfake": 6, // a test program: the fake GitHub for integration tests
}

// cipherOwner is the only package that may import cipher implementations.
const cipherOwner = "internal/cryptocore"

// libraryOwners names, for each library whose types must not spread, the
// one entry that may import it, and why.
var libraryOwners = []struct{ prefix, owner, why string }{
	{"github.com/go-git/go-git/", "vaultstore",
		"vaults are git repositories only inside vaultstore: others use its Hash, Entry and pack API, so the storage can change without them"},
	{"github.com/hanwen/go-fuse/", "fs",
		"the kernel interface stays in fs: errnos are made in one place"},
	{"github.com/quic-go/quic-go", "p2p",
		"the transport stays in p2p: peers are node IDs elsewhere"},
	{"github.com/syndtr/goleveldb/", "internal/kvstore",
		"nothing may bypass the sealing and MACs of the encrypted store"},
}

// libraryViolation says why from may not import the library path imp, or
// returns "".
func libraryViolation(from, imp string) string {
	fe := entry(from)
	for _, l := range libraryOwners {
		if (imp == strings.TrimSuffix(l.prefix, "/") || strings.HasPrefix(imp, l.prefix)) && fe != l.owner {
			return from + " imports " + imp + ": only " + l.owner + " may (" + l.why + ")"
		}
	}
	return ""
}

// pkg is what `go list -json` tells about a package.
type pkg struct {
	ImportPath   string
	Imports      []string
	Deps         []string
	TestImports  []string
	XTestImports []string
}

var (
	listOnce sync.Once
	listed   []pkg
	listErr  string
)

// listPackages returns every package of the module (listed once).
func listPackages(t *testing.T) []pkg {
	t.Helper()
	listOnce.Do(func() { listed, listErr = goList() })
	if listErr != "" {
		t.Fatal(listErr)
	}
	return listed
}

func goList() ([]pkg, string) {
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,Deps,TestImports,XTestImports", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, "go list: " + err.Error() + "\n" + stderr.String()
	}
	var pkgs []pkg
	dec := json.NewDecoder(bufio.NewReader(bytes.NewReader(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			return nil, "go list output: " + err.Error()
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 5 {
		return nil, "go list found only " + strconv.Itoa(len(pkgs)) + " packages of the module"
	}
	return pkgs, ""
}

// entry returns the table entry a module package belongs to, or "" when the
// path is not of the module or has no entry.
func entry(importPath string) string {
	rel, ok := strings.CutPrefix(importPath, module+"/")
	if !ok {
		return ""
	}
	best := ""
	for e := range ranks {
		if (rel == e || strings.HasPrefix(rel, e+"/")) && len(e) > len(best) {
			best = e
		}
	}
	return best
}

// layerViolation says why from may not import to, or returns "".
func layerViolation(from, to string) string {
	fe, te := entry(from), entry(to)
	if fe == "" || te == "" || fe == te {
		return ""
	}
	if ranks[te] >= ranks[fe] {
		return from + " (rank " + strconv.Itoa(ranks[fe]) + ") imports " + to + " (rank " + strconv.Itoa(ranks[te]) + ")"
	}
	return ""
}

// isCipherImport reports whether path is a cipher implementation that only
// cryptocore may import.
func isCipherImport(path string) bool {
	return path == "crypto/cipher" || path == "golang.org/x/crypto" || strings.HasPrefix(path, "golang.org/x/crypto/")
}

func TestEveryPackageHasALayer(t *testing.T) {
	for _, p := range listPackages(t) {
		if entry(p.ImportPath) == "" {
			t.Errorf("package %s has no layer: add it to the ranks table in internal/layers/layers_test.go "+
				"(see the architecture in DESIGN.md)", p.ImportPath)
		}
	}
}

func TestNoUpwardImports(t *testing.T) {
	for _, p := range listPackages(t) {
		// Deps covers what the package's code reaches, directly or not;
		// test files are held to the same rule through their direct imports.
		for _, d := range append(append(append([]string(nil), p.Deps...), p.TestImports...), p.XTestImports...) {
			if v := layerViolation(p.ImportPath, d); v != "" {
				t.Errorf("layering: %s", v)
			}
		}
	}
}

func TestOnlyCryptocoreImportsCiphers(t *testing.T) {
	for _, p := range listPackages(t) {
		if entry(p.ImportPath) == cipherOwner {
			continue
		}
		for _, imp := range append(append(append([]string(nil), p.Imports...), p.TestImports...), p.XTestImports...) {
			if isCipherImport(imp) {
				t.Errorf("%s imports %s: only %s may; ask it for the primitive", p.ImportPath, imp, cipherOwner)
			}
		}
	}
}

func TestLibrariesStayWithTheirOwners(t *testing.T) {
	for _, p := range listPackages(t) {
		if entry(p.ImportPath) == "internal/layers" {
			continue // this test names them
		}
		for _, imp := range append(append(append([]string(nil), p.Imports...), p.TestImports...), p.XTestImports...) {
			if v := libraryViolation(p.ImportPath, imp); v != "" {
				t.Error(v)
			}
		}
	}
}

// TestRulesCatchViolations checks the rules themselves on made-up imports,
// so that a broken rule cannot pass silently.
func TestRulesCatchViolations(t *testing.T) {
	m := module + "/"
	for _, tc := range []struct {
		from, to string
		bad      bool
	}{
		{m + "keyring", m + "internal/cryptocore", false},
		{m + "internal/cryptocore", m + "keyring", true},
		{m + "keyring", m + "internal/kvstore", true}, // same rank, other entry
		{m + "vaultstore", m + "vaultstore/internal/storer", false},
		{m + "fs", m + "internal/agent", true},
		{m + "cmd/pkfs", m + "internal/agent", false},
		{m + "internal/agent", m + "cmd/pkfs", true},
		{m + "integration", m + "cmd/pkfs", false},
		{m + "keyring", "github.com/syndtr/goleveldb/leveldb", false},
		{m + "gestalt/github", m + "gestalt", false},
		{m + "gestalt/github", m + "p2p", true},
		{m + "internal/githubfake", m + "gestalt/github/githubtest", false},
	} {
		if got := layerViolation(tc.from, tc.to) != ""; got != tc.bad {
			t.Errorf("%s -> %s: violation=%v, want %v", tc.from, tc.to, got, tc.bad)
		}
	}
	for _, tc := range []struct {
		from, imp string
		bad       bool
	}{
		{m + "vaultstore", "github.com/go-git/go-git/v5/plumbing", false},
		{m + "p2p", "github.com/go-git/go-git/v5/plumbing", true},
		{m + "fs", "github.com/hanwen/go-fuse/v2/fs", false},
		{m + "internal/agent", "github.com/hanwen/go-fuse/v2/fuse", true},
		{m + "p2p", "github.com/quic-go/quic-go", false},
		{m + "cmd/pkfs", "github.com/quic-go/quic-go", true},
		{m + "vaultstore", "github.com/syndtr/goleveldb/leveldb", true},
	} {
		if got := libraryViolation(tc.from, tc.imp) != ""; got != tc.bad {
			t.Errorf("%s imports %s: violation=%v, want %v", tc.from, tc.imp, got, tc.bad)
		}
	}
	if entry(m+"internal/newthing") != "" {
		t.Error("an unknown package was given a layer")
	}
	if !isCipherImport("crypto/cipher") || !isCipherImport("golang.org/x/crypto/chacha20poly1305") || isCipherImport("crypto/ed25519") {
		t.Error("cipher import rule is wrong")
	}
}
