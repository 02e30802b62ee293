package policy

import "github.com/rft-dev/rft/policy/linalg"

// linearForward computes out[n,outDim] = x[n,in] · w[outDim,in]ᵀ + b, with w in
// nn.Linear's [out, in] layout (the layout HF checkpoints store). b may be nil.
func linearForward[T Float](out, x, w, b []T, n, in, outDim int) {
	linalg.NT(out, x, w, n, outDim, in, false)
	if b == nil {
		return
	}
	for t := 0; t < n; t++ {
		row := out[t*outDim : (t+1)*outDim]
		for j := range row {
			row[j] += b[j]
		}
	}
}

// linearBackward accumulates dx[n,in] += dout·w, dw[outDim,in] += doutᵀ·x and
// db += Σ_t dout[t]. dx may be nil (nothing upstream needs it); db is nil when
// the layer has no bias. The dw and db reductions run over tokens in order, so
// that accumulating sequences one at a time gives the batch's bits.
func linearBackward[T Float](dx, dw, db, dout, x, w []T, n, in, outDim int) {
	if dx != nil {
		linalg.NN(dx, dout, w, n, in, outDim, true)
	}
	linalg.TN(dw, dout, x, outDim, in, n, true)
	if db == nil {
		return
	}
	for t := 0; t < n; t++ {
		row := dout[t*outDim : (t+1)*outDim]
		for j := range row {
			db[j] += row[j]
		}
	}
}
