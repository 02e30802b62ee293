package policy

import "math"

// tokenLogprobsForward computes, for each row t of logits [n, V] (n =
// len(targets)), the log-probability of targets[t] under the sampling
// distribution softmax(logits[t] / temperature) (DESIGN.md decision 6):
//
//	logp[t] = z_y − log Σ_j exp(z_j),  z = logits[t] / temperature,  y = targets[t]
//
// targets[t] < 0 marks a masked row (prompt or padding): logp[t] = 0.
// temperature > 0 is the caller's check. Each row is computed in float64 from
// the T logits and rounded once: a float32 sum of 32k exponentials in a fixed
// order would lose several digits, and the cost is small next to the LM-head
// matmul that produced the logits. Rows are independent and split over
// goroutines, so a row's result never depends on the batch.
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
			var pz float64
			for _, x := range row {
				z := float64(x) * invT
				if p := math.Exp(z - lse); p > 0 { // a −Inf logit adds 0, not 0·−Inf = NaN
					pz += p * z
				}
			}
			ent[t] = T(lse - pz)
		}
	})
}

// logSumExp returns log Σ_j exp(row[j]·invT) in float64, subtracting the
// maximum first so that no exponential overflows.
func logSumExp[T Float](row []T, invT float64) float64 {
	m := math.Inf(-1)
	for _, x := range row {
		m = max(m, float64(x)*invT)
	}
	var sum float64
	for _, x := range row {
		sum += math.Exp(float64(x)*invT - m)
	}
	return m + math.Log(sum)
}
