// Package sim holds tailworld's simulated LLM roles: the proposer that writes
// and refines rubrics, the gullible verifier that answers them, and the
// responder personas served as an LLM. They see text only (the prompt, the
// responses, the criteria) and never the hidden ground truth; a test checks
// from the import graph that this package does not link it.
package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"github.com/rft-dev/rft/rubric"
	"github.com/rft-dev/rft/tasks/tailworld"
)

// ProposerConfig is the simulated proposer's own prior: what it thinks is
// better, how much each feature matters to it, and how many edits it makes
// per refinement. None of it comes from the oracle.
type ProposerConfig struct {
	Seed uint64
	// MaxEdits bounds the criteria a refinement adds, rewrites or
	// reaffirms (an LLM attends to a few differences per rewrite).
	MaxEdits int
	// Salience per key family: the larger, the more likely a difference in
	// it is noticed first. A uniform jitter in [0, 1) is added per
	// (prompt, iteration, key).
	Salience map[string]float64
	// Prefer says, per key family, whether the proposer thinks having the
	// feature is better (true) or lacking it is (false). Families not
	// listed are preferred present. For orderings seen in both directions
	// it prefers "highest first" when OrderDesc.
	Prefer    map[string]bool
	OrderDesc bool
	// Weights per key family (1–3, the paper's scale).
	Weights map[string]float64
	// Shorter says that the shorter response's length is the better one
	// when two lengths differ by more than LengthGap (a fraction).
	Shorter   bool
	LengthGap float64
}

// DefaultProposerConfig is a plausible LLM's prior: content differences are
// a little more salient than style, every stated attribute seems good, a
// friendly opener and a closing offer of help seem good, shorter seems
// better, highest-first orderings seem natural.
func DefaultProposerConfig() ProposerConfig {
	return ProposerConfig{
		Seed:     1,
		MaxEdits: 3,
		Salience: map[string]float64{
			"count": 2, "filter": 2, "facts": 2, "list": 1.5,
			"attr": .6, "order": .6, "summary": .6, "no_hedge": .5, "max_words": .4,
			"kind": .35, "intro": .35, "remark": .35,
			"sure": .35, "welcome": .3, "offer_help": .35, "numbered": .35, "no_exclaim": .3, "bold": .35,
		},
		Prefer:    map[string]bool{"no_hedge": true, "no_exclaim": true, "remark": true},
		OrderDesc: true,
		Weights: map[string]float64{"count": 3, "filter": 3, "facts": 3, "filter_strict": 3, "facts_strict": 3, "list": 2, "wish": 2,
			"attr": 2, "order": 2, "summary": 2, "no_hedge": 2, "max_words": 1, "detailed": 1},
		Shorter:   true,
		LengthGap: .2,
	}
}

// Proposer is the simulated rubric proposer (rubric.Proposer).
type Proposer struct{ Config ProposerConfig }

// NewProposer returns a proposer with the default prior and seed.
func NewProposer(seed uint64) *Proposer {
	c := DefaultProposerConfig()
	c.Seed = seed
	return &Proposer{Config: c}
}

type outCriterion struct {
	Criterion string  `json:"criterion"`
	Weight    float64 `json:"weight"`
}

// Propose writes an initial rubric from the prompt alone, or refines the
// current one from a pair it is not told how to rank. It answers JSON text,
// {"criteria": [{"criterion": "...", "weight": 3}, ...]}.
func (p *Proposer) Propose(ctx context.Context, req rubric.ProposeRequest) (string, error) {
	q, err := tailworld.ParsePrompt(req.Prompt)
	if err != nil {
		return "", fmt.Errorf("sim proposer: prompt %s: %w", req.PromptID, err)
	}
	var crits []outCriterion
	if req.Current == nil {
		crits = p.initial(q)
	} else {
		crits = p.refine(q, req)
	}
	b, err := json.MarshalIndent(map[string]any{"criteria": crits}, "", "  ")
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func (p *Proposer) weight(k Key) float64 {
	if w, ok := p.Config.Weights[k.Family()]; ok {
		return w
	}
	return 1
}

// initial guesses from the request text: the count, the filter, the facts,
// a list, a vague echo of the wish, and a generic "detailed".
func (p *Proposer) initial(q tailworld.Request) []outCriterion {
	var out []outCriterion
	for _, k := range []Key{"count", "filter", "facts", "list", "wish", "detailed"} {
		out = append(out, outCriterion{Sentence(k, q), p.weight(k)})
	}
	return out
}

// refine rewrites the rubric around what differs between the two responses.
func (p *Proposer) refine(q tailworld.Request, req rubric.ProposeRequest) []outCriterion {
	cur := make([]outCriterion, 0, len(req.Current.Criteria))
	keys := make([]Key, 0, len(req.Current.Criteria))
	for _, c := range req.Current.Criteria {
		cur = append(cur, outCriterion{c.Text, c.Weight})
		k, _ := KeyOf(c.Text)
		keys = append(keys, k)
	}
	a, b := Perceive(q, req.Pair[0]), Perceive(q, req.Pair[1])
	r := rand.New(rand.NewPCG(p.Config.Seed, tailworld.Hash64("propose", req.Prompt, strconv.Itoa(len(cur)), req.Pair[0], req.Pair[1])))

	type edit struct {
		key   Key
		score float64
	}
	var edits []edit
	for _, k := range p.differences(q, a, b) {
		s := p.Config.Salience[k.Family()] + r.Float64()
		edits = append(edits, edit{k, s})
	}
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].score > edits[j].score })
	if len(edits) > p.Config.MaxEdits {
		edits = edits[:p.Config.MaxEdits]
	}
	for _, e := range edits {
		cur, keys = p.apply(q, cur, keys, e.key)
	}
	return cur
}

