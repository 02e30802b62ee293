package eval

import (
	"context"
	"errors"
	"math"
	"strconv"
	"testing"

	"github.com/rft-dev/rft/reward"
)

// lenReward scores a response by its length; "fail" cannot be scored.
type lenReward struct{}

func (lenReward) Score(ctx context.Context, batch []reward.Sample) ([]reward.Score, error) {
	out := make([]reward.Score, len(batch))
	for i, s := range batch {
		if s.Completion == "fail" {
			out[i].Err = errors.New("cannot score")
			continue
		}
		out[i].Value = float64(len(s.Completion))
	}
	return out, nil
}

// numJudge prefers the response whose text is the larger number.
type numJudge struct{}

func (numJudge) Compare(ctx context.Context, prompt, a, b string) (Verdict, error) {
	x, _ := strconv.Atoi(a)
	y, _ := strconv.Atoi(b)
	switch {
	case x > y:
		return Win, nil
	case x < y:
		return Loss, nil
	}
	return Tie, nil
}

func TestProbeAgreementTiesAndRegions(t *testing.T) {
	pairs := []ProbePair{
		{PromptID: "p1", A: "100", B: "9", Region: RegionHigh},  // longer and larger: agree
		{PromptID: "p2", A: "9", B: "100", Region: RegionHigh},  // shorter and smaller: agree (loss/loss)
		{PromptID: "p3", A: "99", B: "100", Region: RegionHigh}, // shorter, judge loss: agree
		{PromptID: "p4", A: "50", B: "10", Region: RegionHigh},  // reward tie: counts as wrong
		{PromptID: "p5", A: "7", B: "7", Region: RegionHigh},    // judge tie: left out
		{PromptID: "p6", A: "20", B: "100", Region: RegionLow},  // agree
		{PromptID: "p7", A: "90", B: "10", Region: RegionLow},   // reward tie: wrong
		{PromptID: "p8", A: "fail", B: "1", Region: RegionLow},  // reward failure: left out
	}
	res, err := Probe(context.Background(), pairs, lenReward{}, numJudge{})
	if err != nil {
		t.Fatal(err)
	}
	hi, lo := res.Regions[RegionHigh], res.Regions[RegionLow]
	if hi.Pairs != 5 || hi.JudgeTies != 1 || hi.N != 4 || hi.Agree != 3 || hi.RewardTies != 1 || hi.Rate != 0.75 {
		t.Fatalf("high region: %+v", hi)
	}
	if lo.Pairs != 3 || lo.Failed != 1 || lo.N != 2 || lo.Agree != 1 || lo.Rate != 0.5 {
		t.Fatalf("low region: %+v", lo)
	}
	wl, wh := Wilson(0.75, 4)
	if hi.CILow != wl || hi.CIHigh != wh {
		t.Fatalf("interval [%g, %g], want Wilson [%g, %g]", hi.CILow, hi.CIHigh, wl, wh)
	}
	if o := res.Outcomes[7]; o.Counted || o.Error == "" {
		t.Fatalf("a failed score must be reported and not counted: %+v", o)
	}
	if o := res.Outcomes[0]; o.RewardA != 3 || o.RewardB != 1 || o.Judge != Win || o.Reward != Win || !o.Agree {
		t.Fatalf("outcome 0: %+v", o)
	}
}

// invReward prefers the shorter response: it disagrees wherever lenReward
// agrees (ties aside).
type invReward struct{}

func (invReward) Score(ctx context.Context, batch []reward.Sample) ([]reward.Score, error) {
	out, _ := lenReward{}.Score(ctx, batch)
	for i := range out {
		out[i].Value = -out[i].Value
	}
	return out, nil
}

func TestPairedAgreement(t *testing.T) {
	var pairs []ProbePair
	for i := range 40 {
		pairs = append(pairs, ProbePair{PromptID: strconv.Itoa(i), A: strconv.Itoa(1000 + i), B: strconv.Itoa(i + 1), Region: RegionHigh})
	}
	pairs = append(pairs, ProbePair{A: "5", B: "5", Region: RegionHigh}) // judge tie: in neither
	a, err := Probe(context.Background(), pairs, lenReward{}, numJudge{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Probe(context.Background(), pairs, invReward{}, numJudge{})
	if err != nil {
		t.Fatal(err)
	}
	va, vb := PairedAgreement(a.Outcomes, b.Outcomes, RegionHigh)
	if len(va) != 40 || len(vb) != 40 {
		t.Fatalf("paired %d and %d pairs, want 40", len(va), len(vb))
	}
	d := Paired(va, vb, 1)
	if d.Diff != 1 || d.CILow != 1 {
		t.Fatalf("lenReward agrees on every pair and invReward on none: diff %+v", d)
	}
	if va, _ := PairedAgreement(a.Outcomes, b.Outcomes, RegionLow); len(va) != 0 {
		t.Fatal("no low-region pairs were probed")
	}
}

func TestAgreementsEmptyRegionInterval(t *testing.T) {
	got := Agreements([]PairOutcome{{Region: RegionLow, Judge: Tie}})[RegionLow]
	if got.N != 0 || got.CILow != 0 || got.CIHigh != 1 || math.IsNaN(got.Rate) {
		t.Fatalf("a region with no counted pair has rate 0 and interval [0, 1]: %+v", got)
	}
}
