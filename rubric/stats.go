package rubric

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
)

// ScoreRecord is one line of a scores file (DESIGN.md): a response whose
// verification finally failed has Error and no Score.
type ScoreRecord struct {
	PromptID      string          `json:"prompt_id"`
	ResponseIndex int             `json:"response_index"`
	Score         *float64        `json:"score,omitempty"`
	Verdicts      map[string]bool `json:"verdicts,omitempty"`
	Error         string          `json:"error,omitempty"`
	Source        string          `json:"source,omitempty"`
	// Raw holds the verifier's distinct raw answers behind the verdicts.
	Raw []string `json:"raw,omitempty"`
}

// NewScoreRecord builds the record of one graded candidate.
func NewScoreRecord(c Candidate, res Result) ScoreRecord {
	rec := ScoreRecord{PromptID: c.PromptID, ResponseIndex: c.Index, Source: c.Source}
	if res.Err != nil {
		rec.Error = res.Err.Error()
		return rec
	}
	s := res.Score
	rec.Score = &s
	if len(res.Verdicts) > 0 {
		rec.Verdicts = res.Met()
	}
	seen := map[string]bool{}
	ids := make([]string, 0, len(res.Verdicts))
	for id := range res.Verdicts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if raw := res.Verdicts[id].Raw; raw != "" && !seen[raw] {
			seen[raw] = true
			rec.Raw = append(rec.Raw, raw)
		}
	}
	return rec
}

// ReadScores reads a scores JSONL file.
func ReadScores(path string) ([]ScoreRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []ScoreRecord
	err = eachLine(f, path, func(line int, b []byte) error {
		var r ScoreRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("%s line %d: %w", path, line, err)
		}
		if r.PromptID == "" {
			return fmt.Errorf("%s line %d: no prompt_id", path, line)
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// CriterionStats is one criterion's pass rate over the scored responses.
type CriterionStats struct {
	PromptID string  `json:"prompt_id"`
	ID       string  `json:"id"`
	Text     string  `json:"text"`
	Weight   float64 `json:"weight"`
	Answered int     `json:"answered"`
	Met      int     `json:"met"`
	PassRate float64 `json:"pass_rate"`
}

// IterationSummary counts what one refinement iteration did.
type IterationSummary struct {
	PromptID   string    `json:"prompt_id"`
	Iteration  int       `json:"iteration"`
	Pair       [2]string `json:"pair"`
	Added      int       `json:"added"`
	Deleted    int       `json:"deleted"`
	Rewritten  int       `json:"rewritten"`
	Decomposed int       `json:"decomposed"`
	Stop       string    `json:"stop,omitempty"`
}

// Stats summarises rubrics and their scores: the paper aims at criteria that
// about half of strong responses fail, and RTD needs scores that tell the
// best candidates apart.
type Stats struct {
	Rubrics       int                `json:"rubrics"`
	Criteria      int                `json:"criteria"`
	Responses     int                `json:"responses"`
	Failed        int                `json:"failed"`
	PassRate      float64            `json:"pass_rate"` // over all answered criteria
	PerCriterion  []CriterionStats   `json:"per_criterion"`
	TieRate       float64            `json:"tie_rate"`     // pairs of scored responses to one prompt with equal scores
	TopTieRate    float64            `json:"top_tie_rate"` // prompts whose two best responses tie
	Iterations    []IterationSummary `json:"iterations,omitempty"`
	EditsAdded    int                `json:"edits_added"`
	EditsDeleted  int                `json:"edits_deleted"`
	EditsRewrite  int                `json:"edits_rewritten"`
	EditsDecomp   int                `json:"edits_decomposed"`
	DecomposeRate float64            `json:"decompose_share"` // decompositions among rewritten + decomposed (the paper's 55.9% vs 44.1%)
}

// ComputeStats summarises rubrics, and the scores when given.
func ComputeStats(rubrics []*Rubric, scores []ScoreRecord) Stats {
	var st Stats
	st.Rubrics = len(rubrics)
	idx := map[string]map[string]*CriterionStats{}
	for _, r := range rubrics {
		st.Criteria += len(r.Criteria)
		m := map[string]*CriterionStats{}
		for _, c := range r.Criteria {
			cs := &CriterionStats{PromptID: r.PromptID, ID: c.ID, Text: c.Text, Weight: c.Weight}
			m[c.ID] = cs
		}
		idx[r.PromptID] = m
		for _, h := range r.Provenance.History {
			s := IterationSummary{PromptID: r.PromptID, Iteration: h.Iteration, Pair: h.Pair, Stop: h.Stop}
			if h.Diff != nil {
				s.Added, s.Deleted = len(h.Diff.Added), len(h.Diff.Deleted)
				s.Rewritten, s.Decomposed = len(h.Diff.Rewritten), len(h.Diff.Decomposed)
			}
			st.EditsAdded += s.Added
			st.EditsDeleted += s.Deleted
			st.EditsRewrite += s.Rewritten
			st.EditsDecomp += s.Decomposed
			st.Iterations = append(st.Iterations, s)
		}
	}
	if n := st.EditsRewrite + st.EditsDecomp; n > 0 {
		st.DecomposeRate = float64(st.EditsDecomp) / float64(n)
	}
	byPrompt := map[string][]float64{}
	answered, met := 0, 0
	for _, s := range scores {
		st.Responses++
		if s.Score == nil {
			st.Failed++
			continue
		}
		byPrompt[s.PromptID] = append(byPrompt[s.PromptID], *s.Score)
		for id, v := range s.Verdicts {
			cs := idx[s.PromptID][id]
			if cs == nil {
				continue
			}
			cs.Answered++
			answered++
			if v {
				cs.Met++
				met++
			}
		}
	}
	if answered > 0 {
		st.PassRate = float64(met) / float64(answered)
	}
	for _, r := range rubrics {
		for _, c := range r.Criteria {
			cs := idx[r.PromptID][c.ID]
			if cs.Answered > 0 {
				cs.PassRate = float64(cs.Met) / float64(cs.Answered)
			}
			st.PerCriterion = append(st.PerCriterion, *cs)
		}
	}
	pairs, ties, prompts, topTies := 0, 0, 0, 0
	for _, sc := range byPrompt {
		for i := range sc {
			for j := i + 1; j < len(sc); j++ {
				pairs++
				if equalScore(sc[i], sc[j]) {
					ties++
				}
			}
		}
		if len(sc) >= 2 {
			s := append([]float64(nil), sc...)
			sort.Sort(sort.Reverse(sort.Float64Slice(s)))
			prompts++
			if equalScore(s[0], s[1]) {
				topTies++
			}
		}
	}
	if pairs > 0 {
		st.TieRate = float64(ties) / float64(pairs)
	}
	if prompts > 0 {
		st.TopTieRate = float64(topTies) / float64(prompts)
	}
	return st
}

func equalScore(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
