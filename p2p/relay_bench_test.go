package p2p

import (
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"
)

// BenchmarkRelayThroughput sends 20 MiB in one call's data frames, directly
// and through a relay, on loopback in one process (make bench runs the
// same comparison in network namespaces, scripts/bench_reach.sh).
func BenchmarkRelayThroughput(b *testing.B) {
	const size = 20 << 20
	for _, relayed := range []bool{false, true} {
		name := "direct"
		if relayed {
			name = "relayed"
		}
		b.Run(name, func(b *testing.B) {
			a, c := newTestNode(b), newTestNode(b)
			s := newTestNodeWith(b, RelayOptions{Enabled: true, Rate: 1 << 30})
			for _, n := range []*testNode{a, c} {
				n.know(b, s)
				if _, err := n.Ping(context.Background(), s.ID()); err != nil {
					b.Fatal(err)
				}
			}
			chunk := make([]byte, 1<<20)
			c.Handle("bulk", func(ctx context.Context, from Peer, body json.RawMessage, out io.Writer) (any, error) {
				for i := 0; i < size/len(chunk); i++ {
					if _, err := out.Write(chunk); err != nil {
						return nil, err
					}
				}
				return struct{}{}, nil
			})
			if relayed {
				pc, _, err := a.dialRelayed(context.Background(), s.ID(), c.ID())
				if err != nil {
					b.Fatal(err)
				}
				a.register(pc)
			} else {
				a.know(b, c)
			}
			b.SetBytes(size)
			b.ResetTimer()
			for range b.N {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				if err := a.Call(ctx, c.ID(), "bulk", struct{}{}, nil, io.Discard); err != nil {
					b.Fatal(err)
				}
				cancel()
			}
			b.StopTimer()
			if relayed {
				st := s.RelayStats()
				b.ReportMetric(float64(st.Dropped), "dropped")
				b.ReportMetric(float64(st.Packets)/float64(b.N), "pkts/op")
			}
		})
	}
}
