package pretrain

import (
	"math"
	"testing"
)

// The model is a distribution: for any context, probabilities over the
// vocabulary sum to 1, seen and unseen contexts alike.
func TestTrigramNormalised(t *testing.T) {
	seqs := [][]int{{1, 2, 3, 1, 2, 4}, {2, 3, 3, 0, 1}, {4, 4, 4}}
	m := FitTrigram(seqs, 6)
	for _, ctx := range [][2]int{{start, start}, {start, 1}, {1, 2}, {2, 3}, {5, 5}, {3, 0}} {
		sum := 0.0
		for c := 0; c < 6; c++ {
			p := m.Prob(ctx[0], ctx[1], c)
			if !(p > 0) {
				t.Fatalf("P(%d|%v) = %g, want > 0", c, ctx, p)
			}
			sum += p
		}
		if math.Abs(sum-1) > 1e-12 {
			t.Fatalf("context %v: probabilities sum to %.15f", ctx, sum)
		}
	}
}

func TestTrigramLearnsDeterministicSequence(t *testing.T) {
	seq := []int{}
	for i := 0; i < 300; i++ {
		seq = append(seq, i%5)
	}
	m := FitTrigram([][]int{seq}, 5)
	targets := make([]int, len(seq))
	for i := range seq {
		targets[i] = -1
		if i+1 < len(seq) {
			targets[i] = seq[i+1]
		}
	}
	if l := m.Loss([][]int{seq}, [][]int{targets}); l > 0.05 {
		t.Fatalf("loss %.3f on a cycle it was fitted on; want near 0", l)
	}
}
