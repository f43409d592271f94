package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pkfs/pkfs/internal/agent"
	"github.com/pkfs/pkfs/p2p"
	"github.com/urfave/cli/v2"
)

func runAgentStatus(c *cli.Context, p printer) error {
	np, err := nodePath(c)
	if err != nil {
		return err
	}
	sc := agent.DialAgent(np)
	if sc == nil {
		p.Print(map[string]string{"status": "DEAD"}, func(w io.Writer) { fmt.Fprintln(w, "pkfs: no agent serves this node path") })
		return &silentError{kindErrorf(agent.KindUnavailable, "no agent")}
	}
	var st struct {
		State string `json:"status"`
		agent.Status
	}
	if err := sc.Do(c.Context, "agent.status", nil, nil, nil, &st.Status); err != nil {
		return err
	}
	st.State = "LIVE"
	return p.Print(st, func(w io.Writer) {
		rows := [][2]string{{"status", "LIVE"}, {"pid", fmt.Sprint(st.PID)}, {"node ID", st.NodeID},
			{"agent address", fmt.Sprintf("%s port %d", st.AgentHost, st.AgentPort)},
			{"observed at", observedText(st.ObservedAddresses)},
			{"connections", fmt.Sprint(st.ConnectionsActive)},
			{"node path", st.NodePath}, {"mount point", mountPointText(st.MountPoint)}, {"socket", st.Socket},
			{"started", st.StartedAt.Local().Format(time.RFC3339)}, {"vaults", fmt.Sprint(st.Vaults)}}
		if st.Seed {
			rows = append(rows, [2]string{"seed node", "yes"})
		}
		if r := st.Relay; r != nil {
			rows = append(rows, [2]string{"relay", fmt.Sprintf("%d sessions, %d nodes; %d packets (%d bytes) forwarded, %d dropped",
				r.Sessions, r.Peers, r.Packets, r.Bytes, r.Dropped)})
		}
		if l := st.LocalDiscovery; l != nil {
			rows = append(rows, [2]string{"local discovery", fmt.Sprintf("UDP port %d; %d sent, %d received, %d taken, %d forged, %d stale, %d replayed",
				l.Port, l.Sent, l.Received, l.Accepted, l.Forged, l.Stale, l.Replayed)})
		}
		table(w, rows...)
	})
}

// observedText lists where peers see the node, with how many peers said so.
func observedText(obs []p2p.ObservedAddress) string {
	if len(obs) == 0 {
		return "(no peer has said yet)"
	}
	parts := make([]string, len(obs))
	for i, o := range obs {
		parts[i] = fmt.Sprintf("%s (%d peers)", o.Address, len(o.SeenBy))
	}
	return strings.Join(parts, ", ")
}

func mountPointText(m string) string {
	if m == "" {
		return "(none: an agent without a mount)"
	}
	return m
}
