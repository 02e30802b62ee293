package policy

// embeddingForward gathers token embeddings: out[t] = table[ids[t]].
// Shapes: out [len(ids), d]; table [V, d]. The caller has checked 0 <= id < V.
func embeddingForward[T Float](out, table []T, ids []int, d int) {
	out = out[:len(ids)*d]
	parallelRange(len(ids), rowGrain(d), func(lo, hi int) {
		for t := lo; t < hi; t++ {
			copy(out[t*d:(t+1)*d], table[ids[t]*d:(ids[t]+1)*d])
		}
	})
}

// embeddingBackward accumulates dtable[ids[t]] += dout[t] over the tokens in
// ascending order, so a row hit by several tokens sums them in token order
// and sequence-by-sequence calls equal one whole-batch call bitwise. It is
// split over goroutines by columns, which keeps that order per element.
// Shapes: dtable [V, d]; dout [len(ids), d].
func embeddingBackward[T Float](dtable, dout []T, ids []int, d int) {
	dout = dout[:len(ids)*d]
	parallelRange(d, rowGrain(len(ids)), func(lo, hi int) {
		for t, id := range ids {
			src, dst := dout[t*d+lo:t*d+hi], dtable[id*d+lo:id*d+hi]
			for j, g := range src {
				dst[j] += g
			}
		}
	})
}
