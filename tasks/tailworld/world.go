package tailworld

import (
	"hash/fnv"
	"math/rand/v2"
	"strings"
)

// Entity is one animal of the world.
type Entity struct {
	Name   string
	Kind   string
	Color  string
	Home   string
	Weight int // kg
	Speed  int // km/h
	Age    int // years
}

// Value returns a numeric attribute.
func (e Entity) Value(a Attr) int {
	switch a {
	case Weight:
		return e.Weight
	case Speed:
		return e.Speed
	case Age:
		return e.Age
	}
	return 0
}

// Word returns a categorical attribute.
func (e Entity) Word(a Attr) string {
	switch a {
	case Color:
		return e.Color
	case Home:
		return e.Home
	case Kind:
		return e.Kind
	}
	return ""
}

// World is the seeded knowledge base.
type World struct {
	Seed     uint64
	Entities []Entity
}

// DefaultEntities is the size of the default world.
const DefaultEntities = 300

// NewWorld builds a world of n entities from seed. Every entity takes its
// name from one small inventory shared by all worlds (nameInventory), so names
// repeat within a world and across worlds, never within a prompt; attributes
// are drawn afresh, so a name tells nothing about its animal and a policy must
// read the facts. The same seed gives the same world on every machine.
//
// Why few names: answering means copying a name from the prompt, and a small
// model learns to copy a token only once it has copied that token often.
// Digits (ten tokens) were copied early in training; 330 single-token names,
// each seen rarely as an answer, were not copied after 1,800 steps, nor 2,400
// names of two or three tokens before that (docs/BASE.md).
func NewWorld(seed uint64, n int) *World {
	inv := nameInventory()
	r := rand.New(rand.NewPCG(seed, 0x776f726c64)) // "world"
	w := &World{Seed: seed, Entities: make([]Entity, 0, n)}
	for range n {
		w.Entities = append(w.Entities, Entity{
			Name:   pick(r, inv),
			Kind:   pick(r, Kinds),
			Color:  pick(r, Colors),
			Home:   pick(r, Homes),
			Weight: 1 + r.IntN(90),
			Speed:  5 + r.IntN(76),
			Age:    1 + r.IntN(20),
		})
	}
	return w
}

// InventorySize is how many names all worlds share: enough that a prompt's
// nine animals rarely exhaust the choice, few enough that each is a frequent
// token.
const InventorySize = 24

// nameInventory returns the shared names: unique two-syllable words drawn
// from a fixed stream, none of them a word of the language.
func nameInventory() []string {
	r := rand.New(rand.NewPCG(0x6e616d6573, 1)) // "names"
	seen := map[string]bool{}
	out := make([]string, 0, InventorySize)
	for len(out) < InventorySize {
		name := syllableName(r)
		if seen[name] || isLexiconWord(name) {
			continue
		}
		seen[name] = true
		out = append(out, name)
	}
	return out
}

var (
	onsets = []string{"b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z"}
	nuclei = []string{"a", "e", "i", "o", "u"}
	codas  = []string{"", "", "", "n", "r", "l"}
)

func syllableName(r *rand.Rand) string {
	var b strings.Builder
	for range 2 {
		b.WriteString(pick(r, onsets) + pick(r, nuclei) + pick(r, codas))
	}
	s := b.String()
	return strings.ToUpper(s[:1]) + s[1:]
}

func isLexiconWord(name string) bool {
	l := strings.ToLower(name)
	for _, list := range [][]string{Kinds, Colors, Homes} {
		for _, w := range list {
			if w == l {
				return true
			}
		}
	}
	return false
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// Hash64 is the FNV-1a hash of the parts, separated, for keying random
// streams by content (prompt text, persona, sample index).
func Hash64(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}
