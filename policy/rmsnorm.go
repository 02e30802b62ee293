package policy

import "math"

// rmsnormForward normalises each row of x to unit root mean square and scales
// it by w, as Hugging Face's LlamaRMSNorm and Qwen2/Qwen3 RMSNorm do:
//
//	out[t, j] = x[t, j] · rstd[t] · w[j],  rstd[t] = 1 / sqrt(mean_j x[t, j]² + eps)
//
// The weight multiplies after normalisation (not 1+w as in Gemma). Everything
// is computed in the working precision T; the sum of squares runs in column
// order. Shapes: out, x [n, d]; w [d]; rstd [n] is written and saved for the
// backward pass. Qwen3's QK-norm calls it with n = tokens·heads, d = head_dim.
func rmsnormForward[T Float](out, rstd, x, w []T, n, d int, eps float64) {
	out, rstd, x, w = out[:n*d], rstd[:n], x[:n*d], w[:d]
	parallelRange(n, rowGrain(d), func(lo, hi int) {
		for t := lo; t < hi; t++ {
			xt, ot := x[t*d:(t+1)*d], out[t*d:(t+1)*d]
			var ss T
			for _, v := range xt {
				ss += v * v
			}
			r := T(1 / math.Sqrt(float64(ss/T(d)+T(eps))))
			rstd[t] = r
			for j, v := range xt {
				ot[j] = v * r * w[j]
			}
		}
	})
}

// rmsnormBackward accumulates the gradients of rmsnormForward:
//
//	dw[j]    += Σ_t dout[t, j] · x̂[t, j],              x̂ = x · rstd
//	dx[t, j] += rstd[t] · (g[t, j] − x̂[t, j] · mean_k g[t, k]·x̂[t, k]),  g = dout · w
//
// Shapes: dx, dout, x [n, d]; dw, w [d]; rstd [n] from the forward pass.
// dw sums over tokens in ascending order, one chain per element starting from
// dw's current value, so calling it sequence by sequence on the same dw gives
// bitwise the whole-batch result (batch invariance, DESIGN.md decision 5). For
// that it is split over goroutines by columns, never by rows.
func rmsnormBackward[T Float](dx, dw, dout, x, w, rstd []T, n, d int) {
	dx, dw, dout, x, w, rstd = dx[:n*d], dw[:d], dout[:n*d], x[:n*d], w[:d], rstd[:n]
	parallelRange(n, rowGrain(d), func(lo, hi int) {
		for t := lo; t < hi; t++ {
			xt, gt, dxt := x[t*d:(t+1)*d], dout[t*d:(t+1)*d], dx[t*d:(t+1)*d]
			r := rstd[t]
			var dot T // Σ_k g_k · x̂_k
			for k, v := range xt {
				dot += gt[k] * w[k] * (v * r)
			}
			dot /= T(d)
			for k, v := range xt {
				dxt[k] += r * (gt[k]*w[k] - (v*r)*dot)
			}
		}
	})
	parallelRange(d, rowGrain(n), func(lo, hi int) {
		dwc := dw[lo:hi]
		for t := range n {
			xt, gt := x[t*d+lo:t*d+hi], dout[t*d+lo:t*d+hi]
			r := rstd[t]
			for j := range dwc {
				dwc[j] += gt[j] * (xt[j] * r)
			}
		}
	})
}
