// Package truth is tailworld's ground truth: the hidden gold criteria of each
// prompt, the holistic component no criterion expresses, the oracle reward
// r* and the oracle pairwise judge (the analog of the paper's GPT-4.1).
//
// Nothing that trains, proposes or verifies may import it; only the oracle
// and eval adapters (tasks/tailworld/oracle) do. A test checks the import
// graph.
package truth

import (
	"sort"

	"github.com/rft-dev/rft/tasks/tailworld"
)

// Class says what a gold criterion is about.
type Class string

const (
	Basic   Class = "basic"   // count, constraint, correctness, format
	Tail    Class = "tail"    // what separates excellent from great
	Tension Class = "tension" // concision, pulling against completeness
)

// Gold is one hidden criterion of a prompt.
type Gold struct {
	ID     string
	Class  Class
	Weight float64
	Met    func(rd Reading) bool
}

// WordLimit is the concision bound: an intro, one short line per item and a
// summary fit; an extra attribute per item or two filler sentences do not.
func WordLimit(count int) int { return 14 + 7*count }

// Criteria returns request q's gold criteria.
func Criteria(q tailworld.Request) []Gold {
	some := func(rd Reading) bool { return len(rd.Names) > 0 }
	best := func(names []string) string {
		b := ""
		for _, n := range names {
			if b == "" || better(q, n, b) {
				b = n
			}
		}
		return b
	}
	return []Gold{
		{"count", Basic, 3, func(rd Reading) bool { return len(rd.Names) == q.Count }},
		{"constraint", Basic, 3, func(rd Reading) bool {
			for _, n := range rd.Names {
				if e, _ := q.Lookup(n); !q.Filter.Holds(e) {
					return false
				}
			}
			return some(rd)
		}},
		{"correct", Basic, 3, func(rd Reading) bool {
			for _, c := range rd.Claims {
				if !c.Right {
					return false
				}
			}
			return some(rd) && rd.UnknownCap == 0
		}},
		{"format", Basic, 2, func(rd Reading) bool { return rd.ListOK }},
		{"attribute", Tail, 2, func(rd Reading) bool {
			stated := map[string]bool{}
			for _, c := range rd.Claims {
				if c.Attr == q.Intent.Attr {
					if !c.Right {
						return false
					}
					stated[c.Name] = true
				}
			}
			for _, n := range rd.Names {
				if !stated[n] {
					return false
				}
			}
			return some(rd)
		}},
		{"order", Tail, 2, func(rd Reading) bool {
			if len(rd.Names) < 2 {
				return false
			}
			for i := 1; i < len(rd.Names); i++ {
				if !better(q, rd.Names[i-1], rd.Names[i]) {
					return false
				}
			}
			return true
		}},
		{"summary", Tail, 1, func(rd Reading) bool {
			return len(rd.Summary) > 0 && !rd.OtherSup && rd.Summary[0] == best(rd.Names)
		}},
		{"no_hedging", Tail, 1, func(rd Reading) bool { return some(rd) && !rd.Hedged }},
		{"concise", Tension, 2, func(rd Reading) bool { return some(rd) && rd.Words <= WordLimit(q.Count) }},
	}
}

// better reports whether fact a ranks above fact b under q's wish.
func better(q tailworld.Request, a, b string) bool {
	ea, _ := q.Lookup(a)
	eb, _ := q.Lookup(b)
	if q.Intent.Desc {
		return ea.Value(q.Intent.Attr) > eb.Value(q.Intent.Attr)
	}
	return ea.Value(q.Intent.Attr) < eb.Value(q.Intent.Attr)
}

// Holistic is the part of quality no criterion expresses: judgment (the items
// picked are the best ones for the wish, among all that pass the filter) and
// coherence (every item line follows one template, nothing is said twice).
// It is in [0, 1].
func Holistic(q tailworld.Request, rd Reading) float64 {
	elig := q.Eligible()
	sort.SliceStable(elig, func(i, j int) bool { return better(q, elig[i].Name, elig[j].Name) })
	top := map[string]bool{}
	for _, e := range elig[:min(q.Count, len(elig))] {
		top[e.Name] = true
	}
	hit := 0
	for _, n := range rd.Names {
		if top[n] {
			hit++
		}
	}
	judgment := float64(hit) / float64(max(q.Count, len(rd.Names)))
	coherence := 0.0
	if rd.ItemLines > 0 && !rd.Duplicate {
		coherence = 1
		for _, s := range rd.Shapes {
			if s != rd.Shapes[0] {
				coherence = 0
			}
		}
	}
	return 0.6*judgment + 0.4*coherence
}

// HolisticShare is the weight of the holistic component in r*.
const HolisticShare = 0.2

// Score is the oracle's full view of one response.
type Score struct {
	RStar    float64         // (1-HolisticShare)·gold + HolisticShare·holistic, in [0, 1]
	Gold     float64         // weighted share of gold criteria met
	Holistic float64         //
	Met      map[string]bool // per gold criterion id
}

// Evaluate scores a response to request q.
func Evaluate(q tailworld.Request, response string) Score {
	rd := Read(q, response)
	s := Score{Met: map[string]bool{}}
	var got, total float64
	for _, g := range Criteria(q) {
		ok := g.Met(rd)
		s.Met[g.ID] = ok
		total += g.Weight
		if ok {
			got += g.Weight
		}
	}
	s.Gold = got / total
	s.Holistic = Holistic(q, rd)
	s.RStar = (1-HolisticShare)*s.Gold + HolisticShare*s.Holistic
	return s
}

// RStar is the oracle reward of a response to a prompt text.
func RStar(prompt, response string) (float64, error) {
	q, err := tailworld.ParsePrompt(prompt)
	if err != nil {
		return 0, err
	}
	return Evaluate(q, response).RStar, nil
}

// Compare is the oracle pairwise judge: +1 when a is better, -1 when b is, 0
// on a tie. It is strict and has no position bias, so order needs no flip.
func Compare(prompt, a, b string) (int, error) {
	q, err := tailworld.ParsePrompt(prompt)
	if err != nil {
		return 0, err
	}
	ra, rb := Evaluate(q, a).RStar, Evaluate(q, b).RStar
	switch {
	case ra > rb+1e-9:
		return 1, nil
	case rb > ra+1e-9:
		return -1, nil
	}
	return 0, nil
}
