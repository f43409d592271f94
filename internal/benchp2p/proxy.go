package main

import (
	"net"
	"sync"
	"sync/atomic"
)

// udpProxy relays UDP datagrams between clients and one upstream address,
// counting the bytes each way: the QUIC traffic between two agents, as it
// is on the wire (UDP payloads: QUIC headers, TLS records, frames, acks).
type udpProxy struct {
	ln       *net.UDPConn
	upstream *net.UDPAddr
	toUp     atomic.Int64 // bytes client -> upstream
	toClient atomic.Int64 // bytes upstream -> client
	packets  atomic.Int64

	mu    sync.Mutex
	peers map[string]*net.UDPConn // client address -> its socket to upstream
	wg    sync.WaitGroup
}

func newUDPProxy(upstream *net.UDPAddr) (*udpProxy, error) {
	ln, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	p := &udpProxy{ln: ln, upstream: upstream, peers: map[string]*net.UDPConn{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

func (p *udpProxy) port() int { return p.ln.LocalAddr().(*net.UDPAddr).Port }

func (p *udpProxy) serve() {
	defer p.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		n, from, err := p.ln.ReadFromUDP(buf)
		if err != nil {
			return
		}
		up, err := p.peer(from)
		if err != nil {
			continue
		}
		p.toUp.Add(int64(n))
		p.packets.Add(1)
		_, _ = up.Write(buf[:n])
	}
}

// peer returns the upstream socket of a client, starting its relay back.
func (p *udpProxy) peer(client *net.UDPAddr) (*net.UDPConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.peers[client.String()]; ok {
		return c, nil
	}
	c, err := net.DialUDP("udp", nil, p.upstream)
	if err != nil {
		return nil, err
	}
	p.peers[client.String()] = c
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		buf := make([]byte, 64<<10)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			p.toClient.Add(int64(n))
			p.packets.Add(1)
			_, _ = p.ln.WriteToUDP(buf[:n], client)
		}
	}()
	return c, nil
}

// counts returns the bytes relayed each way and the packets, and resets them.
func (p *udpProxy) counts() (up, down, packets int64) {
	return p.toUp.Swap(0), p.toClient.Swap(0), p.packets.Swap(0)
}

func (p *udpProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.peers {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
