package sim

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/rft-dev/rft/rollout"
	"github.com/rft-dev/rft/rubric"
	"github.com/rft-dev/rft/tasks/tailworld"
)

const handPrompt = "Facts:\n" +
	"Bralo: red fox, forest, 12 kg, 40 km/h, 5 years.\n" +
	"Tomi: grey owl, forest, 3 kg, 30 km/h, 2 years.\n" +
	"Kesa: brown goat, forest, 50 kg, 20 km/h, 9 years.\n" +
	"Vumi: black horse, town, 80 kg, 60 km/h, 4 years.\n" +
	"Name 2 animals from the forest. I want fast ones."

func propose(t *testing.T, req rubric.ProposeRequest) *rubric.Rubric {
	t.Helper()
	raw, err := NewProposer(1).Propose(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var plain struct {
		Criteria []struct {
			Criterion string  `json:"criterion"`
			Weight    float64 `json:"weight"`
		} `json:"criteria"`
	}
	if err := json.Unmarshal([]byte(raw), &plain); err != nil || len(plain.Criteria) == 0 {
		t.Fatalf("answer is not {\"criteria\": [...]} JSON: %v\n%s", err, raw)
	}
	crits, warns, err := rubric.ParseRubric(raw)
	if err != nil || len(warns) > 0 {
		t.Fatalf("rubric parser: %v %v\n%s", err, warns, raw)
	}
	return &rubric.Rubric{Prompt: req.Prompt, Criteria: crits}
}

func texts(r *rubric.Rubric) map[string]float64 {
	m := map[string]float64{}
	for _, c := range r.Criteria {
		m[c.Text] = c.Weight
	}
	return m
}

func TestInitialRubricFromThePromptAlone(t *testing.T) {
	r := propose(t, rubric.ProposeRequest{Prompt: handPrompt})
	want := map[string]float64{
		"The response names exactly 2 animals.":                 3,
		"Every animal named lives in the forest.":               3,
		"Every number in the response matches the facts given.": 3,
		"Each animal is on its own line.":                       2,
		"The response names fast animals.":                      2,
		"The response is detailed.":                             1,
	}
	got := texts(r)
	if len(got) != len(want) {
		t.Fatalf("initial rubric %v", got)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("criterion %q: weight %v, want %v", k, got[k], w)
		}
	}
	if _, err := NewProposer(1).Propose(context.Background(), rubric.ProposeRequest{Prompt: "hi"}); err == nil {
		t.Error("a non-tailworld prompt got a rubric")
	}
}

// Refinement on chosen pairs: it writes criteria for what differs, and only
// for that.
func TestRefineWritesWhatDiffers(t *testing.T) {
	cur := propose(t, rubric.ProposeRequest{Prompt: handPrompt})
	a := "- Bralo the fox runs 40 km/h.\n- Tomi the owl runs 30 km/h.\nBralo is the fastest."
	bluff := "- Vumi the horse runs 60 km/h and lives in the forest.\n- Bralo the fox runs 40 km/h.\nBralo is the fastest."
	cases := []struct {
		name  string
		b     string
		added []string
		total int
	}{
		{"identical", a, nil, 6},
		// The shorter length becomes a word limit, which rewrites "detailed".
		{"summary and length", "- Bralo the fox runs 40 km/h.\n- Tomi the owl runs 30 km/h.", []string{
			"The response ends with a sentence that names the fastest animal.", "The response uses at most 15 words."}, 7},
		{"order only", "- Tomi the owl runs 30 km/h.\n- Bralo the fox runs 40 km/h.\nBralo is the fastest.", []string{
			"The animals are listed from the highest speed to the lowest."}, 7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := propose(t, rubric.ProposeRequest{Prompt: handPrompt, Current: cur, Pair: [2]string{a, c.b}})
			got := texts(r)
			for _, s := range c.added {
				if _, ok := got[s]; !ok {
					t.Errorf("missing %q in %v", s, got)
				}
			}
			if len(got) != c.total {
				t.Errorf("%d criteria, want %d: %v", len(got), c.total, got)
			}
		})
	}
	// Ascending order seen on one side only: the proposer writes that
	// direction (it is the property it saw), wrong for a "fast" wish.
	asc := "- Tomi the owl runs 30 km/h.\n- Bralo the fox runs 40 km/h."
	unsorted := "- Tomi the owl.\n- Bralo the fox."
	r := propose(t, rubric.ProposeRequest{Prompt: handPrompt, Current: cur, Pair: [2]string{asc, unsorted}})
	if _, ok := texts(r)["The animals are listed from the lowest speed to the highest."]; !ok {
		t.Errorf("wrong-direction order not written: %v", texts(r))
	}
	extra := []struct{ name, b, added string }{
		{"an artifact becomes a criterion", "- **Bralo** the fox runs 40 km/h.\n- **Tomi** the owl runs 30 km/h.\nBralo is the fastest.",
			"The animal names are in bold."},
		{"a basic error sharpens the basic criterion", bluff, "Every animal named lives in the forest according to the facts."},
	}
	for _, c := range extra {
		t.Run(c.name, func(t *testing.T) {
			r := propose(t, rubric.ProposeRequest{Prompt: handPrompt, Current: cur, Pair: [2]string{a, c.b}})
			if _, ok := texts(r)[c.added]; !ok {
				t.Errorf("missing %q in %v", c.added, texts(r))
			}
		})
	}
	// The lax filter criterion was rewritten, not kept beside the sharp one.
	r = propose(t, rubric.ProposeRequest{Prompt: handPrompt, Current: cur, Pair: [2]string{a, bluff}})
	if _, ok := texts(r)["Every animal named lives in the forest."]; ok {
		t.Errorf("lax criterion kept beside its sharper form: %v", texts(r))
	}
}

