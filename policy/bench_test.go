package policy

import (
	"fmt"
	"testing"
	"time"

	"github.com/rft-dev/rft/policy/linalg"
)

// matmulShapes lists the (m, n, k) of every matmul in one forward+backward
// step over n tokens: each linear layer is one NT forward, and an NN (input
// gradient) plus a TN (weight gradient) backward.
func matmulShapes(c *Config, n int) (nt, nn, tn [][3]int) {
	d, qd, kvd, I, V := c.Hidden, c.Heads*c.HeadDim, c.KVHeads*c.HeadDim, c.Intermediate, c.VocabSize
	lin := func(in, out int) {
		nt = append(nt, [3]int{n, out, in})
		nn = append(nn, [3]int{n, in, out})
		tn = append(tn, [3]int{out, in, n})
	}
	for range c.Layers {
		lin(d, qd)
		lin(d, kvd)
		lin(d, kvd)
		lin(qd, d)
		lin(d, I)
		lin(d, I)
		lin(I, d)
	}
	lin(d, V)
	return
}

func flops(shapes [][3]int) float64 {
	f := 0.0
	for _, s := range shapes {
		f += 2 * float64(s[0]) * float64(s[1]) * float64(s[2])
	}
	return f
}

// BenchmarkModelStep times one forward+backward training step of the
// demo-size model (DESIGN.md sizes) over 4 sequences of 128 tokens, and the
// same step's matmuls alone, so the report shows tokens/s, achieved GFLOP/s
// and the share of the step spent inside matmul.
func BenchmarkModelStep(b *testing.B) {
	c, _ := Preset("demo")
	lens := []int{128, 128, 128, 128}
	n := 512
	m, err := NewModel(InitParams[float32](c, 1))
	if err != nil {
		b.Fatal(err)
	}
	batch := randomBatch(c, lens, 1)
	nt, nnS, tnS := matmulShapes(c, n)
	matmulFlops := flops(nt) + flops(nnS) + flops(tnS)
	// Attention: QKᵀ and PV forward, four products backward, over the causal half.
	attn := 0.0
	for _, l := range lens {
		attn += 6 * 2 * float64(l*l/2) * float64(c.HeadDim*c.Heads)
	}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("demo/workers=%d", workers), func(b *testing.B) {
			defer SetWorkers(SetWorkers(workers))
			ws := NewWorkspace[float32](false)
			grads := NewParams[float32](c)
			if _, _, err := m.Loss(ws, batch, 0, grads); err != nil { // warm the buffers
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				if _, _, err := m.Loss(ws, batch, 0, grads); err != nil {
					b.Fatal(err)
				}
			}
			step := time.Since(start).Seconds() / float64(b.N)
			b.StopTimer()
			mm := timeMatmuls(nt, nnS, tnS, b.N)
			b.ReportMetric(float64(n)/step, "tokens/s")
			b.ReportMetric((matmulFlops+attn)/step/1e9, "GFLOP/s")
			b.ReportMetric(100*mm/step, "%matmul")
		})
	}
}

// timeMatmuls replays one step's matmul shapes and returns seconds per step.
func timeMatmuls(nt, nn, tn [][3]int, reps int) float64 {
	maxLen := 0
	for _, set := range [][][3]int{nt, nn, tn} {
		for _, s := range set {
			maxLen = max(maxLen, s[0]*s[1], s[0]*s[2], s[1]*s[2])
		}
	}
	a, bb, cc := make([]float32, maxLen), make([]float32, maxLen), make([]float32, maxLen)
	for i := range a {
		a[i], bb[i] = float32(i%7)*0.01, float32(i%5)*0.01
	}
	start := time.Now()
	for range reps {
		for _, s := range nt {
			linalg.NT(cc, a, bb, s[0], s[1], s[2], false)
		}
		for _, s := range nn {
			linalg.NN(cc, a, bb, s[0], s[1], s[2], true)
		}
		for _, s := range tn {
			linalg.TN(cc, a, bb, s[0], s[1], s[2], true)
		}
	}
	return time.Since(start).Seconds() / float64(reps)
}
