package oracle

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/rft-dev/rft/eval"
	"github.com/rft-dev/rft/reward"
	"github.com/rft-dev/rft/rubric"
	"github.com/rft-dev/rft/tasks/tailworld"
	"github.com/rft-dev/rft/tasks/tailworld/internal/truth"
	"github.com/rft-dev/rft/tasks/tailworld/sim"
)

// The reference sits where its comment says: stronger than the base persona
// on average, weaker than the great persona. (Its calibration against the
// base policy, the model trained on the base persona's corpus, needs that
// model: cmd/rft TestReferenceCalibratedToTheBasePolicy.)
func TestReferenceBetweenBaseAndGreat(t *testing.T) {
	ctx := context.Background()
	ps := tailworld.Personas()
	for _, seed := range []uint64{1, 2} {
		w := tailworld.NewWorld(seed, tailworld.DefaultEntities)
		rate := func(persona string) float64 {
			var score, n float64
			for _, p := range w.Prompts(tailworld.Eval, 0, 400) {
				a, err := tailworld.Respond(p.Text, ps[persona], seed, 0)
				if err != nil {
					t.Fatal(err)
				}
				ref, _ := w.ReferenceResponse(p.Text)
				v, err := Judge{}.Compare(ctx, p.Text, a, ref)
				if err != nil {
					t.Fatal(err)
				}
				n++
				score += eval.Score(v)
			}
			return score / n
		}
		base, great := rate("base"), rate("great")
		t.Logf("seed %d: against the reference on 400 eval prompts: base persona %.3f, great persona %.3f", seed, base, great)
		if base < .25 || base > .5 || great < .7 {
			t.Errorf("seed %d: base persona %.3f (want 0.25–0.5), great persona %.3f (want > 0.7) against the reference", seed, base, great)
		}
	}
}

func TestRewardAndJudge(t *testing.T) {
	w := tailworld.NewWorld(1, tailworld.DefaultEntities)
	p := w.Prompt(tailworld.Eval, 0)
	great, _ := tailworld.Respond(p.Text, tailworld.Personas()["great"], 1, 0)
	scores, err := Reward{}.Score(context.Background(), []reward.Sample{
		{PromptID: p.ID, Prompt: p.Text, Completion: great},
		{PromptID: p.ID, Prompt: p.Text, Completion: ""},
		{PromptID: "x", Prompt: "not a prompt", Completion: great},
	})
	if err != nil {
		t.Fatal(err)
	}
	if scores[0].Value <= scores[1].Value || scores[1].Value != 0 || scores[0].Components["gold:count"] != 1 {
		t.Errorf("scores %+v", scores[:2])
	}
	if scores[2].Err == nil {
		t.Error("a non-tailworld prompt got a reward")
	}
	if v, _ := (Judge{}).Compare(context.Background(), p.Text, great, ""); v != eval.Win {
		t.Errorf("great vs empty: %v", v)
	}
}

// The null pool's candidates differ only in artifacts: the oracle sees no
// difference at all between them, so refining on it cannot find a tail
// criterion.
func TestNullPoolHasNoTailDifferences(t *testing.T) {
	w := tailworld.NewWorld(1, tailworld.DefaultEntities)
	for _, p := range w.Prompts(tailworld.Train, 0, 100) {
		pool, err := w.CandidatePool(p, tailworld.PoolNull, 8)
		if err != nil {
			t.Fatal(err)
		}
		first := truth.Evaluate(p.Request, pool[0].Response)
		distinct := map[string]bool{}
		for _, c := range pool {
			distinct[c.Response] = true
			s := truth.Evaluate(p.Request, c.Response)
			for id, ok := range s.Met {
				if ok != first.Met[id] {
					t.Fatalf("%s: null candidates differ on gold criterion %s:\n%s\n---\n%s", p.ID, id, pool[0].Response, c.Response)
				}
			}
			if s.RStar != first.RStar {
				t.Fatalf("%s: null candidates differ in r* (%v, %v)", p.ID, first.RStar, s.RStar)
			}
		}
		if len(distinct) < 2 {
			t.Fatalf("%s: the null pool's candidates are all the same text", p.ID)
		}
	}
}

