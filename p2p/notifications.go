package p2p

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/pkfs/pkfs/gestalt"
	"github.com/pkfs/pkfs/internal/cryptocore"
	"github.com/pkfs/pkfs/keyring"
)

// Notification types.
const (
	TypeGeneral    = "general"
	TypeVaultShare = "vaultShare"
)

// Limits of notifications.
const (
	MaxNotificationData = 16 << 10
	InboxCap            = 1000
	OutboxCap           = 10000
	maxBackoff          = 5 * time.Minute
)

// Notification is a signed message from one node to another.
type Notification struct {
	ID       string          `json:"id"`
	Type     string          `json:"type"`
	From     keyring.NodeID  `json:"from"`
	To       keyring.NodeID  `json:"to"`
	IssuedAt time.Time       `json:"issuedAt"`
	Data     json.RawMessage `json:"data"`
	Sig      []byte          `json:"signature,omitempty"`
}

// signedBytes is what the signature covers.
func (n Notification) signedBytes() []byte {
	n.Sig = nil
	b, _ := json.Marshal(n)
	return append([]byte("pkfs-notification-v1\x00"), b...)
}

// Verify checks the notification's fields and its sender's signature.
func (n Notification) Verify() error {
	if len(n.ID) != 32 || (n.Type != TypeGeneral && n.Type != TypeVaultShare && n.Type != TypeGestaltInvite) || len(n.Data) > MaxNotificationData {
		return fmt.Errorf("%w: notification fields", ErrBadRequest)
	}
	if keyring.Verify(n.From, n.signedBytes(), n.Sig) != nil {
		return fmt.Errorf("%w: notification signature", ErrPermission)
	}
	return nil
}

// InboxItem is a received notification.
type InboxItem struct {
	Notification Notification `json:"notification"`
	ReceivedAt   time.Time    `json:"receivedAt"`
	Read         bool         `json:"read"`
}

type outboxItem struct {
	Notification Notification `json:"notification"`
	Attempts     int          `json:"attempts"`
	Next         time.Time    `json:"next"`
}

// NewNotification makes and signs a notification to a node.
func (s *System) NewNotification(to keyring.NodeID, typ string, data any) (Notification, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Notification{}, err
	}
	if len(raw) > MaxNotificationData {
		return Notification{}, fmt.Errorf("%w: notification over %d bytes", ErrTooLarge, MaxNotificationData)
	}
	n := Notification{ID: hex.EncodeToString(cryptocore.RandomBytes(16)), Type: typ, From: s.Keyring.NodeID(),
		To: to, IssuedAt: time.Now().UTC().Truncate(time.Millisecond), Data: raw}
	n.Sig, err = s.Keyring.Sign(n.signedBytes())
	return n, err
}

// Delivery says what became of a notification when it was sent.
type Delivery int

// Deliveries.
const (
	// Queued: it waits in the outbox and is retried, with backoff, while
	// the node cannot be reached (or while no agent runs).
	Queued Delivery = iota
	// Delivered: the node stored it.
	Delivered
	// Refused: the node refused it for good (it does not trust us, or the
	// notification is invalid); it was dropped from the outbox.
	Refused
)

// Send queues a notification in the outbox and, when online, tries to
// deliver it at once. It reports whether it was delivered now; a refusal
// is not an error here (see Deliver).
func (s *System) Send(ctx context.Context, n Notification) (bool, error) {
	d, err := s.Deliver(ctx, n)
	if d == Refused {
		return false, nil
	}
	return d == Delivered, err
}

// Deliver queues a notification in the outbox and, when online, tries to
// deliver it at once. A refusal is reported as Refused with the peer's
// reason; the error is for failures to queue it at all.
func (s *System) Deliver(ctx context.Context, n Notification) (Delivery, error) {
	if c, _ := s.outbox.Count(); c >= OutboxCap {
		return Queued, fmt.Errorf("%w: the outbox holds %d notifications", ErrTooLarge, c)
	}
	item := outboxItem{Notification: n, Next: time.Now()}
	b, _ := json.Marshal(item)
	if err := s.outbox.Put([]byte(n.ID), b, true); err != nil {
		return Queued, err
	}
	if !s.Online() {
		return Queued, nil
	}
	switch err := s.deliver(ctx, &item); {
	case err == nil:
		return Delivered, nil
	case refusedForGood(err):
		return Refused, err
	default:
		return Queued, nil
	}
}

