package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(cleanupM{m}, map[string]func(){
		"exits":    exitsMain,
		"holdlock": holdlockMain,
		"peakrss":  peakrssMain,
	})
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// cleanupM removes the built binary after the tests.
type cleanupM struct{ m *testing.M }

func (c cleanupM) Run() int {
	// agents started without a runtime dir of their own keep their sockets
	// and logs here, not in /tmp/pkfs-<uid> after the tests
	rt, err := os.MkdirTemp("", "pkfs-integration-run-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(rt)
	os.Setenv("XDG_RUNTIME_DIR", rt)
	code := c.m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	return code
}

// pkfsBinDir builds cmd/pkfs once per test binary (with -race when the
// tests run with it) and returns the directory that holds it.
func pkfsBinDir(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "pkfs-integration-bin-")
		if buildErr != nil {
			return
		}
		args := []string{"build", "-o", filepath.Join(binDir, "pkfs")}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "github.com/pkfs/pkfs/cmd/pkfs")...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = &buildError{err: err, out: string(out)}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return "go build ./cmd/pkfs: " + e.err.Error() + "\n" + e.out }

// TestScripts runs every testdata/*.txtar script against the built binary.
func TestScripts(t *testing.T) {
	dir := pkfsBinDir(t)
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(e *testscript.Env) error {
			return setupEnv(e, dir)
		},
		Cmds: scriptCommands,
	})
}

// setupEnv gives each script pkfs on PATH, a home of its own, a node path
// and the cheapest password hashing costs.
func setupEnv(e *testscript.Env, bin string) error {
	home := filepath.Join(e.WorkDir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	e.Setenv("PATH", bin+string(os.PathListSeparator)+e.Getenv("PATH"))
	e.Setenv("HOME", home)
	e.Setenv("PK_NODE_PATH", filepath.Join(e.WorkDir, "node"))
	e.Setenv("PK_PASSWORD_OPS_LIMIT", "min")
	e.Setenv("PK_PASSWORD_MEM_LIMIT", "min")
	e.Setenv("GORACE", "halt_on_error=1 atexit_sleep_ms=0")
	return nil
}

// scriptCommands are builtins that the scripts need beyond testscript's.
var scriptCommands = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"waitfile":  cmdWaitfile,
	"stderrpid": cmdStderrPid,
	"jsonenv":   cmdJSONEnv,
	"jsonfile":  cmdJSONFile,
	"truncate":  cmdTruncate,
	"flipbyte":  cmdFlipByte,
	"nosecret":  cmdNoSecret,
	"jsonq":     cmdJSONQ,
	"jsonis":    cmdJSONIs,
	"jsonhas":   cmdJSONHas,
	"jsonkeys":  cmdJSONKeys,
	"randfile":  cmdRandFile,
	"prefix":    cmdPrefix,
}