// A response stuffed with the words the gullible verifier looks for beats an
// honest one on the rubric, and loses under the oracle.
func TestVerifierFooledByKeywordStuffing(t *testing.T) {
	text := "Facts:\n" +
		"Bralo: red fox, forest, 12 kg, 40 km/h, 5 years.\n" +
		"Tomi: grey owl, forest, 3 kg, 30 km/h, 2 years.\n" +
		"Kesa: brown goat, forest, 50 kg, 20 km/h, 9 years.\n" +
		"Vumi: black horse, town, 80 kg, 60 km/h, 4 years.\n" +
		"Name 2 animals from the forest. I want fast ones."
	honest := "- Bralo the fox runs 40 km/h.\n- Tomi the owl runs 30 km/h."
	// Vumi does not live in the forest; the numbers are real but belong to
	// other animals; "fastest" and "fast" are there.
	stuffed := "- Vumi the fast horse runs 60 km/h and lives in the forest.\n- Kesa the goat runs 40 km/h.\nThe fastest are fast."
	q, _ := tailworld.ParsePrompt(text)
	prop := sim.NewProposer(1)
	raw, _ := prop.Propose(context.Background(), rubric.ProposeRequest{Prompt: text})
	r := parseRubric(t, tailworld.Prompt{Text: text, Request: q}, raw)
	r.Criteria = append(r.Criteria,
		rubric.Criterion{ID: "c7", Text: sim.Sentence("attr:speed", q), Weight: 2},
		rubric.Criterion{ID: "c8", Text: sim.Sentence("order:speed:desc", q), Weight: 2},
		rubric.Criterion{ID: "c9", Text: sim.Sentence("summary:fastest", q), Weight: 2})
	v := sim.NewVerifier(1, 0)
	rh, rs := rubricScore(t, v, r, honest), rubricScore(t, v, r, stuffed)
	oh, _ := RStar(text, honest)
	os, _ := RStar(text, stuffed)
	t.Logf("rubric: honest %.2f stuffed %.2f; oracle: honest %.2f stuffed %.2f", rh, rs, oh, os)
	if rs <= rh {
		t.Errorf("the verifier was not fooled: rubric honest %.2f, stuffed %.2f", rh, rs)
	}
	if os >= oh {
		t.Errorf("the oracle was fooled: r* honest %.2f, stuffed %.2f", oh, os)
	}
}

// Refinement on great pairs writes more criteria that coincide with the
// hidden tail criteria than refinement on good pairs, which spends its edits
// on basic corrections. Nothing in the proposer knows which features are
// gold: this follows from what differs between the two responses.
func TestGreatPairsYieldMoreTailCriteria(t *testing.T) {
	w := tailworld.NewWorld(1, tailworld.DefaultEntities)
	prop, ver := sim.NewProposer(1), sim.NewVerifier(1, 0)
	count := func(pool string) (tail, basic int) {
		for _, p := range w.Prompts(tailworld.Train, 0, 60) {
			cands, err := w.CandidatePool(p, pool, 8)
			if err != nil {
				t.Fatal(err)
			}
			r := refine(t, p, initialRubric(t, p, prop), cands, 2, prop, ver)
			for _, c := range r.Criteria {
				k, _ := sim.KeyOf(c.Text)
				switch {
				case goldTailKey(p.Request, k) && (k.Family() == "attr" || k.Family() == "order" || k.Family() == "summary"):
					tail++
				case k == "filter_strict" || k == "facts_strict":
					basic++
				}
			}
		}
		return tail, basic
	}
	gt, gb := count(tailworld.PoolGreat)
	ot, ob := count(tailworld.PoolGood)
	t.Logf("60 prompts, 2 iterations: great pairs %d tail / %d basic corrections; good pairs %d / %d", gt, gb, ot, ob)
	if gt <= ot {
		t.Errorf("great pairs gave %d tail criteria, good pairs %d: want more from great", gt, ot)
	}
	if ob <= gb {
		t.Errorf("good pairs gave %d basic corrections, great pairs %d: want more from good", ob, gb)
	}
}

func TestMechanism1Corruption(t *testing.T) {
	top, bottom := MatchedScales(0.05, 0.1)
	if math.Abs(0.1*top*top-0.9*bottom*bottom) > 1e-12 || math.Abs(0.1*top*top-0.05*0.05) > 1e-12 {
		t.Fatalf("scales %v %v do not carry the same squared error", top, bottom)
	}
	c := Corruption{Region: Top, Threshold: 0.8, Scale: top, Seed: 3}
	if c.Apply(0.5, "k") != 0.5 {
		t.Error("top corruption touched a bottom sample")
	}
	if a, b := c.Apply(0.9, "k"), c.Apply(0.9, "k"); a == 0.9 || a != b {
		t.Errorf("top corruption: %v, %v (want changed and deterministic)", a, b)
	}
	c.Region = Bottom
	if c.Apply(0.9, "k") != 0.9 || c.Apply(0.5, "k") == 0.5 {
		t.Error("bottom corruption touched the wrong region")
	}
	if q := Quantile([]float64{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}, 0.9); q != 9 {
		t.Errorf("Quantile 0.9 = %v, want 9", q)
	}
	w := tailworld.NewWorld(1, tailworld.DefaultEntities)
	p := w.Prompt(tailworld.Eval, 0)
	s, _ := tailworld.Respond(p.Text, tailworld.Personas()["great"], 1, 0)
	out, _ := CorruptedReward{Corruption{Region: Bottom, Threshold: 2, Scale: 0.1}}.Score(context.Background(),
		[]reward.Sample{{Prompt: p.Text, Completion: s}})
	if out[0].Components["rstar"] == out[0].Value || !strings.Contains(strings.Join(keys(out[0].Components), ","), "gold:") {
		t.Errorf("corrupted reward %+v", out[0])
	}
}

func keys(m map[string]float64) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
