package netlab

import "fmt"

// NATKind is how a router maps its hosts' ports.
type NATKind int

const (
	// EndpointIndependent is iptables MASQUERADE: one mapping per
	// source address and port (the port kept when it is free), whatever
	// the destination; replies only from where packets went.
	EndpointIndependent NATKind = iota
	// Symmetric is MASQUERADE --random-fully: a random port for each
	// new destination, so that what one peer observed is of no use to
	// another.
	Symmetric
)

func (k NATKind) String() string {
	if k == Symmetric {
		return "symmetric (MASQUERADE --random-fully)"
	}
	return "endpoint-independent (MASQUERADE)"
}

// PublicNet is the addresses of the lab's "internet" (TEST-NET-2).
const PublicNet = "198.51.100"

// Internet is the lab's public network: a bridge in the namespace Pub,
// which has the address PublicNet.1 on it (a seed node runs there).
type Internet struct {
	Lab   *Lab
	Pub   *NS
	PubIP string
	sites int
}

// Internet makes the public network.
func (l *Lab) Internet() (*Internet, error) {
	pub, err := l.NS("pub")
	if err != nil {
		return nil, err
	}
	if err := pub.Bridge("br0", PublicNet+".1/24"); err != nil {
		return nil, err
	}
	return &Internet{Lab: l, Pub: pub, PubIP: PublicNet + ".1"}, nil
}

// Site is a host behind a NAT router on the internet.
type Site struct {
	Router, Host *NS
	PublicIP     string // the router's address on the internet
	HostIP       string // the host's private address
}

// Site makes a host behind a router of kind k. The router forwards only
// what its host started (and what answers it), and drops what comes to
// itself unasked, as a home router does.
func (in *Internet) Site(name string, k NATKind) (*Site, error) {
	in.sites++
	i := in.sites
	r, err := in.Lab.NS("r" + name)
	if err != nil {
		return nil, err
	}
	h, err := in.Lab.NS("h" + name)
	if err != nil {
		return nil, err
	}
	s := &Site{Router: r, Host: h, PublicIP: fmt.Sprintf("%s.%d", PublicNet, 10+i), HostIP: fmt.Sprintf("10.%d.0.2", i)}
	port := "w" + name
	if err := in.Lab.Link(r, "wan", s.PublicIP+"/24", in.Pub, port, ""); err != nil {
		return nil, err
	}
	if err := in.Pub.Attach(port, "br0"); err != nil {
		return nil, err
	}
	if err := in.Lab.Link(r, "lan", fmt.Sprintf("10.%d.0.1/24", i), h, "eth0", s.HostIP+"/24"); err != nil {
		return nil, err
	}
	if err := h.IP("route", "add", "default", "via", fmt.Sprintf("10.%d.0.1", i)); err != nil {
		return nil, err
	}
	return s, natRouter(r, k)
}

// natRouter makes r a NAT router from lan to wan.
func natRouter(r *NS, k NATKind) error {
	if err := r.Sysctl("net.ipv4.ip_forward", "1"); err != nil {
		return err
	}
	masq := []string{"-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE"}
	if k == Symmetric {
		masq = append(masq, "--random-fully")
	}
	rules := [][]string{
		masq,
		{"-A", "FORWARD", "-i", "wan", "-o", "lan", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"},
		{"-A", "FORWARD", "-i", "wan", "-j", "DROP"},
		{"-A", "INPUT", "-i", "wan", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"},
		{"-A", "INPUT", "-i", "wan", "-j", "DROP"},
	}
	for _, rule := range rules {
		if err := r.Run("iptables", rule...); err != nil {
			return err
		}
	}
	return nil
}

// LAN makes a bridge with one host per name (10.9.0.2, .3, …, on eth0)
// and no router: a local network with nothing else on it.
func (l *Lab) LAN(names ...string) (hosts []*NS, ips []string, err error) {
	br, err := l.NS("lan")
	if err != nil {
		return nil, nil, err
	}
	if err := br.Bridge("br0", ""); err != nil {
		return nil, nil, err
	}
	for i, name := range names {
		h, err := l.NS("h" + name)
		if err != nil {
			return nil, nil, err
		}
		ip := fmt.Sprintf("10.9.0.%d", 2+i)
		if err := l.Link(h, "eth0", ip+"/24", br, "p"+name, ""); err != nil {
			return nil, nil, err
		}
		if err := br.Attach("p"+name, "br0"); err != nil {
			return nil, nil, err
		}
		hosts, ips = append(hosts, h), append(ips, ip)
	}
	return hosts, ips, nil
}
