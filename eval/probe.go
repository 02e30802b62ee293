package eval

import (
	"context"
	"fmt"
	"math"

	"github.com/rft-dev/rft/reward"
)

// Regions of the reward-accuracy probe (the paper's Table 2).
const (
	// RegionHigh holds pairs whose two responses both come from strong
	// responders (the paper: two samples of a strong model; tailworld: two of
	// the great and diverse personas), where the reward must separate
	// excellent from great.
	RegionHigh = "high"
	// RegionLow holds pairs of two base-policy responses (tailworld: two
	// samples of the base persona), where basic errors tell them apart.
	RegionLow = "low"
)

// ProbePair is two responses to one prompt, tagged with the region they
// were drawn from.
type ProbePair struct {
	PromptID string `json:"prompt_id"`
	Prompt   string `json:"prompt"`
	A        string `json:"a"`
	B        string `json:"b"`
	Region   string `json:"region"`
}

// PairOutcome is what the probe saw on one pair. Judge and Reward are the
// preferences from A's side (Win: A is preferred).
type PairOutcome struct {
	PromptID string  `json:"prompt_id"`
	Region   string  `json:"region"`
	Judge    Verdict `json:"judge"`
	Reward   Verdict `json:"reward"`
	RewardA  float64 `json:"reward_a"`
	RewardB  float64 `json:"reward_b"`
	// Counted is false when the judge tied (no preference to agree with) or
	// a reward could not be computed (Error says why).
	Counted bool   `json:"counted"`
	Agree   bool   `json:"agree"`
	Error   string `json:"error,omitempty"`
}

// Agreement is the probe's result for one region.
type Agreement struct {
	Region     string  `json:"region"`
	Pairs      int     `json:"pairs"`       // pairs probed
	JudgeTies  int     `json:"judge_ties"`  // excluded: the judge has no preference
	Failed     int     `json:"failed"`      // excluded: the reward failed on a response
	N          int     `json:"n"`           // counted pairs
	Agree      int     `json:"agree"`       // the reward prefers what the judge prefers
	RewardTies int     `json:"reward_ties"` // counted pairs the reward tied (they count as disagreement)
	Rate       float64 `json:"rate"`        // Agree / N
	CILow      float64 `json:"ci_low"`      // 95% Wilson interval of Rate
	CIHigh     float64 `json:"ci_high"`
}

// ProbeResult is the probe over all pairs: per region, and per pair so two
// rewards probed on the same pairs can be compared pair by pair.
type ProbeResult struct {
	Regions  map[string]Agreement `json:"regions"`
	Outcomes []PairOutcome        `json:"outcomes"`
}

// rewardTieEps is the score difference under which the reward has no
// preference: rubric scores are multiples of 1/Σw, far above it.
const rewardTieEps = 1e-9

// Probe measures how often a reward's preference between two responses
// agrees with the judge's: for each pair, the reward scores A and B and
// prefers the higher; the judge compares A with B. A pair the judge ties
// is left out (there is no preference to agree with); a pair the reward
// ties counts as a disagreement, as in the paper ("ties count as wrong"),
// since a reward that cannot separate two responses gives GRPO no signal
// between them. Agreement is reported per region with a Wilson 95%
// interval over the counted pairs.
func Probe(ctx context.Context, pairs []ProbePair, rw reward.Reward, judge Judge) (*ProbeResult, error) {
	batch := make([]reward.Sample, 0, 2*len(pairs))
	for _, p := range pairs {
		batch = append(batch, reward.Sample{PromptID: p.PromptID, Prompt: p.Prompt, Completion: p.A},
			reward.Sample{PromptID: p.PromptID, Prompt: p.Prompt, Completion: p.B})
	}
	scores, err := rw.Score(ctx, batch)
	if err != nil {
		return nil, fmt.Errorf("probe: reward: %w", err)
	}
	if len(scores) != len(batch) {
		return nil, fmt.Errorf("probe: the reward returned %d scores for %d responses", len(scores), len(batch))
	}
	res := &ProbeResult{Outcomes: make([]PairOutcome, len(pairs))}
	for i, p := range pairs {
		o := PairOutcome{PromptID: p.PromptID, Region: p.Region}
		sa, sb := scores[2*i], scores[2*i+1]
		if sa.Err != nil || sb.Err != nil {
			o.Error = fmt.Sprint(firstErr(sa.Err, sb.Err))
			res.Outcomes[i] = o
			continue
		}
		o.RewardA, o.RewardB = sa.Value, sb.Value
		o.Reward = preference(sa.Value, sb.Value)
		if o.Judge, err = judge.Compare(ctx, p.Prompt, p.A, p.B); err != nil {
			return nil, fmt.Errorf("probe: judge on pair %d (prompt %s): %w", i, p.PromptID, err)
		}
		o.Counted = o.Judge != Tie
		o.Agree = o.Counted && o.Reward == o.Judge
		res.Outcomes[i] = o
	}
	res.Regions = Agreements(res.Outcomes)
	return res, nil
}

func preference(a, b float64) Verdict {
	switch d := a - b; {
	case math.IsNaN(d) || math.Abs(d) <= rewardTieEps:
		return Tie
	case d > 0:
		return Win
	}
	return Loss
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// Agreements summarises outcomes per region (outcomes pooled from several
// probes, e.g. one per seed, summarise the same way).
func Agreements(outcomes []PairOutcome) map[string]Agreement {
	out := map[string]Agreement{}
	for _, o := range outcomes {
		a := out[o.Region]
		a.Region = o.Region
		a.Pairs++
		switch {
		case o.Error != "":
			a.Failed++
		case !o.Counted:
			a.JudgeTies++
		default:
			a.N++
			if o.Agree {
				a.Agree++
			}
			if o.Reward == Tie {
				a.RewardTies++
			}
		}
		out[o.Region] = a
	}
	for r, a := range out {
		if a.N > 0 {
			a.Rate = float64(a.Agree) / float64(a.N)
		}
		a.CILow, a.CIHigh = Wilson(a.Rate, a.N)
		out[r] = a
	}
	return out
}

// PairedAgreement lines up two probes of the same pairs (same order) for a
// region and returns, for the pairs both counted, each reward's agreement as
// a verdict (Win: agrees with the judge, Loss: does not), ready for Paired.
func PairedAgreement(a, b []PairOutcome, region string) (va, vb []Verdict) {
	for i := range min(len(a), len(b)) {
		if a[i].Region != region || b[i].Region != region || !a[i].Counted || !b[i].Counted {
			continue
		}
		va, vb = append(va, agreeVerdict(a[i])), append(vb, agreeVerdict(b[i]))
	}
	return va, vb
}

func agreeVerdict(o PairOutcome) Verdict {
	if o.Agree {
		return Win
	}
	return Loss
}
