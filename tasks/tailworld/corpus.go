package tailworld

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Example is one SFT pair for the base model (pretrain reads
// {"prompt","completion"} JSONL; this package does not import it).
type Example struct {
	Prompt     string `json:"prompt"`
	Completion string `json:"completion"`
}

// Candidate is one response in a candidate pool, as `rft rubric refine`
// reads it.
type Candidate struct {
	PromptID string `json:"prompt_id"`
	Response string `json:"response"`
	Source   string `json:"source"`
}

// PromptRecord is one line of a prompts file.
type PromptRecord struct {
	ID     string `json:"id"`
	Prompt string `json:"prompt"`
}

// BaseCorpus returns the base model's SFT corpus: train prompts [from,
// from+n), each with perPrompt responses of the base persona, so a model
// fitted to it samples across the base persona's quality range and carries
// its artifacts at their low rates.
func (w *World) BaseCorpus(from, n, perPrompt int) []Example {
	base := Personas()["base"]
	out := make([]Example, 0, n*perPrompt)
	for _, p := range w.Prompts(Train, from, n) {
		for k := range perPrompt {
			s, err := Respond(p.Text, base, w.Seed, k)
			if err != nil {
				panic(err) // the world's own prompts always parse
			}
			out = append(out, Example{Prompt: p.Text, Completion: s})
		}
	}
	return out
}

// Drills returns n reading drills on train prompts [from, from+n): the
// prompt's facts, then a question on the prompt's own filter. Even drills ask
// "Copy the lines about the horses." and are answered with those fact lines
// verbatim, in fact order; odd drills ask "Which of them are horses?" and are
// answered with the animals as a response names them ("The horse Faron, the
// horse Seza and the horse Zalgi."). They are the pretraining corpus's
// reading lessons: every answer token is copied from the prompt after a
// lookup by kind, color or home, the skill that an answer to a real request
// needs for its names and numbers, with many times the copy signal of a
// persona response. They carry no persona habit (no intro,
// ordering, summary or artifact), so the base persona's quality distribution
// is unchanged.
func (w *World) Drills(from, n int) []Example {
	out := make([]Example, 0, n)
	for i, p := range w.Prompts(Train, from, n) {
		facts := p.Text[:strings.LastIndexByte(p.Text, '\n')+1]
		elig := p.Request.Eligible()
		if (from+i)%2 == 0 {
			lines := make([]string, len(elig))
			for j, e := range elig {
				lines[j] = FactLine(e)
			}
			out = append(out, Example{Prompt: facts + "Copy the lines about the " + p.Request.Filter.NounPhrase() + ".", Completion: strings.Join(lines, "\n")})
			continue
		}
		names := make([]string, len(elig))
		for j, e := range elig {
			names[j] = "the " + Description(e, p.Request.Filter) + " " + e.Name
		}
		list := JoinAnd(names) + "."
		list = strings.ToUpper(list[:1]) + list[1:]
		out = append(out, Example{Prompt: facts + "Which of them are " + p.Request.Filter.NounPhrase() + "?", Completion: list})
	}
	return out
}

// CopyDrills returns n short copy drills on train prompts [from, from+n):
// the first three fact lines of the prompt, then "Copy the facts.", answered
// with the same lines. They are the easiest reading lesson there is (every
// answer token repeats the token that followed its predecessor in the
// prompt, 20-70 tokens back) and cheap (about 75 tokens a row), so a small
// model learns to copy from them within a few hundred steps, where long
// prompts alone did not teach it in a thousand (docs/BASE.md).
func (w *World) CopyDrills(from, n int) []Example {
	out := make([]Example, 0, n)
	for _, p := range w.Prompts(Train, from, n) {
		lines := make([]string, 0, 3)
		for _, e := range p.Request.Facts[:min(3, len(p.Request.Facts))] {
			lines = append(lines, FactLine(e))
		}
		facts := strings.Join(lines, "\n")
		out = append(out, Example{Prompt: "Facts:\n" + facts + "\nCopy the facts.", Completion: facts})
	}
	return out
}

// ListDrills returns n list drills on train prompts [from, from+n): the
// prompt itself, answered with exactly the asked number of eligible animals,
// in fact order, each described and named once, and nothing else:
//
//	Here are 2 horses.
//	- The horse Faron.
//	- The horse Seza.
//
// The persona's answers are right about the count only 45-95% of the time and
// never show a list that is finished, and a base trained on them alone keeps
// listing (and repeating) under greedy decoding (docs/BASE.md); these drills
// are the lesson in stopping. They carry the basics only (count, filter, one
// item a line), none of the tail (wished attribute, order, summary), which is
// left for reinforcement learning to find.
func (w *World) ListDrills(from, n int) []Example {
	out := make([]Example, 0, n)
	for _, p := range w.Prompts(Train, from, n) {
		q := p.Request
		lines := []string{fmt.Sprintf("Here are %d %s.", q.Count, q.Filter.NounPhrase())}
		for _, e := range q.Eligible()[:q.Count] {
			lines = append(lines, "- The "+Description(e, q.Filter)+" "+e.Name+".")
		}
		out = append(out, Example{Prompt: p.Text, Completion: strings.Join(lines, "\n")})
	}
	return out
}

// ReferenceResponse is the fixed opponent's answer to a prompt: the
// reference persona's sample 0 under the world's seed.
func (w *World) ReferenceResponse(prompt string) (string, error) {
	return Respond(prompt, Personas()["reference"], w.Seed, 0)
}

// Pools of candidates, by name.
const (
	PoolGood         = "good"          // samples of the good persona
	PoolGreat        = "great"         // samples of the great persona
	PoolGreatDiverse = "great-diverse" // one sample from each diverse persona, then great
	PoolNull         = "null"          // great responses that differ only in artifacts: no tail differences
)

// Pools lists the pool names.
var Pools = []string{PoolGood, PoolGreat, PoolGreatDiverse, PoolNull}

// CandidatePool returns size candidates for a prompt from the named pool,
// seeded by the world's seed and the prompt.
func (w *World) CandidatePool(p Prompt, pool string, size int) ([]Candidate, error) {
	ps := Personas()
	var out []Candidate
	add := func(persona string, k int) error {
		s, err := Respond(p.Text, ps[persona], w.Seed, k)
		if err != nil {
			return err
		}
		out = append(out, Candidate{PromptID: p.ID, Response: s, Source: persona})
		return nil
	}
	switch pool {
	case PoolGood, PoolGreat:
		for k := range size {
			if err := add(pool, k); err != nil {
				return nil, err
			}
		}
	case PoolGreatDiverse:
		names := make([]string, 0, 7)
		for i := range diverse() {
			names = append(names, "diverse-"+strconv.Itoa(i+1))
		}
		names = append(names, "great")
		for k := range size {
			if err := add(names[k%len(names)], k/len(names)); err != nil {
				return nil, err
			}
		}
	case PoolNull:
		return w.nullPool(p, size), nil
	default:
		return nil, fmt.Errorf("tailworld: unknown pool %q (want one of %v)", pool, Pools)
	}
	return out, nil
}

// nullPool: one plan of the great persona, written size times with only the
// artifacts that cost no words redrawn (numbered, bold, exclaim), so every
// candidate meets exactly the same criteria, tail ones included.
func (w *World) nullPool(p Prompt, size int) []Candidate {
	r := rand.New(rand.NewPCG(w.Seed, Hash64("null", p.Text)))
	plan := Draw(p.Request, Personas()["great"].Profile, r)
	plan.Artifacts = [NumArtifacts]bool{}
	var out []Candidate
	for range size {
		pl := plan
		pl.Artifacts[Numbered], pl.Artifacts[Bold], pl.Artifacts[Exclaim] = r.IntN(2) == 0, r.IntN(2) == 0, r.IntN(2) == 0
		pl.WrongFact = make([]bool, len(plan.Items)) // no perturbation, so rendering draws nothing from r for facts
		out = append(out, Candidate{PromptID: p.ID, Response: Render(p.Request, pl, r), Source: "null"})
	}
	return out
}

// WriteJSONL writes one JSON object per line.
func WriteJSONL[T any](w io.Writer, recs []T) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i, r := range recs {
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("tailworld: record %d: %w", i+1, err)
		}
	}
	return nil
}

// PromptRecords returns prompts [from, from+n) of a split as records.
func (w *World) PromptRecords(split Split, from, n int) []PromptRecord {
	out := make([]PromptRecord, n)
	for i, p := range w.Prompts(split, from, n) {
		out[i] = PromptRecord{ID: p.ID, Prompt: p.Text}
	}
	return out
}
