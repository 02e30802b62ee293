package policy

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naiveAttention is causal grouped-query attention written directly from the
// definition, one (sequence, head, query) at a time, as the reference.
func naiveAttention(q, k, v []float64, lens []int, H, KV, hd int) []float64 {
	out := make([]float64, len(q))
	t0 := 0
	for _, L := range lens {
		for h := range H {
			g := h / (H / KV)
			for i := range L {
				scores := make([]float64, i+1)
				m := math.Inf(-1)
				for j := range scores {
					for c := range hd {
						scores[j] += q[(t0+i)*H*hd+h*hd+c] * k[(t0+j)*KV*hd+g*hd+c]
					}
					scores[j] /= math.Sqrt(float64(hd))
					m = max(m, scores[j])
				}
				var z float64
				for j := range scores {
					scores[j] = math.Exp(scores[j] - m)
					z += scores[j]
				}
				for j := range scores {
					for c := range hd {
						out[(t0+i)*H*hd+h*hd+c] += scores[j] / z * v[(t0+j)*KV*hd+g*hd+c]
					}
				}
			}
		}
		t0 += L
	}
	return out
}

var attnShapes = []struct {
	lens           []int
	heads, kvHeads int
	headDim        int
}{
	{[]int{3, 5, 1}, 4, 2, 4}, // grouped-query
	{[]int{4, 2}, 2, 2, 3},    // multi-head, odd head size
	{[]int{6}, 3, 1, 5},       // multi-query
	// Longer than a query block: blocks after the first, a partial last one.
	{[]int{2*attnBlock + 5, 2}, 2, 1, 3},
}

// TestAttentionForward compares the kernel with naiveAttention and checks the
// saved probabilities' layout: rows sum to 1 and are zero above the diagonal.
func TestAttentionForward(t *testing.T) {
	for _, c := range attnShapes {
		name := fmt.Sprintf("lens %v H%d KV%d hd%d", c.lens, c.heads, c.kvHeads, c.headDim)
		rng := rand.New(rand.NewPCG(13, uint64(c.heads)))
		n := sum(c.lens)
		q := randSlice(rng, n*c.heads*c.headDim)
		k, v := randSlice(rng, n*c.kvHeads*c.headDim), randSlice(rng, n*c.kvHeads*c.headDim)
		out, probs := make([]float64, len(q)), make([]float64, attnScratchLen(c.lens, c.heads))
		attentionForward(out, probs, q, k, v, c.lens, c.heads, c.kvHeads, c.headDim)
		want := naiveAttention(q, k, v, c.lens, c.heads, c.kvHeads, c.headDim)
		for i := range out {
			if math.Abs(out[i]-want[i]) > 1e-14 {
				t.Fatalf("%s: out[%d] = %v, want %v", name, i, out[i], want[i])
			}
		}
		base := 0
		for _, L := range c.lens {
			for h := range c.heads {
				for i := range L {
					row := probs[base+(h*L+i)*L : base+(h*L+i+1)*L]
					var s float64
					for j, p := range row {
						if j > i && p != 0 {
							t.Fatalf("%s: probs above the diagonal not zero", name)
						}
						s += p
					}
					if math.Abs(s-1) > 1e-14 {
						t.Fatalf("%s: probability row sums to %v", name, s)
					}
				}
			}
			base += c.heads * L * L
		}
	}
}

// TestAttentionGrad checks dq, dk and dv against finite differences, for
// several sequences of different lengths packed together and for GQA, MHA and
// MQA head layouts.
func TestAttentionGrad(t *testing.T) {
	for _, c := range attnShapes {
		name := fmt.Sprintf("lens %v H%d KV%d hd%d", c.lens, c.heads, c.kvHeads, c.headDim)
		rng := rand.New(rand.NewPCG(15, uint64(c.heads)))
		n := sum(c.lens)
		qn, kn := n*c.heads*c.headDim, n*c.kvHeads*c.headDim
		q, k, v, r := randSlice(rng, qn), randSlice(rng, kn), randSlice(rng, kn), randSlice(rng, qn)
		out, probs := make([]float64, qn), make([]float64, attnScratchLen(c.lens, c.heads))
		loss := func() float64 {
			attentionForward(out, probs, q, k, v, c.lens, c.heads, c.kvHeads, c.headDim)
			return dotLoss(out, r)
		}
		loss()
		dq, dqAdded := accumulated(rng, qn)
		dk, dkAdded := accumulated(rng, kn)
		dv, dvAdded := accumulated(rng, kn)
		attentionBackward(dq, dk, dv, r, q, k, v, probs, c.lens, c.heads, c.kvHeads, c.headDim)
		checkGrad(t, name+" dq", q, dqAdded(), loss, gradTol)
		checkGrad(t, name+" dk", k, dkAdded(), loss, gradTol)
		checkGrad(t, name+" dv", v, dvAdded(), loss, gradTol)
	}
}

