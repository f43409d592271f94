package gestalt

import (
	"testing"

	"github.com/pkfs/pkfs/internal/cryptocore"
	"github.com/pkfs/pkfs/internal/kvstore"
)

func TestGraphLinks(t *testing.T) {
	db, _ := kvstore.Open(t.TempDir(), cryptocore.NewRandomKey())
	defer db.Close()
	g := NewGraph(db, nodeID(1))
	a, b, c := NodeVertex(nodeID(1)), NodeVertex(nodeID(2)), NodeVertex(nodeID(3))
	alice := IdentityVertex("github.com", "alice")
	g.Set(a, []Vertex{b, alice})
	if got := g.Gestalt(a); len(got) != 1 {
		t.Fatalf("a's gestalt before b and alice are known (a side not known does not agree): %v", got)
	}
	g.Set(alice, []Vertex{a})
	g.Set(b, []Vertex{a, c})
	if got := g.Gestalt(c); len(got) != 1 {
		t.Fatalf("gestalt of c before c is known: %v", got)
	}
	g.Set(c, []Vertex{b})
	if got := g.Gestalt(c); len(got) != 4 {
		t.Fatalf("gestalt of c: %v", got)
	}
	// b unlinks a: the link is gone from both sides' view
	g.Set(b, []Vertex{c})
	if got := g.Gestalt(a); len(got) != 2 || got[0] == b || got[1] == b {
		t.Fatalf("after unlink: %v", got)
	}
	// a node claiming an identity that does not claim it back is not linked
	g.Set(c, []Vertex{b, IdentityVertex("github.com", "bob")})
	g.Set(IdentityVertex("github.com", "bob"), nil)
	for _, v := range g.Gestalt(c) {
		if v == IdentityVertex("github.com", "bob") {
			t.Fatal("unconfirmed identity linked")
		}
	}
	all, _ := g.All()
	if len(all) != 3 {
		t.Fatalf("all gestalts: %v", all)
	}
}