func refusedForGood(err error) bool {
	return errors.Is(err, ErrPermission) || errors.Is(err, ErrBadRequest)
}

// deliver sends one outbox item; it drops the item when delivered or
// refused for good, and reschedules it with backoff otherwise.
func (s *System) deliver(ctx context.Context, item *outboxItem) error {
	err := s.Node.Call(ctx, item.Notification.To, "notifications.send", item.Notification, nil, nil)
	if err == nil || refusedForGood(err) {
		if err != nil {
			logf("notification %s refused by %s", item.Notification.ID, item.Notification.To)
		}
		_ = s.outbox.Delete([]byte(item.Notification.ID), false)
		return err
	}
	item.Attempts++
	backoff := time.Second << min(item.Attempts, 16)
	item.Next = time.Now().Add(min(backoff, maxBackoff))
	b, _ := json.Marshal(item)
	_ = s.outbox.Put([]byte(item.Notification.ID), b, false)
	return err
}

func (s *System) outboxLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var due []outboxItem
		_ = s.outbox.ForEach(func(k, v []byte) error {
			var it outboxItem
			if json.Unmarshal(v, &it) == nil && time.Now().After(it.Next) {
				due = append(due, it)
			}
			return nil
		})
		for i := range due {
			cctx, cancel := context.WithTimeout(ctx, CallTimeout)
			_ = s.deliver(cctx, &due[i])
			cancel()
		}
	}
}

// Pending returns the number of notifications waiting in the outbox.
func (s *System) Pending() int { n, _ := s.outbox.Count(); return n }

func (s *System) registerNotifications() {
	s.Node.Handle("notifications.send", func(ctx context.Context, from Peer, body json.RawMessage, _ io.Writer) (any, error) {
		var n Notification
		if err := decodeBody(body, &n); err != nil {
			return nil, err
		}
		if n.From != from.ID || n.To != s.Keyring.NodeID() {
			return nil, fmt.Errorf("%w: notification not from the caller or not for us", ErrPermission)
		}
		if err := n.Verify(); err != nil {
			return nil, err
		}
		if !s.ACL.Allowed(from.ID, gestalt.Notify) {
			logf("dropped a notification from untrusted node %s", from.ID)
			return nil, fmt.Errorf("%w: this node does not take notifications from you", ErrPermission)
		}
		return struct{}{}, s.store(n)
	})
}

// store adds a notification to the inbox, dropping the oldest past the cap.
func (s *System) store(n Notification) error {
	b, _ := json.Marshal(InboxItem{Notification: n, ReceivedAt: time.Now().UTC()})
	if err := s.inbox.Put([]byte(n.ID), b, true); err != nil {
		return err
	}
	items, err := s.Inbox()
	if err != nil || len(items) <= InboxCap {
		return err
	}
	for _, it := range items[:len(items)-InboxCap] {
		_ = s.inbox.Delete([]byte(it.Notification.ID), false)
	}
	return nil
}

// Inbox returns the received notifications, oldest first.
func (s *System) Inbox() ([]InboxItem, error) {
	var out []InboxItem
	err := s.inbox.ForEach(func(k, v []byte) error {
		var it InboxItem
		if err := json.Unmarshal(v, &it); err != nil {
			return fmt.Errorf("%w: inbox record", ErrInternal)
		}
		out = append(out, it)
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].ReceivedAt.Before(out[j].ReceivedAt) })
	return out, err
}

// MarkRead marks notifications read.
func (s *System) MarkRead(items []InboxItem) {
	for _, it := range items {
		if it.Read {
			continue
		}
		it.Read = true
		b, _ := json.Marshal(it)
		_ = s.inbox.Put([]byte(it.Notification.ID), b, false)
	}
}

// ClearInbox deletes every received notification.
func (s *System) ClearInbox() error {
	items, err := s.Inbox()
	if err != nil {
		return err
	}
	for _, it := range items {
		if err := s.inbox.Delete([]byte(it.Notification.ID), false); err != nil {
			return err
		}
	}
	return nil
}