func TestVerifierAnswersParse(t *testing.T) {
	cur := propose(t, rubric.ProposeRequest{Prompt: handPrompt})
	cur.Criteria = append(cur.Criteria, rubric.Criterion{ID: "c7", Text: "The response is written with warmth and charm.", Weight: 1})
	ids := []string{}
	for _, c := range cur.Criteria {
		ids = append(ids, c.ID)
	}
	resp := "- Bralo the fox runs 40 km/h.\n- Tomi the owl runs 30 km/h.\nBralo is the fastest."
	raw, err := NewVerifier(1, 0).Verify(context.Background(), rubric.VerifyRequest{Prompt: handPrompt, Response: resp, Rubric: cur, Criteria: cur.Criteria})
	if err != nil {
		t.Fatal(err)
	}
	met, err := rubric.ParseVerdicts(raw, ids)
	if err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	want := map[string]bool{"c1": true, "c2": true, "c3": true, "c4": true, "c5": true, "c6": false, "c7": false}
	for id, w := range want {
		if met[id] != w {
			t.Errorf("%s (%s): %v, want %v", id, cur.Criterion(id).Text, met[id], w)
		}
	}
}

// Flip noise is a function of (prompt, response, criterion): the same
// question gets the same answer, and about the configured share flips.
func TestVerifierFlipNoise(t *testing.T) {
	w := tailworld.NewWorld(1, 60)
	v, clean := NewVerifier(5, 0.2), NewVerifier(5, 0)
	var flips, n int
	for i := range 40 {
		p := w.Prompt(tailworld.Train, i)
		r := propose(t, rubric.ProposeRequest{Prompt: p.Text})
		resp, _ := tailworld.Respond(p.Text, tailworld.Personas()["great"], 1, i)
		req := rubric.VerifyRequest{Prompt: p.Text, Response: resp, Rubric: r, Criteria: r.Criteria}
		a, _ := v.Verify(context.Background(), req)
		b, _ := v.Verify(context.Background(), req)
		c, _ := clean.Verify(context.Background(), req)
		if a != b {
			t.Fatal("flip noise is not deterministic")
		}
		var ma, mc map[string]string
		json.Unmarshal([]byte(a), &ma)
		json.Unmarshal([]byte(c), &mc)
		for id := range mc {
			n++
			if ma[id] != mc[id] {
				flips++
			}
		}
	}
	if rate := float64(flips) / float64(n); rate < .1 || rate > .3 {
		t.Errorf("flip rate %.3f, want about 0.2", rate)
	}
}

func TestResponderLLM(t *testing.T) {
	w := tailworld.NewWorld(DefaultSeed, tailworld.DefaultEntities)
	p := w.Prompt(tailworld.Eval, 4)
	llm, err := rollout.Open("sim:reference", rollout.Options{})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := llm.Chat(context.Background(), rollout.ChatRequest{Messages: []rollout.Message{{Role: "user", Content: p.Text}}, N: 3})
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := w.ReferenceResponse(p.Text)
	if len(resp.Choices) != 3 || resp.Choices[0].Text != ref {
		t.Fatalf("sim:reference choice 0 = %q, want the fixed reference %q", resp.Choices[0].Text, ref)
	}
	seed := int64(9)
	g, _ := NewResponderLLM(1, "")
	a, _ := g.Chat(context.Background(), rollout.ChatRequest{Model: "great", Seed: &seed, Messages: []rollout.Message{{Role: "user", Content: p.Text}}})
	want, _ := tailworld.Respond(p.Text, tailworld.Personas()["great"], 9, 0)
	if a.Choices[0].Text != want {
		t.Error("a seeded request does not follow its seed")
	}
	if _, err := rollout.Open("sim:nobody", rollout.Options{}); err == nil {
		t.Error("unknown persona opened")
	}
	if _, err := g.Chat(context.Background(), rollout.ChatRequest{Messages: []rollout.Message{{Role: "user", Content: "hello"}}}); err == nil {
		t.Error("a non-tailworld prompt was answered")
	}
}

// The grader counts list lines (or names in prose), but an animal named a
// second time is not another animal; a line naming no animal of the prompt
// still counts (the grader does not check names against the facts here).
func TestVerifierCountsEachAnimalOnce(t *testing.T) {
	q, err := tailworld.ParsePrompt(handPrompt)
	if err != nil {
		t.Fatal(err)
	}
	const crit = "The response names exactly 2 animals."
	if k, ok := KeyOf(crit); !ok || k.Family() != "count" {
		t.Fatalf("%q is not a count criterion (%v)", crit, k)
	}
	for _, c := range []struct {
		response string
		want     bool
	}{
		{"- Bralo the fox runs 40 km/h.\n- Tomi the owl runs 30 km/h.", true},
		{"- Bralo the fox runs 40 km/h.\n- Bralo the fox runs 40 km/h.", false},
		{"- Bralo the fox.\n- Bralo the fox.\n- Tomi the owl.", true},
		{"- Bralo the fox.\n- Zorbo the owl.", true},
		{"- Bralo the fox.\n- Tomi the owl.\n- Kesa the goat.", false},
		{"Bralo is fast and Tomi is fast too.", true},
		{"Bralo is fast. Bralo is very fast.", false},
	} {
		if got := Check(q, c.response, crit); got != c.want {
			t.Errorf("%q: count says %v, want %v", c.response, got, c.want)
		}
	}
}
