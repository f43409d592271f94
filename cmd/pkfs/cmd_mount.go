package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pkfs/pkfs/internal/agent"
	"github.com/urfave/cli/v2"
)

// The environment a background agent is started with: its parent passes the
// password on fd 4 and waits for "ready" or "error" on fd 3.
const envAgentChild = "PKFS_AGENT_CHILD"

func newMountCommands() []*cli.Command {
	return []*cli.Command{
		{Name: "mount", Usage: "run the agent and show the vaults as directories at DIR (foreground unless --background)",
			ArgsUsage: "DIR", Flags: agentFlags(), Action: withArgs(1, runMount)},
		{Name: "umount", Aliases: []string{"unmount"}, Usage: "commit what is open, unmount DIR and stop its agent",
			ArgsUsage: "DIR", Action: withArgs(1, runUmount)},
		{Name: "agent", Usage: "the agent: start (without a mount), stop, status",
			Subcommands: []*cli.Command{
				{Name: "start", Usage: "run the agent without a mount (foreground unless --background)",
					ArgsUsage: " ", Flags: append(agentFlags(), seedFlag), Action: withArgs(0, runAgentStart)},
				{Name: "stop", Usage: "stop the agent of the node path (unmounting its mount)",
					ArgsUsage: " ", Action: withArgs(0, runAgentStop)},
				{Name: "status", Usage: "say whether an agent serves the node path, and how",
					ArgsUsage: " ", Action: withArgs(0, runAgentStatus)},
			}},
	}
}

func runMount(c *cli.Context, p printer) error {
	dir, err := filepath.Abs(c.Args().Get(0))
	if err != nil {
		return err
	}
	return runAgent(c, p, dir)
}

func runAgentStart(c *cli.Context, p printer) error { return runAgent(c, p, "") }

// runAgent runs the agent in the foreground, or starts it in the background
// and waits until it is ready.
func runAgent(c *cli.Context, p printer, mnt string) error {
	np, err := nodePath(c)
	if err != nil {
		return err
	}
	if sc := agent.DialAgent(np); sc != nil {
		var st agent.Status
		if err := sc.Do(c.Context, "agent.status", nil, nil, nil, &st); err == nil {
			return kindErrorf(agent.KindInUse, "an agent already serves this node (pid %d, mount %q)", st.PID, st.MountPoint)
		}
	}
	opts, err := agentOptions(c, np, mnt)
	if err != nil {
		return err
	}
	if os.Getenv(envAgentChild) == "1" {
		return runAgentChild(c, opts)
	}
	pw, err := password(c, false)
	if err != nil {
		return err
	}
	defer clear(pw)
	if c.Bool("background") {
		st, err := startBackground(c, opts, pw)
		if err != nil {
			return err
		}
		return printStarted(p, st)
	}
	opts.Password = pw
	opts.Ready = func(st agent.Status) { printStarted(p, st) }
	return agent.Run(c.Context, opts)
}

func printStarted(p printer, st agent.Status) error {
	return p.Print(st, func(w io.Writer) {
		if st.MountPoint != "" {
			fmt.Fprintf(w, "pkfs: node %s mounted at %s (agent pid %d)\n", st.NodeID, st.MountPoint, st.PID)
		} else {
			fmt.Fprintf(w, "pkfs: agent for node %s started (pid %d)\n", st.NodeID, st.PID)
		}
	})
}

// startBackground re-runs pkfs detached, hands it the password on a pipe,
// and waits for its ready line.
func startBackground(c *cli.Context, o agent.Options, pw []byte) (agent.Status, error) {
	np, mnt := o.NodePath, o.MountPoint
	var st agent.Status
	exe, err := os.Executable()
	if err != nil {
		return st, err
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return st, err
	}
	defer readyR.Close()
	pwR, pwW, err := os.Pipe()
	if err != nil {
		readyW.Close()
		return st, err
	}
	logPath, err := agent.LogPath(np)
	if err != nil {
		return st, err
	}
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return st, err
	}
	defer logf.Close()
	args := []string{"agent", "start"}
	if mnt != "" {
		args = []string{"mount", mnt}
	}
	args = append(args, "--node-path", np, "--agent-host", o.AgentHost, "--seed-nodes", c.String("seed-nodes"))
	if o.AgentPortSet {
		args = append(args, "--agent-port", strconv.Itoa(o.AgentPort))
	}
	args = append(args, networkArgs(o)...)
	cmd := exec.Command(exe, args...)
	cmd.Env = append(withoutSecrets(os.Environ()), envAgentChild+"=1")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{readyW, pwR}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		readyW.Close()
		pwR.Close()
		pwW.Close()
		return st, err
	}
	readyW.Close()
	pwR.Close()
	pwW.Write(pw)
	pwW.Close()
	go cmd.Wait() // reap it if it exits early
	line, err := readReady(readyR, 2*time.Minute)
	if err != nil {
		cmd.Process.Kill()
		return st, kindErrorf(agent.KindUnavailable, "the agent did not start: %v (log: %s)", err, logPath)
	}
	return parseReady(line)
}

