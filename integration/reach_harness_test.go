package integration

import (
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pkfs/pkfs/internal/netlab"
)

// The reachability tests run real agents in network namespaces that
// internal/netlab makes: a "public" namespace (a bridge, the seed node on
// it), NAT routers made with iptables, hosts behind them, a bridge for a
// LAN. Every packet stays in those namespaces; the control sockets are
// files, so the CLI talks to the agents from outside. The lab is removed
// in t.Cleanup, after the agents (cleanups run last-registered first, and
// the lab is registered before any node), also when the test fails.

// reachPort is where every agent of these tests listens, each in its own
// namespace.
const reachPort = 1314

// reachRelayPort is where a relay's socket listens (the default).
const reachRelayPort = 1316

// newReachLab makes a lab, or skips the test with the reason.
func newReachLab(t *testing.T) *netlab.Lab {
	t.Helper()
	if err := netlab.Check(); err != nil {
		t.Skipf("no network namespaces: %v", err)
	}
	lab, err := netlab.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := lab.Close(); err != nil {
			t.Errorf("removing the lab: %v", err)
		}
	})
	return lab
}

// must fails the test on err.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// startIn starts n's agent inside ns, listening on every address there.
func (n *peerNode) startIn(ns *netlab.NS, extra []string, args ...string) peerStatus {
	n.t.Helper()
	return n.startUnder([]string{"ip", "netns", "exec", ns.Name}, "0.0.0.0", reachPort, extra, args...)
}

// seedAt is n as a seed node at ip (PK_SEED_NODES).
func (n *peerNode) seedAt(ip string) string {
	return "PK_SEED_NODES=" + n.id + "@" + ip + ":" + strconv.Itoa(reachPort)
}

// reachStatus is what these tests read of `agent status`.
type reachStatus struct {
	ObservedAddresses []struct {
		Address string   `json:"address"`
		SeenBy  []string `json:"seenBy"`
	} `json:"observedAddresses"`
	Relay *struct {
		Sessions int   `json:"sessions"`
		Packets  int64 `json:"packets"`
		Bytes    int64 `json:"bytes"`
		Dropped  int64 `json:"dropped"`
		Tampered int64 `json:"tampered"`
	} `json:"relay"`
	LocalDiscovery *struct {
		Sent     int64 `json:"sent"`
		Accepted int64 `json:"accepted"`
		Forged   int64 `json:"forged"`
		Stale    int64 `json:"stale"`
		Replayed int64 `json:"replayed"`
	} `json:"localDiscovery"`
}

func (n *peerNode) reachStatus() reachStatus {
	n.t.Helper()
	var st reachStatus
	n.jsonOK(&st, "agent", "status")
	return st
}

// connVia returns how n's connection to other came up ("" if none).
func (n *peerNode) connVia(other *peerNode) string {
	n.t.Helper()
	var cs []struct {
		NodeID string `json:"nodeId"`
		Via    string `json:"via"`
		Relay  string `json:"relay"`
	}
	n.jsonOK(&cs, "nodes", "connections")
	for _, c := range cs {
		if c.NodeID == other.id {
			return c.Via
		}
	}
	return ""
}

// capture runs tcpdump on a bridge of ns, writing UDP packets to a file;
// stop ends it and returns the file's bytes.
func capture(t *testing.T, ns *netlab.NS, ifc string) (stop func() []byte) {
	t.Helper()
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump is not installed (Debian package tcpdump)")
	}
	file := t.TempDir() + "/relay.pcap"
	cmd := ns.Command("tcpdump", "--immediate-mode", "-i", ifc, "-U", "-s", "0", "-w", file, "udp")
	pr, pw, err := os.Pipe()
	must(t, err)
	cmd.Stderr = pw
	must(t, ns.Start(cmd))
	pw.Close()
	// tcpdump says "listening on" once it captures
	ready := make(chan struct{})
	go func() {
		buf := make([]byte, 512)
		var got []byte
		for {
			k, err := pr.Read(buf)
			got = append(got, buf[:k]...)
			if err != nil || len(got) > 0 && strings.Contains(string(got), "listening on") {
				close(ready)
				io.Copy(io.Discard, pr)
				pr.Close()
				return
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("tcpdump did not start")
	}
	return func() []byte {
		time.Sleep(200 * time.Millisecond) // what is in flight
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		b, err := os.ReadFile(file)
		must(t, err)
		return b
	}
}

// udpPacket is a UDP datagram of a capture.
type udpPacket struct {
	src, dst int // ports
	payload  []byte
}

// udpPackets returns the UDP datagrams of a pcap file of Ethernet frames
// carrying IPv4.
func udpPackets(t *testing.T, pcap []byte) []udpPacket {
	t.Helper()
	if len(pcap) < 24 || binary.LittleEndian.Uint32(pcap) != 0xa1b2c3d4 {
		t.Fatalf("not a pcap file (%d bytes)", len(pcap))
	}
	var out []udpPacket
	for p := pcap[24:]; len(p) >= 16; {
		n := int(binary.LittleEndian.Uint32(p[8:12]))
		if len(p) < 16+n {
			break
		}
		frame := p[16 : 16+n]
		p = p[16+n:]
		if len(frame) < 14+20+8 || binary.BigEndian.Uint16(frame[12:14]) != 0x0800 || frame[14+9] != 17 {
			continue
		}
		ihl := int(frame[14]&0x0f) * 4
		if u := frame[14+ihl:]; len(u) >= 8 {
			out = append(out, udpPacket{src: int(binary.BigEndian.Uint16(u[0:2])), dst: int(binary.BigEndian.Uint16(u[2:4])), payload: u[8:]})
		}
	}
	return out
}

// waitUntil polls fn every 50 ms for at most limit.
func waitUntil(t *testing.T, limit time.Duration, what string, fn func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !fn() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
