package gestalt

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pkfs/pkfs/internal/kvstore"
	"github.com/pkfs/pkfs/keyring"
)

// Action is something a node may be allowed to do.
type Action string

// Gestalt actions and vault actions.
const (
	Notify    Action = "notify"
	Scan      Action = "scan"
	ClaimPerm Action = "claim"
	Clone     Action = "clone"
	Pull      Action = "pull"
)

// ErrInvalidAction is returned for an unknown action, or one used where it
// does not apply.
var ErrInvalidAction = errors.New("invalid action")

// GestaltActions and VaultActions list the valid actions of each kind.
var (
	GestaltActions = []Action{Notify, Scan, ClaimPerm}
	VaultActions   = []Action{Clone, Pull}
)

// Self stands for this node's own gestalt in vault permissions: a vault
// shared with Self is visible to every node linked to us.
const Self Vertex = "self"

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

// ACL stores permissions per vertex (node or identity) and answers for
// whole gestalts: a node may do what any vertex of its gestalt was allowed,
// so a node linked later gains it and an unlinked node loses it. It is safe
// for concurrent use.
type ACL struct {
	// followers caches Followers per vault; entries are valid while the
	// ACL's and the graph's versions are those they were computed at.
	fmu       sync.Mutex
	followers map[string]followersEntry
	version   atomic.Uint64

	vertices *kvstore.Bucket // vertex → []Action
	vaults   *kvstore.Bucket // vault ID text + "/" + vertex → []Action
	graph    *Graph
	self     keyring.NodeID
}

// NewACL returns the ACL kept in db, over the gestalt graph g (nil: every
// node is its own gestalt).
func NewACL(db *kvstore.DB, g *Graph) *ACL {
	a := &ACL{vertices: db.Bucket("acl/vertices"), vaults: db.Bucket("acl/vaults"), graph: g}
	if g != nil {
		a.self = g.self
	}
	return a
}