// TestAttentionBatchInvariant runs float32 attention forward and backward on a
// packed batch (with an empty sequence) and on each sequence alone, on 1 and
// 4 workers: outputs and gradients must be bitwise equal (DESIGN.md decision 5).
func TestAttentionBatchInvariant(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	lens, H, KV, hd := []int{7, 12, 0, 1, 30, attnBlock + 9}, 4, 2, 16
	n, qw, kw := sum(lens), H*hd, KV*hd
	q, k, v := to32(randSlice(rng, n*qw)), to32(randSlice(rng, n*kw)), to32(randSlice(rng, n*kw))
	dout := to32(randSlice(rng, n*qw))

	type result struct{ out, dq, dk, dv []float32 }
	run := func(lens []int, q, k, v, dout []float32) result {
		n := sum(lens)
		r := result{make([]float32, n*qw), make([]float32, n*qw), make([]float32, n*kw), make([]float32, n*kw)}
		probs := make([]float32, attnScratchLen(lens, H))
		attentionForward(r.out, probs, q, k, v, lens, H, KV, hd)
		attentionBackward(r.dq, r.dk, r.dv, dout, q, k, v, probs, lens, H, KV, hd)
		return r
	}
	compare := func(what string, got, want result) {
		t.Helper()
		for _, f := range []struct {
			name      string
			got, want []float32
		}{{"out", got.out, want.out}, {"dq", got.dq, want.dq}, {"dk", got.dk, want.dk}, {"dv", got.dv, want.dv}} {
			if i := bitwiseEqual(f.got, f.want); i >= 0 {
				t.Errorf("%s: %s differs at %d", what, f.name, i)
			}
		}
	}

	prev := SetWorkers(4)
	defer SetWorkers(prev)
	batch := run(lens, q, k, v, dout)
	t0 := 0
	for s, L := range lens {
		alone := run([]int{L}, q[t0*qw:(t0+L)*qw], k[t0*kw:(t0+L)*kw], v[t0*kw:(t0+L)*kw], dout[t0*qw:(t0+L)*qw])
		inBatch := result{batch.out[t0*qw : (t0+L)*qw], batch.dq[t0*qw : (t0+L)*qw], batch.dk[t0*kw : (t0+L)*kw], batch.dv[t0*kw : (t0+L)*kw]}
		compare(fmt.Sprintf("sequence %d alone vs in batch", s), alone, inBatch)
		t0 += L
	}
	SetWorkers(1)
	compare("1 worker vs 4", run(lens, q, k, v, dout), batch)
}

func sum(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}

// BenchmarkAttention times forward plus backward of one demo-size layer
// (8 heads, 4 kv heads, head size 32) on 8 sequences of 256 tokens, float32.
func BenchmarkAttention(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	lens, H, KV, hd := []int{256, 256, 256, 256, 256, 256, 256, 256}, 8, 4, 32
	n := sum(lens)
	q, k, v := to32(randSlice(rng, n*H*hd)), to32(randSlice(rng, n*KV*hd)), to32(randSlice(rng, n*KV*hd))
	out, dq := make([]float32, n*H*hd), make([]float32, n*H*hd)
	dk, dv := make([]float32, n*KV*hd), make([]float32, n*KV*hd)
	probs := make([]float32, attnScratchLen(lens, H))
	for b.Loop() {
		attentionForward(out, probs, q, k, v, lens, H, KV, hd)
		attentionBackward(dq, dk, dv, out, q, k, v, probs, lens, H, KV, hd)
	}
}

// TestAttnRowMatchesForward checks the KV-cached sampler's contract: attnRow
// on one query against the head's keys and values 0..i, gathered
// contiguously as a KV cache holds them, gives bitwise the out row and the
// probabilities of attentionForward, for sequences longer than a query
// block (attnBlock) so that rows of every block and a partial last block are
// covered.
func TestAttnRowMatchesForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	lens, H, KV, hd := []int{attnBlock + 5, 2*attnBlock + 1, 3}, 4, 2, 16
	n, qw, kw := sum(lens), H*hd, KV*hd
	q, k, v := to32(randSlice(rng, n*qw)), to32(randSlice(rng, n*kw)), to32(randSlice(rng, n*kw))
	out, probs := make([]float32, n*qw), make([]float32, attnScratchLen(lens, H))
	attentionForward(out, probs, q, k, v, lens, H, KV, hd)
	scale := float32(1 / math.Sqrt(float64(hd)))
	t0, base := 0, 0
	for s, L := range lens {
		for h := range H {
			g := h / (H / KV)
			kc, vc := make([]float32, L*hd), make([]float32, L*hd) // the "cache" of head g
			gatherRows(kc, k[t0*kw+g*hd:], kw, hd, L)
			gatherRows(vc, v[t0*kw+g*hd:], kw, hd, L)
			for i := range L {
				row := (t0+i)*qw + h*hd
				o, p := make([]float32, hd), make([]float32, i+1)
				attnRow(o, p, q[row:row+hd], kc, vc, scale)
				if j := bitwiseEqual(o, out[row:row+hd]); j >= 0 {
					t.Fatalf("seq %d head %d row %d: out[%d] = %v, forward %v", s, h, i, j, o[j], out[row+j])
				}
				saved := probs[base+(h*L+i)*L:]
				if j := bitwiseEqual(p, saved[:i+1]); j >= 0 {
					t.Fatalf("seq %d head %d row %d: p[%d] = %v, forward %v", s, h, i, j, p[j], saved[j])
				}
			}
		}
		t0, base = t0+L, base+H*L*L
	}
}
