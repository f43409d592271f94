package gestalt

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pkfs/pkfs/internal/kvstore"
	"github.com/pkfs/pkfs/keyring"
)

// Action is something a node may be allowed to do.
type Action string

// Gestalt actions and vault actions.
const (
	Notify Action = "notify"
	Scan   Action = "scan"
	Claim  Action = "claim"
	Clone  Action = "clone"
	Pull   Action = "pull"
)

// ErrInvalidAction is returned for an unknown action, or one used where it
// does not apply.
var ErrInvalidAction = errors.New("invalid action")

// GestaltActions and VaultActions list the valid actions of each kind.
var (
	GestaltActions = []Action{Notify, Scan, Claim}
	VaultActions   = []Action{Clone, Pull}
)

// ParseAction checks that s is one of allowed.
func ParseAction(s string, allowed []Action) (Action, error) {
	a := Action(strings.ToLower(s))
	if !slices.Contains(allowed, a) {
		names := make([]string, len(allowed))
		for i, x := range allowed {
			names[i] = string(x)
		}
		return "", fmt.Errorf("%w %q: want one of %s", ErrInvalidAction, s, strings.Join(names, ", "))
	}
	return a, nil
}

// ACL stores permissions. It is safe for concurrent use (the store is).
type ACL struct {
	nodes  *kvstore.Bucket // node ID → []Action
	vaults *kvstore.Bucket // vault ID text + "/" + node ID → []Action
}

// NewACL returns the ACL kept in db.
func NewACL(db *kvstore.DB) *ACL {
	return &ACL{nodes: db.Bucket("acl/nodes"), vaults: db.Bucket("acl/vaults")}
}

func getActions(b *kvstore.Bucket, k []byte) ([]Action, error) {
	v, err := b.Get(k)
	if errors.Is(err, kvstore.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var as []Action
	if err := json.Unmarshal(v, &as); err != nil {
		return nil, fmt.Errorf("%w: permission record", kvstore.ErrDamaged)
	}
	return as, nil
}

func putActions(b *kvstore.Bucket, k []byte, as []Action) error {
	if len(as) == 0 {
		return b.Delete(k, true)
	}
	sort.Slice(as, func(i, j int) bool { return as[i] < as[j] })
	v, _ := json.Marshal(slices.Compact(as))
	return b.Put(k, v, true)
}

// Allow grants a gestalt action to a node.
func (a *ACL) Allow(id keyring.NodeID, act Action) error {
	if _, err := ParseAction(string(act), GestaltActions); err != nil {
		return err
	}
	as, err := getActions(a.nodes, id[:])
	if err != nil {
		return err
	}
	return putActions(a.nodes, id[:], append(as, act))
}

// Disallow revokes a gestalt action from a node.
func (a *ACL) Disallow(id keyring.NodeID, act Action) error {
	if _, err := ParseAction(string(act), GestaltActions); err != nil {
		return err
	}
	as, err := getActions(a.nodes, id[:])
	if err != nil {
		return err
	}
	return putActions(a.nodes, id[:], slices.DeleteFunc(as, func(x Action) bool { return x == act }))
}

// Permissions returns the gestalt actions of a node.
func (a *ACL) Permissions(id keyring.NodeID) ([]Action, error) {
	as, err := getActions(a.nodes, id[:])
	if as == nil {
		as = []Action{}
	}
	return as, err
}

// Allowed reports whether a node has a gestalt action. Errors deny.
func (a *ACL) Allowed(id keyring.NodeID, act Action) bool {
	as, err := getActions(a.nodes, id[:])
	return err == nil && slices.Contains(as, act)
}

func vaultKey(vault string, id keyring.NodeID) []byte { return []byte(vault + "/" + id.String()) }

// SetVault sets the vault actions of a node on a vault (none: revoke).
func (a *ACL) SetVault(vault string, id keyring.NodeID, acts []Action) error {
	for _, x := range acts {
		if _, err := ParseAction(string(x), VaultActions); err != nil {
			return err
		}
	}
	return putActions(a.vaults, vaultKey(vault, id), slices.Clone(acts))
}

// VaultAllowed reports whether a node has a vault action on a vault.
func (a *ACL) VaultAllowed(vault string, id keyring.NodeID, act Action) bool {
	as, err := getActions(a.vaults, vaultKey(vault, id))
	return err == nil && slices.Contains(as, act)
}

// VaultPermissions returns, for one vault, each node's vault actions.
func (a *ACL) VaultPermissions(vault string) (map[keyring.NodeID][]Action, error) {
	out := map[keyring.NodeID][]Action{}
	err := a.vaults.ForEach(func(k, v []byte) error {
		vs, ids, ok := strings.Cut(string(k), "/")
		if !ok || vs != vault {
			return nil
		}
		id, err := keyring.ParseNodeID(ids)
		if err != nil {
			return fmt.Errorf("%w: permission record", kvstore.ErrDamaged)
		}
		var as []Action
		if err := json.Unmarshal(v, &as); err != nil {
			return fmt.Errorf("%w: permission record", kvstore.ErrDamaged)
		}
		out[id] = as
		return nil
	})
	return out, err
}

// VaultsOf returns the vaults a node has actions on, with the actions.
func (a *ACL) VaultsOf(id keyring.NodeID) (map[string][]Action, error) {
	out := map[string][]Action{}
	suffix := "/" + id.String()
	err := a.vaults.ForEach(func(k, v []byte) error {
		vs, ok := strings.CutSuffix(string(k), suffix)
		if !ok {
			return nil
		}
		var as []Action
		if err := json.Unmarshal(v, &as); err != nil {
			return fmt.Errorf("%w: permission record", kvstore.ErrDamaged)
		}
		out[vs] = as
		return nil
	})
	return out, err
}

// DropVault removes every permission on a vault (it was deleted).
func (a *ACL) DropVault(vault string) error {
	perms, err := a.VaultPermissions(vault)
	if err != nil {
		return err
	}
	for id := range perms {
		if err := a.vaults.Delete(vaultKey(vault, id), false); err != nil {
			return err
		}
	}
	return nil
}