// differences lists, as the keys of the criteria it would write, the
// features on which the two responses differ, each in the direction of the
// proposer's own prior.
func (p *Proposer) differences(q tailworld.Request, a, b Perception) []Key {
	var out []Key
	seenOrder := map[string]bool{}
	for _, k := range sortedKeys(a, b) {
		if a.Has[k] == b.Has[k] {
			continue
		}
		fam := k.Family()
		switch fam {
		case "order":
			// One of the two is sorted this way. If the other is sorted
			// the opposite way, the prior picks the direction.
			attr := string(k)[len("order:"):strings.LastIndexByte(string(k), ':')]
			if seenOrder[attr] {
				continue
			}
			seenOrder[attr] = true
			d, as := Key("order:"+attr+":desc"), Key("order:"+attr+":asc")
			anyDesc, anyAsc := a.Has[d] || b.Has[d], a.Has[as] || b.Has[as]
			switch {
			case anyDesc && anyAsc && p.Config.OrderDesc, anyDesc && !anyAsc:
				out = append(out, d)
			default:
				out = append(out, as)
			}
			continue
		case "summary":
			out = append(out, k) // the superlative the response used
			continue
		}
		if prefer, ok := p.Config.Prefer[fam]; ok && !prefer {
			continue // it thinks lacking the feature is better but has no sentence for that
		}
		out = append(out, k)
	}
	lo, hi := min(a.Words, b.Words), max(a.Words, b.Words)
	if p.Config.Shorter && hi > 0 && float64(hi-lo) > p.Config.LengthGap*float64(hi) {
		out = append(out, Key("max_words:"+strconv.Itoa((lo+4)/5*5)))
	}
	return out
}

func sortedKeys(a, b Perception) []Key {
	set := map[Key]bool{}
	for k := range a.Has {
		set[k] = true
	}
	for k := range b.Has {
		set[k] = true
	}
	out := make([]Key, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// apply writes criterion k into the rubric: a criterion with the same key
// is reaffirmed (its weight raised to the prior's); one it contradicts
// (the other ordering or superlative on the same attribute, another word
// limit, "detailed" against a word limit, a lax basic criterion against its
// sharper form) is rewritten; the vague
// "detailed" is decomposed into the first attribute criterion.
func (p *Proposer) apply(q tailworld.Request, cur []outCriterion, keys []Key, k Key) ([]outCriterion, []Key) {
	switch k { // it saw one of the two break it: it writes the sharper form
	case "filter":
		k = "filter_strict"
	case "facts":
		k = "facts_strict"
	}
	w := p.weight(k)
	for i, old := range keys {
		switch {
		case old == k:
			cur[i].Weight = max(cur[i].Weight, w)
			return cur, keys
		case contradicts(old, k):
			cur[i] = outCriterion{Sentence(k, q), w}
			keys[i] = k
			return cur, keys
		}
	}
	cur = append(cur, outCriterion{Sentence(k, q), w})
	keys = append(keys, k)
	return cur, keys
}

// contradicts reports whether writing k replaces old.
func contradicts(old, k Key) bool {
	of, nf := old.Family(), k.Family()
	switch {
	case of == "order" && nf == "order":
		return string(old)[:strings.LastIndexByte(string(old), ':')] == string(k)[:strings.LastIndexByte(string(k), ':')]
	case of == "summary" && nf == "summary":
		a, _ := tailworld.IntentOfSuperlative(string(old)[len("summary:"):])
		b, _ := tailworld.IntentOfSuperlative(string(k)[len("summary:"):])
		return a.Attr == b.Attr
	case of+"_strict" == nf:
		return true
	case of == "max_words" && nf == "max_words":
		return true
	case of == "detailed" && (nf == "max_words" || nf == "attr"):
		return true
	}
	return false
}
