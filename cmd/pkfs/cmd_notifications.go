package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pkfs/pkfs/internal/agent"
	"github.com/urfave/cli/v2"
)

func newNotificationsCommand() *cli.Command {
	return &cli.Command{
		Name:  "notifications",
		Usage: "signed messages between nodes",
		Subcommands: []*cli.Command{
			{Name: "send", Usage: "send a message (queued and retried while the node is away)", ArgsUsage: "NODEID MESSAGE",
				Action: withArgs(2, runNotificationsSend)},
			{Name: "read", Usage: "show received notifications, newest first", ArgsUsage: " ",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "unread", Usage: "only those not read yet"},
					&cli.IntFlag{Name: "number", Aliases: []string{"n"}, Usage: "at most `N`"},
					&cli.StringFlag{Name: "order", Value: "newest", Usage: "newest or oldest first"},
				},
				Action: withArgs(0, runNotificationsRead)},
			{Name: "clear", Usage: "delete every received notification", ArgsUsage: " ", Action: withArgs(0, runNotificationsClear)},
		},
	}
}

func runNotificationsSend(c *cli.Context, p printer) error {
	var res agent.NotifySendResult
	params := agent.NotifySendParams{NodeID: c.Args().Get(0), Message: c.Args().Get(1)}
	if err := call(c, "notifications.send", params, nil, nil, &res); err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) {
		if res.Delivered {
			fmt.Fprintln(w, "delivered")
		} else {
			fmt.Fprintln(w, "queued: it will be sent when the node can be reached")
		}
	})
}

func runNotificationsRead(c *cli.Context, p printer) error {
	var res []agent.NotificationItem
	params := agent.NotifyReadParams{Unread: c.Bool("unread"), Number: c.Int("number"), Order: c.String("order")}
	if err := call(c, "notifications.read", params, nil, nil, &res); err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) {
		if len(res) == 0 {
			fmt.Fprintln(w, "(no notifications)")
		}
		for _, n := range res {
			var body any
			_ = json.Unmarshal(n.Data, &body)
			if m, ok := body.(map[string]any); ok {
				switch n.Type {
				case "general":
					body = m["message"]
				case "gestaltInvite":
					body = fmt.Sprintf("invites this node to link with it: pkfs nodes claim %v", m["nodeId"])
				case "vaultShare":
					body = fmt.Sprintf("shares vault %v (%v) with this node (%v): pkfs vaults clone %v %s",
						m["vaultName"], m["vaultId"], joinAny(m["actions"]), m["vaultId"], n.From)
				}
			}
			fmt.Fprintf(w, "%s  %s  from %s\n    %s\n", n.IssuedAt.Local().Format(time.RFC3339), oneLine(n.Type), n.From,
				oneLine(fmt.Sprint(body)))
		}
	})
}

func runNotificationsClear(c *cli.Context, p printer) error {
	if err := call(c, "notifications.clear", nil, nil, nil, nil); err != nil {
		return err
	}
	return p.Print(struct{}{}, func(w io.Writer) { fmt.Fprintln(w, "cleared") })
}

// joinAny joins a JSON array of strings.
func joinAny(v any) string {
	xs, _ := v.([]any)
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		out = append(out, fmt.Sprint(x))
	}
	return strings.Join(out, ", ")
}
