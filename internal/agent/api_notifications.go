package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pkfs/pkfs/p2p"
)

// NotifySendParams are the parameters of notifications.send.
type NotifySendParams struct {
	NodeID  string `json:"nodeId"`
	Message string `json:"message"`
}

// NotifySendResult says whether the notification went out at once.
type NotifySendResult struct {
	Delivered bool `json:"delivered"`
	Queued    bool `json:"queued"`
}

// NotifyReadParams are the parameters of notifications.read.
type NotifyReadParams struct {
	Unread bool   `json:"unread,omitempty"`
	Number int    `json:"number,omitempty"`
	Order  string `json:"order,omitempty"` // newest (default) or oldest
}

// NotificationItem is one notification of notifications.read.
type NotificationItem struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	From       string          `json:"from"`
	IssuedAt   time.Time       `json:"issuedAt"`
	ReceivedAt time.Time       `json:"receivedAt"`
	Read       bool            `json:"read"`
	Data       json.RawMessage `json:"data"`
}

// generalData is the body of a general notification.
type generalData struct {
	Message string `json:"message"`
}

func init() {
	register("notifications.send", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p NotifySendParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		id, err := parseNode(p.NodeID)
		if err != nil {
			return nil, err
		}
		n, err := s.P2P.NewNotification(id, p2p.TypeGeneral, generalData{Message: p.Message})
		if err != nil {
			return nil, err
		}
		switch d, err := s.P2P.Deliver(ctx, n); d {
		case p2p.Delivered:
			return NotifySendResult{Delivered: true}, nil
		case p2p.Refused:
			return nil, fmt.Errorf("%s refused the notification (it was dropped): %w", id, err)
		default:
			return NotifySendResult{Queued: err == nil}, err
		}
	})
	register("notifications.read", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p NotifyReadParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		if p.Order != "" && p.Order != "newest" && p.Order != "oldest" {
			return nil, Errorf(KindUsage, fmt.Sprintf("order %q: want newest or oldest", p.Order))
		}
		items, err := s.P2P.Inbox()
		if err != nil {
			return nil, err
		}
		var picked []p2p.InboxItem
		for _, it := range items {
			if !p.Unread || !it.Read {
				picked = append(picked, it)
			}
		}
		if p.Order != "oldest" {
			for i, j := 0, len(picked)-1; i < j; i, j = i+1, j-1 {
				picked[i], picked[j] = picked[j], picked[i]
			}
		}
		if p.Number > 0 && len(picked) > p.Number {
			picked = picked[:p.Number]
		}
		out := make([]NotificationItem, 0, len(picked))
		for _, it := range picked {
			n := it.Notification
			out = append(out, NotificationItem{ID: n.ID, Type: n.Type, From: n.From.String(), IssuedAt: n.IssuedAt,
				ReceivedAt: it.ReceivedAt, Read: it.Read, Data: n.Data})
		}
		s.P2P.MarkRead(picked)
		return out, nil
	})
	register("notifications.clear", func(ctx context.Context, s *Service, c *Call) (any, error) {
		return struct{}{}, s.P2P.ClearInbox()
	})
}
