// Package netlab builds small networks out of Linux network namespaces,
// for tests and benchmarks of pkfs's reachability: namespaces joined by
// veth pairs and bridges, NAT routers made with iptables, and programs run
// inside them. No link is made to the machine's own interfaces: every
// packet stays in namespaces the lab made. Everything carries a random
// suffix (parallel runs do not collide) and Close removes it all, the
// processes left in the namespaces included, also after a failure.
//
// It needs root, ip (iproute2) and iptables; Check says what is missing.
// It imports nothing of the module.
package netlab

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Check reports why a lab cannot be made here, or nil.
func Check() error {
	if os.Geteuid() != 0 {
		return errors.New("network namespaces need root")
	}
	for _, tool := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed (Debian packages iproute2, iptables)", tool)
		}
	}
	name := "pknetlab-probe-" + randomSuffix()
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return fmt.Errorf("cannot make a network namespace: %v: %s", err, bytes.TrimSpace(out))
	}
	exec.Command("ip", "netns", "del", name).Run()
	return nil
}

func randomSuffix() string {
	b := make([]byte, 3)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Lab is a set of namespaces.
type Lab struct {
	Suffix string

	mu    sync.Mutex
	nss   []*NS
	procs []*exec.Cmd
}

// New makes an empty lab.
func New() (*Lab, error) {
	if err := Check(); err != nil {
		return nil, err
	}
	return &Lab{Suffix: randomSuffix()}, nil
}

// NS is a network namespace of a lab.
type NS struct {
	Name string // the namespace's name, with the lab's suffix
	lab  *Lab
}

// NS makes a namespace named name plus the lab's suffix, with lo up.
func (l *Lab) NS(name string) (*NS, error) {
	ns := &NS{Name: "pk" + name + "-" + l.Suffix, lab: l}
	if err := run("ip", "netns", "add", ns.Name); err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.nss = append(l.nss, ns)
	l.mu.Unlock()
	return ns, ns.IP("link", "set", "lo", "up")
}

// run runs a command and returns its output in the error when it fails.
func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// IP runs `ip -n NS args...`.
func (ns *NS) IP(args ...string) error { return run("ip", append([]string{"-n", ns.Name}, args...)...) }

// Run runs a program inside the namespace and waits for it.
func (ns *NS) Run(name string, args ...string) error {
	return run("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Command returns a command that runs inside the namespace.
func (ns *NS) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Start starts a program inside the namespace; Close stops it if it still
// runs.
func (ns *NS) Start(cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	ns.lab.mu.Lock()
	ns.lab.procs = append(ns.lab.procs, cmd)
	ns.lab.mu.Unlock()
	return nil
}

// Sysctl sets a sysctl inside the namespace.
func (ns *NS) Sysctl(key, value string) error { return ns.Run("sysctl", "-q", "-w", key+"="+value) }

// Do runs fn on an OS thread that is in the namespace. Sockets made by
// fn belong to the namespace and may be used from any goroutine after.
func (ns *NS) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer home.Close()
		f, err := os.Open("/run/netns/" + ns.Name)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns %s: %w", ns.Name, err)
			return
		}
		err = fn()
		// Back home, the thread serves other goroutines again; if it
		// cannot go back, it stays locked and ends with this goroutine.
		if unix.Setns(int(home.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// Link joins a and b with a veth pair: interface aIf in a with address
// aAddr (CIDR; "" for none), bIf in b with bAddr. Both come up.
func (l *Lab) Link(a *NS, aIf, aAddr string, b *NS, bIf, bAddr string) error {
	if err := run("ip", "link", "add", "name", aIf, "netns", a.Name, "type", "veth", "peer", "name", bIf, "netns", b.Name); err != nil {
		return err
	}
	for _, e := range []struct {
		ns         *NS
		ifc, addrs string
	}{{a, aIf, aAddr}, {b, bIf, bAddr}} {
		if e.addrs != "" {
			if err := e.ns.IP("addr", "add", e.addrs, "dev", e.ifc); err != nil {
				return err
			}
		}
		if err := e.ns.IP("link", "set", e.ifc, "up"); err != nil {
			return err
		}
	}
	return nil
}

// Bridge makes a bridge in ns with address addr (CIDR; "" for none).
func (ns *NS) Bridge(name, addr string) error {
	if err := ns.IP("link", "add", name, "type", "bridge"); err != nil {
		return err
	}
	if addr != "" {
		if err := ns.IP("addr", "add", addr, "dev", name); err != nil {
			return err
		}
	}
	return ns.IP("link", "set", name, "up")
}

// Attach puts interface ifc of ns on bridge br of ns.
func (ns *NS) Attach(ifc, br string) error { return ns.IP("link", "set", ifc, "master", br) }

// Close stops the lab's processes and every process left in its
// namespaces, and deletes the namespaces (their interfaces go with them).
func (l *Lab) Close() error {
	l.mu.Lock()
	procs, nss := l.procs, l.nss
	l.procs, l.nss = nil, nil
	l.mu.Unlock()
	for _, c := range procs {
		if c.ProcessState == nil {
			c.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, c := range procs {
		done := make(chan struct{})
		go func() { c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			c.Process.Kill()
			<-done
		}
	}
	var errs []error
	for _, ns := range nss {
		killAll(ns)
		if err := run("ip", "netns", "del", ns.Name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// killAll kills the processes that still run in ns (those started in it
// by others, as detached agents).
func killAll(ns *NS) {
	for round := 0; round < 50; round++ {
		out, _ := exec.Command("ip", "netns", "pids", ns.Name).Output()
		pids := strings.Fields(string(out))
		if len(pids) == 0 || len(pids) == 1 && pids[0] == strconv.Itoa(os.Getpid()) {
			return
		}
		sig := syscall.SIGTERM
		if round > 10 {
			sig = syscall.SIGKILL
		}
		for _, p := range pids {
			if pid, err := strconv.Atoi(p); err == nil && pid != os.Getpid() {
				syscall.Kill(pid, sig)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}
