package policy

import (
	"math"
	"unsafe"
)

// tokenLogprobsForward computes, for each row t of logits [n, V] (n =
// len(targets)), the log-probability of targets[t] under the sampling
// distribution softmax(logits[t] / temperature) (DESIGN.md decision 6):
//
//	logp[t] = z_y − log Σ_j exp(z_j),  z = logits[t] / temperature,  y = targets[t]
//
// targets[t] < 0 marks a masked row (prompt or padding): logp[t] = 0.
// temperature > 0 is the caller's check. Each row is computed in float64 from
// the T logits and rounded once: a float32 sum of 32k exponentials in a fixed
// order would lose several digits. For float32 logits the exponentials come
// from expFast (relative error below 2^-33, far under float32 rounding, and
// about twice as fast as math.Exp), still summed in float64; float64 logits
// use math.Exp. Rows are independent and split over goroutines, so a row's
// result never depends on the batch.
func tokenLogprobsForward[T Float](logp, logits []T, targets []int, V int, temperature float64) {
	n := len(targets)
	logp, logits = logp[:n], logits[:n*V]
	invT := 1 / temperature
	parallelRange(n, rowGrain(V), func(lo, hi int) {
		for t := lo; t < hi; t++ {
			y := targets[t]
			if y < 0 {
				logp[t] = 0
				continue
			}
			row := logits[t*V : (t+1)*V]
			logp[t] = T(float64(row[y])*invT - logSumExp(row, invT))
		}
	})
}

// tokenLogprobsBackward accumulates the gradient of tokenLogprobsForward into
// dlogits [n, V], given the upstream gradient dlogp [n]:
//
//	dlogits[t, j] += dlogp[t] · (1[j = y] − softmax(z)_j) / temperature
//
// Masked rows (targets[t] < 0) are left untouched. The softmax is recomputed
// from logits, as in the forward pass, rather than stored ([n, V] would be as
// large as the logits). The same kernel serves the masked cross-entropy
// (dlogp = −1/count) and GRPO's per-token policy-gradient weights.
func tokenLogprobsBackward[T Float](dlogits, dlogp, logits []T, targets []int, V int, temperature float64) {
	n := len(targets)
	dlogits, dlogp, logits = dlogits[:n*V], dlogp[:n], logits[:n*V]
	invT := 1 / temperature
	parallelRange(n, rowGrain(V), func(lo, hi int) {
		for t := lo; t < hi; t++ {
			y := targets[t]
			if y < 0 {
				continue
			}
			row, drow := logits[t*V:(t+1)*V], dlogits[t*V:(t+1)*V]
			lse := logSumExp(row, invT)
			g := float64(dlogp[t]) * invT
			// dlogits_j += −g·p_j, and at the target g·(1 − p_y), computed
			// before rounding so that it keeps its digits when p_y ≈ 1.
			if unsafe.Sizeof(T(0)) == 4 { // resolved at compile time, per instantiation
				var buf [expChunk]float64
				for c0 := 0; c0 < len(row); c0 += expChunk {
					chunk := row[c0:min(c0+expChunk, len(row))]
					dc := drow[c0 : c0+len(chunk)]
					b := buf[:len(chunk)]
					for i, x := range chunk {
						b[i] = float64(x)*invT - lse
					}
					exp64s(b, b) // bitwise expFast of each
					yc := y - c0
					var dy T
					if yc >= 0 && yc < len(b) {
						dy = dc[yc]
					}
					for i, p := range b {
						dc[i] += T(-g * p)
					}
					if yc >= 0 && yc < len(b) { // the target's term instead
						dc[yc] = dy + T(g*(1-b[yc]))
					}
				}
				continue
			}
			for j, x := range row {
				p := math.Exp(float64(x)*invT - lse)
				if j == y {
					drow[j] += T(g * (1 - p))
				} else {
					drow[j] += T(-g * p)
				}
			}
		}
	})
}

// tokenEntropy writes the entropy of softmax(logits[t] / temperature) for each
// row t of logits [n, V] into ent [n] (n = len(ent)):
//
//	H = −Σ_j p_j log p_j = log Σ_j exp(z_j) − Σ_j p_j z_j
//
// It is a metric only (no backward), computed in float64 per row like the
// log-probabilities.
func tokenEntropy[T Float](ent, logits []T, V int, temperature float64) {
	n := len(ent)
	logits = logits[:n*V]
	invT := 1 / temperature
	parallelRange(n, rowGrain(V), func(lo, hi int) {
		for t := lo; t < hi; t++ {
			row := logits[t*V : (t+1)*V]
			lse := logSumExp(row, invT)
			exp := math.Exp
			if unsafe.Sizeof(T(0)) == 4 {
				exp = expFast // a metric: the call through exp costs little here
			}
			var pz float64
			for _, x := range row {
				z := float64(x) * invT
				// A −Inf logit adds 0, not 0·−Inf = NaN (and expFast, which
				// clamps, gives e^−708 rather than 0 for it: test z, not p).
				if z > math.Inf(-1) {
					pz += exp(z-lse) * z
				}
			}
			ent[t] = T(lse - pz)
		}
	})
}

// expChunk is the number of exponentials the float32 row kernels compute at
// once, into a stack buffer.
const expChunk = 256

// logSumExp returns log Σ_j exp(row[j]·invT) in float64, subtracting the
// maximum first so that no exponential overflows. The exponentials are
// expFast for float32 rows and math.Exp for float64 ones.
func logSumExp[T Float](row []T, invT float64) float64 {
	m := math.Inf(-1)
	for _, x := range row {
		if z := float64(x) * invT; z > m { // a NaN is skipped here but still poisons the sum
			m = z
		}
	}
	var sum float64
	if unsafe.Sizeof(T(0)) == 4 { // resolved at compile time, per instantiation
		// expFast over chunks, vectorised by exp64s (bitwise the scalar
		// values), summed in order from j = 0.
		var buf [expChunk]float64
		for c0 := 0; c0 < len(row); c0 += expChunk {
			chunk := row[c0:min(c0+expChunk, len(row))]
			b := buf[:len(chunk)]
			for i, x := range chunk {
				b[i] = float64(x)*invT - m
			}
			exp64s(b, b)
			for _, e := range b {
				sum += e
			}
		}
	} else {
		for _, x := range row {
			sum += math.Exp(float64(x)*invT - m)
		}
	}
	return m + math.Log(sum)
}
