package integration

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// crashLoop is the child: a shell that writes secrets with pkfs (small
// inline ones, one-chunk ones, and now and then one of several chunks, which
// are written in batches before the commit), removes a directory now and
// then, and prints each commit ID once the command has returned.
const crashLoop = `
i=0
while :; do
	i=$((i+1))
	if [ $((i % 9)) -eq 0 ]; then
		out=$(pkfs secrets rm -r v:d$((i % 4)) --format json 2>/dev/null) && echo "$out"
		continue
	fi
	size=$((i * 997 % 9000))
	[ $((i % 7)) -eq 0 ] && size=5300000
	out=$(head -c $size /dev/urandom | pkfs secrets write v:d$((i % 4))/f$((i % 5)) --format json) || exit 1
	echo "$out"
done
`

var commitIDRE = regexp.MustCompile(`"commitId":"([0-9a-f]{40})"`)

// The crash test of the vaults issue: a child writes secrets in a loop and
// prints each commit ID after the command returned; it is killed with
// SIGKILL (its whole process group: the shell and the pkfs it runs) at a
// random moment, 50 times. After each kill the vault opens, verify passes,
// and every commit ever printed is in the log.
func TestCrashSafety(t *testing.T) {
	n := newNode(t, pkfsBinDir(t))
	n.ok(nil, "vaults", "create", "v")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	var printed []string
	const rounds = 50
	for round := 0; round < rounds; round++ {
		// every fifth round kills only after a first printed commit, so
		// that kills land after returned commands even when a loaded
		// machine makes the child slow to start
		out := runAndKill(t, n, time.Duration(20+rng.IntN(600))*time.Millisecond, round%5 == 0)
		lines := strings.SplitAfter(out, "\n")
		for _, l := range lines {
			if !strings.HasSuffix(l, "\n") {
				continue // cut short by the kill: not a completed command
			}
			m := commitIDRE.FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("round %d: the child printed %q", round, l)
			}
			printed = append(printed, m[1])
		}
		verifyAfterCrash(t, n, round)
		inLog := map[string]bool{}
		for _, id := range n.logIDs("v") {
			inLog[id] = true
		}
		for i, id := range printed {
			if !inLog[id] {
				t.Fatalf("round %d: commit %s (printed %d of %d) is not in the log", round, id, i+1, len(printed))
			}
		}
	}
	// a sanity check, not a speed test: the rounds that wait for a first
	// commit must each have printed one
	if len(printed) < rounds/5 {
		t.Fatalf("only %d commits were printed in %d rounds: the child hardly ran", len(printed), rounds)
	}
	t.Logf("%d rounds, %d commits printed, %d in the log", rounds, len(printed), len(n.logIDs("v")))
}

// runAndKill runs the loop for d (after its first printed line, with
// afterFirst), kills its process group with SIGKILL, and returns what it
// printed.
func runAndKill(t *testing.T, n *cliNode, d time.Duration, afterFirst bool) string {
	t.Helper()
	cmd := n.command()
	cmd.Path, cmd.Args = "/bin/sh", []string{"sh", "-c", crashLoop}
	cmd.Env = append(cmd.Env, "PATH="+pkfsBinDir(t)+":/usr/bin:/bin")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out, errb lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	t.Cleanup(func() { syscall.Kill(-pgid, syscall.SIGKILL) })
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if afterFirst {
		waitAcks([]*lockedBuffer{&out}, 30*time.Second)
	}
	select {
	case err := <-done:
		t.Fatalf("the write loop stopped by itself: %v: %s", err, errb.String())
	case <-time.After(d):
	}
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done: // the pipes are closed: every process of the group is gone
	case <-time.After(10 * time.Second):
		t.Fatal("the killed write loop did not exit within 10s")
	}
	return out.String()
}

// verifyAfterCrash runs vaults verify; a killed pkfs may take a moment to
// release the node path, so "in use" (7) is retried for a few seconds.
func verifyAfterCrash(t *testing.T, n *cliNode, round int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, errs, code := n.run(nil, "vaults", "verify", "v")
		switch {
		case code == 0:
			return
		case code == 7 && time.Now().Before(deadline):
			time.Sleep(20 * time.Millisecond)
			continue
		}
		t.Fatalf("round %d: verify after the kill: exit %d: %s%s", round, code, out, errs)
	}
}
