// Package rubric holds rubrics: the schema and its formats, the proposer
// that writes and refines them (Refinement-through-Differentiation), the
// verifier that checks responses against them, the verification cache,
// programmatic checks and rubric statistics. It must not know about GRPO.
package rubric

import "context"

// Criterion is one binary check, phrased so that "yes" is good (negative
// weights mark pitfalls, as in HealthBench).
type Criterion struct {
	ID     string   `json:"id" yaml:"id"` // c1…cN, assigned by code
	Text   string   `json:"text" yaml:"text"`
	Weight float64  `json:"weight" yaml:"weight"` // the paper uses integers 1–3
	Tags   []string `json:"tags,omitempty" yaml:"tags,omitempty"`
	Check  *Check   `json:"check,omitempty" yaml:"check,omitempty"` // evaluated locally, never sent to an LLM
}

// Check is a programmatic criterion: a registered checker and its arguments.
type Check struct {
	Name string         `json:"name" yaml:"name"` // regex, contains, not_contains, word_count, valid_json, or a registered one
	Args map[string]any `json:"args,omitempty" yaml:"args,omitempty"`
}

// Provenance records where a rubric came from.
type Provenance struct {
	Iteration int       `json:"iteration"`          // 0: initial
	Pair      [2]string `json:"pair,omitempty"`     // the two candidate ids it was refined on
	Proposer  string    `json:"proposer,omitempty"` // model spec
	// History records every refinement iteration that led here (RTD), so
	// `rft rubric stats` can say what each one did.
	History []IterationRecord `json:"history,omitempty"`
}

// Rubric belongs to one prompt.
type Rubric struct {
	PromptID   string      `json:"prompt_id"`
	Prompt     string      `json:"prompt"`
	Criteria   []Criterion `json:"criteria"`
	Provenance Provenance  `json:"provenance"`
	// Raw is the proposer's text this rubric was parsed from (the paper's
	// original_rubric), kept for audits; empty for hand-written rubrics.
	Raw string `json:"raw,omitempty"`
}

// ProposeRequest asks for a rubric. Current and Pair are empty for the
// initial rubric; for a refinement the proposer sees the current rubric and
// two responses, and is not told which is better (PAPER.md, RTD step 3).
type ProposeRequest struct {
	PromptID  string
	Prompt    string
	Reference string  // optional reference answer (Rubrics as Rewards)
	Current   *Rubric // nil: initial generation
	Pair      [2]string
	// Attempt counts retries (0 first); Feedback says why the previous
	// answer could not be parsed, for proposers that can use it.
	Attempt  int
	Feedback string
}

// Proposer writes rubrics. It returns the raw text of its answer; the one
// rubric parser reads every proposer's output, LLM or simulated.
type Proposer interface {
	Propose(ctx context.Context, req ProposeRequest) (string, error)
}

// VerifyRequest asks for verdicts on some criteria of a rubric for one
// response. Attempt counts retries (0 first); Temperature is what the
// verifier should sample at (0 first, 1 on the paper's retry).
type VerifyRequest struct {
	Prompt      string
	Response    string
	Rubric      *Rubric     // the whole rubric (batched mode sends it all)
	Criteria    []Criterion // the criteria to answer now
	Attempt     int
	Temperature float64
	// Mode is the verification mode ("batched", "per-criterion", "chunk:K"
	// or "implicit"); an implicit request asks for one holistic 1–10 score
	// of the response given the whole rubric instead of verdicts.
	Mode string
}

// Verifier answers criteria. It returns raw text, e.g. {"c1": "yes",
// "c2": "no"}; the one verdict parser reads every verifier's output.
type Verifier interface {
	Verify(ctx context.Context, req VerifyRequest) (string, error)
}
