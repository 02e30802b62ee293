package rubric

import (
	"encoding/json"
	"strings"
	"unicode"
)

// Diff says how a refinement changed a rubric, in the paper's terms: criteria
// added, deleted, rewritten (one old criterion became one new one, or only
// its weight changed) or decomposed (one old criterion became several).
type Diff struct {
	Added      []Criterion     `json:"added,omitempty"`
	Deleted    []Criterion     `json:"deleted,omitempty"`
	Rewritten  []Rewrite       `json:"rewritten,omitempty"`
	Decomposed []Decomposition `json:"decomposed,omitempty"`
	Kept       int             `json:"kept"`
}

// Rewrite is one criterion replaced by one other.
type Rewrite struct {
	From Criterion `json:"from"`
	To   Criterion `json:"to"`
}

// Decomposition is one criterion split into several.
type Decomposition struct {
	From Criterion   `json:"from"`
	Into []Criterion `json:"into"`
}

// Empty reports whether the rubric did not change (order aside).
func (d *Diff) Empty() bool {
	return len(d.Added)+len(d.Deleted)+len(d.Rewritten)+len(d.Decomposed) == 0
}

// matchThreshold is the overlap (shared content words over the smaller
// criterion's) above which a new criterion counts as derived from an old
// one. At 0.5 a rewrite keeps its subject ("Cites a source" → "Cites a
// specific, verifiable source") while a criterion about something else does
// not match.
const matchThreshold = 0.5

// DiffRubrics compares two rubrics. Identical texts (case and space aside)
// are kept, or rewritten when the weight or check changed; each remaining new
// criterion is attributed to the old one it shares most content words with
// (at least half of the smaller one's), and the old ones are then classified by how
// many new criteria they received: none deleted, one rewritten, more
// decomposed. New criteria attributed to none are added.
func DiffRubrics(old, new *Rubric) Diff {
	var d Diff
	oldUsed := make([]bool, len(old.Criteria))
	newUsed := make([]bool, len(new.Criteria))
	for j, n := range new.Criteria {
		for i, o := range old.Criteria {
			if oldUsed[i] || normText(o.Text) != normText(n.Text) {
				continue
			}
			oldUsed[i], newUsed[j] = true, true
			if o.Weight != n.Weight || !sameCheck(o.Check, n.Check) {
				d.Rewritten = append(d.Rewritten, Rewrite{From: o, To: n})
			} else {
				d.Kept++
			}
			break
		}
	}
	oldWords := make([]map[string]bool, len(old.Criteria))
	for i, o := range old.Criteria {
		oldWords[i] = contentWords(o.Text)
	}
	into := make([][]Criterion, len(old.Criteria))
	for j, n := range new.Criteria {
		if newUsed[j] {
			continue
		}
		nw := contentWords(n.Text)
		best, bestScore := -1, 0.0
		for i := range old.Criteria {
			if oldUsed[i] || len(nw) == 0 {
				continue
			}
			common := 0
			for w := range nw {
				if oldWords[i][w] {
					common++
				}
			}
			// The overlap coefficient: a part split off an old criterion is
			// contained in it, an expanded rewrite contains it.
			if s := float64(common) / float64(min(len(nw), len(oldWords[i]))); common > 0 && s >= matchThreshold && s > bestScore {
				best, bestScore = i, s
			}
		}
		if best < 0 {
			d.Added = append(d.Added, n)
			continue
		}
		into[best] = append(into[best], n)
	}
	for i, o := range old.Criteria {
		if oldUsed[i] {
			continue
		}
		switch len(into[i]) {
		case 0:
			d.Deleted = append(d.Deleted, o)
		case 1:
			d.Rewritten = append(d.Rewritten, Rewrite{From: o, To: into[i][0]})
		default:
			d.Decomposed = append(d.Decomposed, Decomposition{From: o, Into: into[i]})
		}
	}
	return d
}

func sameCheck(a, b *Check) bool {
	if a == nil || b == nil {
		return a == b
	}
	// Marshalled args compare regardless of map order and of JSON (float64)
	// versus YAML (int) numbers.
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func normText(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// stopWords are dropped before comparing criteria: function words, and the
// words every criterion uses ("response", "answer"), which would otherwise
// make unrelated criteria look alike.
var stopWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an the and or of to in on for with by at from as is are be it its this that
		these those does do not no than then which who whom whose if so such any all each every some
		response answer reply user prompt should must clearly explicitly`) {
		stopWords[w] = true
	}
}

func contentWords(s string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		if !stopWords[w] {
			out[w] = true
		}
	}
	return out
}