// members returns the gestalt of v.
func (a *ACL) members(v Vertex) []Vertex {
	if a.graph == nil {
		return []Vertex{v}
	}
	return a.graph.Gestalt(v)
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

// AllowVertex grants a gestalt action to v's gestalt.
func (a *ACL) AllowVertex(v Vertex, act Action) error {
	if _, err := ParseAction(string(act), GestaltActions); err != nil {
		return err
	}
	as, err := getActions(a.vertices, []byte(v))
	if err != nil {
		return err
	}
	return putActions(a.vertices, []byte(v), append(as, act))
}

// DisallowVertex revokes a gestalt action from every vertex of v's gestalt.
func (a *ACL) DisallowVertex(v Vertex, act Action) error {
	if _, err := ParseAction(string(act), GestaltActions); err != nil {
		return err
	}
	for _, m := range a.members(v) {
		as, err := getActions(a.vertices, []byte(m))
		if err != nil {
			return err
		}
		if slices.Contains(as, act) {
			if err := putActions(a.vertices, []byte(m), slices.DeleteFunc(as, func(x Action) bool { return x == act })); err != nil {
				return err
			}
		}
	}
	return nil
}

// PermissionsOf returns the gestalt actions v's gestalt has.
func (a *ACL) PermissionsOf(v Vertex) ([]Action, error) {
	out := []Action{}
	for _, m := range a.members(v) {
		as, err := getActions(a.vertices, []byte(m))
		if err != nil {
			return nil, err
		}
		out = append(out, as...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return slices.Compact(out), nil
}

// Allow grants a gestalt action to a node (and so to its gestalt).
func (a *ACL) Allow(id keyring.NodeID, act Action) error { return a.AllowVertex(NodeVertex(id), act) }

// Disallow revokes a gestalt action from a node's gestalt.
func (a *ACL) Disallow(id keyring.NodeID, act Action) error {
	return a.DisallowVertex(NodeVertex(id), act)
}

// Permissions returns the gestalt actions of a node's gestalt.
func (a *ACL) Permissions(id keyring.NodeID) ([]Action, error) {
	return a.PermissionsOf(NodeVertex(id))
}

// Allowed reports whether a node's gestalt has a gestalt action. Errors deny.
func (a *ACL) Allowed(id keyring.NodeID, act Action) bool {
	as, err := a.Permissions(id)
	return err == nil && slices.Contains(as, act)
}

func vaultKey(vault string, v Vertex) []byte { return []byte(vault + "/" + string(v)) }

type followersEntry struct {
	aclVer, graphVer uint64
	ids              []keyring.NodeID
}

func (a *ACL) graphVersion() uint64 {
	if a.graph == nil {
		return 0
	}
	return a.graph.version.Load()
}

// SetVaultFor sets the vault actions of a vertex (or Self) on a vault;
// none revokes.
func (a *ACL) SetVaultFor(vault string, v Vertex, acts []Action) error {
	for _, x := range acts {
		if _, err := ParseAction(string(x), VaultActions); err != nil {
			return err
		}
	}
	defer a.version.Add(1)
	return putActions(a.vaults, vaultKey(vault, v), slices.Clone(acts))
}

// SetVault sets the vault actions of a node on a vault.
func (a *ACL) SetVault(vault string, id keyring.NodeID, acts []Action) error {
	return a.SetVaultFor(vault, NodeVertex(id), acts)
}

// vaultActions returns the vault actions a node has on a vault through its
// gestalt, and through Self when it is linked to us.
func (a *ACL) vaultActions(vault string, id keyring.NodeID) []Action {
	var out []Action
	ms := a.members(NodeVertex(id))
	for _, m := range ms {
		as, _ := getActions(a.vaults, vaultKey(vault, m))
		out = append(out, as...)
	}
	if !a.self.IsZero() && id != a.self && slices.Contains(ms, NodeVertex(a.self)) {
		as, _ := getActions(a.vaults, vaultKey(vault, Self))
		out = append(out, as...)
	}
	return out
}

// VaultAllowed reports whether a node may do a vault action on a vault.
func (a *ACL) VaultAllowed(vault string, id keyring.NodeID, act Action) bool {
	return slices.Contains(a.vaultActions(vault, id), act)
}

// VaultPermissions returns, for one vault, each vertex's vault actions.
func (a *ACL) VaultPermissions(vault string) (map[Vertex][]Action, error) {
	out := map[Vertex][]Action{}
	err := a.vaults.ForEach(func(k, v []byte) error {
		vs, vx, ok := strings.Cut(string(k), "/")
		if !ok || vs != vault {
			return nil
		}
		var as []Action
		if err := json.Unmarshal(v, &as); err != nil {
			return fmt.Errorf("%w: permission record", kvstore.ErrDamaged)
		}
		out[Vertex(vx)] = as
		return nil
	})
	return out, err
}

// Followers returns the nodes that may pull a vault: the nodes of every
// gestalt it is shared with (and of ours, when shared with Self).
// It is asked after every commit, so the answer is cached until the
// permissions or the gestalt graph change.
func (a *ACL) Followers(vault string) ([]keyring.NodeID, error) {
	av, gv := a.version.Load(), a.graphVersion()
	a.fmu.Lock()
	if e, ok := a.followers[vault]; ok && e.aclVer == av && e.graphVer == gv {
		a.fmu.Unlock()
		return slices.Clone(e.ids), nil
	}
	a.fmu.Unlock()
	ids, err := a.followersNow(vault)
	if err != nil {
		return nil, err
	}
	a.fmu.Lock()
	if a.followers == nil {
		a.followers = map[string]followersEntry{}
	}
	a.followers[vault] = followersEntry{aclVer: av, graphVer: gv, ids: ids}
	a.fmu.Unlock()
	return slices.Clone(ids), nil
}

func (a *ACL) followersNow(vault string) ([]keyring.NodeID, error) {
	perms, err := a.VaultPermissions(vault)
	if err != nil {
		return nil, err
	}
	seen := map[keyring.NodeID]bool{}
	for v, as := range perms {
		if !slices.Contains(as, Pull) {
			continue
		}
		if v == Self {
			v = NodeVertex(a.self)
		}
		for _, m := range a.members(v) {
			if id, ok := m.Node(); ok && id != a.self {
				seen[id] = true
			}
		}
	}
	out := make([]keyring.NodeID, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	return out, nil
}

// VaultsOf returns the vaults a node may act on, with the actions.
func (a *ACL) VaultsOf(id keyring.NodeID) (map[string][]Action, error) {
	vaults := map[string]bool{}
	err := a.vaults.ForEach(func(k, _ []byte) error {
		if vs, _, ok := strings.Cut(string(k), "/"); ok {
			vaults[vs] = true
		}
		return nil
	})
	out := map[string][]Action{}
	for v := range vaults {
		if as := a.vaultActions(v, id); len(as) > 0 {
			sort.Slice(as, func(i, j int) bool { return as[i] < as[j] })
			out[v] = slices.Compact(as)
		}
	}
	return out, err
}

// DropVault removes every permission on a vault (it was deleted).
func (a *ACL) DropVault(vault string) error {
	perms, err := a.VaultPermissions(vault)
	if err != nil {
		return err
	}
	for v := range perms {
		a.version.Add(1)
		if err := a.vaults.Delete(vaultKey(vault, v), false); err != nil {
			return err
		}
	}
	return nil
}
