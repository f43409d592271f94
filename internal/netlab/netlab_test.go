package netlab

import (
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestNATSites: a host behind each kind of NAT reaches the public
// network, which sees it at its router's address (and, behind the
// symmetric NAT, at another port for each destination); nothing from the
// public network reaches the host unasked; Close leaves no namespace.
func TestNATSites(t *testing.T) {
	if err := Check(); err != nil {
		t.Skip(err)
	}
	l, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := l.Close(); err != nil {
			t.Error(err)
		}
		out, _ := exec.Command("ip", "netns", "list").Output()
		if strings.Contains(string(out), l.Suffix) {
			t.Errorf("namespaces left: %s", out)
		}
	}()
	in, err := l.Internet()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []NATKind{EndpointIndependent, Symmetric} {
		name := map[NATKind]string{EndpointIndependent: "E", Symmetric: "S"}[k]
		site, err := in.Site(name, k)
		if err != nil {
			t.Fatal(err)
		}
		var srv1, srv2, srv3, host *net.UDPConn
		if err := in.Pub.Do(func() (err error) {
			if srv1, err = net.ListenUDP("udp4", &net.UDPAddr{Port: 7001}); err != nil {
				return err
			}
			if srv3, err = net.ListenUDP("udp4", &net.UDPAddr{Port: 7003}); err != nil {
				return err
			}
			srv2, err = net.ListenUDP("udp4", &net.UDPAddr{Port: 7002})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if err := site.Host.Do(func() (err error) { host, err = net.ListenUDP("udp4", &net.UDPAddr{Port: 5000}); return err }); err != nil {
			t.Fatal(err)
		}
		seen := func(srv *net.UDPConn, port int) *net.UDPAddr {
			t.Helper()
			if _, err := host.WriteToUDP([]byte("hi"), &net.UDPAddr{IP: net.ParseIP(in.PubIP), Port: port}); err != nil {
				t.Fatal(err)
			}
			srv.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 16)
			_, from, err := srv.ReadFromUDP(buf)
			if err != nil {
				t.Fatalf("%v: nothing arrived: %v", k, err)
			}
			return from
		}
		a, b := seen(srv1, 7001), seen(srv2, 7002)
		if a.IP.String() != site.PublicIP || b.IP.String() != site.PublicIP {
			t.Fatalf("%v: seen at %v and %v, want %s", k, a, b, site.PublicIP)
		}
		if k == EndpointIndependent && (a.Port != 5000 || b.Port != 5000) {
			t.Fatalf("%v: ports %d and %d, want 5000 kept", k, a.Port, b.Port)
		}
		// unasked: a packet to the mapping from another port is dropped
		srv3.WriteToUDP([]byte("in"), &net.UDPAddr{IP: a.IP, Port: a.Port})
		srv1.WriteToUDP([]byte("reply"), a) // an answer passes
		host.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 16)
		n, _, err := host.ReadFromUDP(buf)
		if err != nil || string(buf[:n]) != "reply" {
			t.Fatalf("%v: the host read %q, %v; want the reply only", k, buf[:n], err)
		}
		for _, c := range []*net.UDPConn{srv1, srv2, srv3, host} {
			c.Close()
		}
	}
}