func readReady(r io.Reader, timeout time.Duration) (string, error) {
	ch := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		ch <- line
	}()
	select {
	case line := <-ch:
		if line == "" {
			return "", errors.New("it exited before it was ready")
		}
		return line, nil
	case <-time.After(timeout):
		return "", errors.New("timed out")
	}
}

// parseReady decodes "ready <status json>" or "error <kind> <message>".
func parseReady(line string) (agent.Status, error) {
	var st agent.Status
	line = strings.TrimSpace(line)
	if rest, ok := strings.CutPrefix(line, "ready "); ok {
		return st, json.Unmarshal([]byte(rest), &st)
	}
	if rest, ok := strings.CutPrefix(line, "error "); ok {
		kind, msg, _ := strings.Cut(rest, " ")
		return st, &agent.Error{Kind: agent.Kind(kind), Msg: msg}
	}
	return st, fmt.Errorf("unexpected answer from the agent: %q", line)
}

func withoutSecrets(env []string) []string {
	out := env[:0:0]
	for _, e := range env {
		if strings.HasPrefix(e, envPassword+"=") || strings.HasPrefix(e, envAgentChild+"=") || strings.HasPrefix(e, "PK_RECOVERY_CODE=") {
			continue
		}
		out = append(out, e)
	}
	return out
}

// runAgentChild is the background agent: password on fd 4, ready on fd 3.
func runAgentChild(c *cli.Context, o agent.Options) error {
	ready := os.NewFile(3, "ready")
	pwf := os.NewFile(4, "password")
	pw, err := io.ReadAll(io.LimitReader(pwf, maxSecretFile))
	pwf.Close()
	if err != nil {
		fmt.Fprintf(ready, "error %s failed to read the password\n", agent.KindOther)
		ready.Close()
		return err
	}
	defer clear(pw)
	signalReady := func(st agent.Status) {
		b, _ := json.Marshal(st)
		fmt.Fprintf(ready, "ready %s\n", b)
		ready.Close()
	}
	o.Password, o.Ready = pw, signalReady
	err = agent.Run(c.Context, o)
	if err != nil {
		fmt.Fprintf(ready, "error %s %s\n", agent.KindOf(err), strings.ReplaceAll(err.Error(), "\n", " "))
		ready.Close()
	}
	return err
}

func runAgentStop(c *cli.Context, p printer) error {
	np, err := nodePath(c)
	if err != nil {
		return err
	}
	sc := agent.DialAgent(np)
	if sc == nil {
		return kindErrorf(agent.KindUnavailable, "no agent serves this node path")
	}
	if err := stopAgent(c, sc); err != nil {
		return err
	}
	return p.Print(map[string]string{"status": "STOPPED"}, func(w io.Writer) { fmt.Fprintln(w, "pkfs: agent stopped") })
}

// stopAgent asks an agent to stop and waits until it has exited: its
// socket goes away first, its mount only after open files are committed,
// so a script can remove the mount point as soon as this returns.
func stopAgent(c *cli.Context, sc *agent.SocketClient) error {
	var st agent.Status
	if err := sc.Do(c.Context, "agent.status", nil, nil, nil, &st); err != nil {
		return err
	}
	if err := sc.Do(c.Context, "agent.stop", nil, nil, nil, nil); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(sc.Path); errors.Is(err, os.ErrNotExist) && processGone(st.PID) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return kindErrorf(agent.KindUnavailable, "the agent did not stop within 30s")
}

// processGone reports whether process pid has exited (a zombie waiting for
// its parent counts as exited).
func processGone(pid int) bool {
	if pid <= 0 || errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i > 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

func runUmount(c *cli.Context, p printer) error {
	dir, err := filepath.Abs(c.Args().Get(0))
	if err != nil {
		return err
	}
	rt, err := agent.RuntimeDir()
	if err != nil {
		return err
	}
	socks, _ := filepath.Glob(filepath.Join(rt, "*.sock"))
	for _, s := range socks {
		sc := &agent.SocketClient{Path: s}
		var st agent.Status
		if err := sc.Do(c.Context, "agent.status", nil, nil, nil, &st); err != nil || st.MountPoint != dir {
			continue
		}
		if err := stopAgent(c, sc); err != nil {
			return err
		}
		return p.Print(map[string]string{"mountPoint": dir}, func(w io.Writer) { fmt.Fprintf(w, "pkfs: %s unmounted\n", dir) })
	}
	if agent.ClearStaleMount(dir) {
		return p.Print(map[string]string{"mountPoint": dir}, func(w io.Writer) {
			fmt.Fprintf(w, "pkfs: cleared the stale mount at %s (its agent was gone)\n", dir)
		})
	}
	return kindErrorf(agent.KindNotFound, "%s is not mounted by a running pkfs agent", dir)
}
