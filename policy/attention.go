package policy

import (
	"fmt"
	"math"
)

// attnScratchLen is the length of the probabilities buffer that
// attentionForward fills and attentionBackward reads: heads·Σ len².
func attnScratchLen(lens []int, heads int) int {
	total := 0
	for _, l := range lens {
		total += l * l
	}
	return heads * total
}

// attentionForward is causal grouped-query self-attention, each sequence of
// the packed batch attending only to itself:
//
//	out_i = Σ_{j≤i} P_ij v_j,  P_i = softmax_j(q_i·k_j / sqrt(hd)),  j over the same sequence
//
// Query head h reads key/value head h/(H/KV), as in HF's repeat_kv. The
// softmax runs in the working precision T, with the row maximum subtracted.
//
// Shapes: q, out [n, H·hd]; k, v [n, KV·hd]; n = Σ lens; H % KV == 0.
//
// probs [attnScratchLen(lens, H)] saves P for the backward pass, laid out per
// sequence s, then per query head h, as a square [len_s, len_s] matrix with
// the query row first: P_ij of sequence s, head h sits at
// base_s + (h·len_s + i)·len_s + j, where base_s = H·Σ_{s'<s} len_s'². Entries
// above the diagonal (j > i) are written as 0.
//
// Work is split over (sequence, head) pairs; each pair writes its own columns
// of out and its own block of probs, and every sum runs in a fixed order, so
// the result is independent of the worker count and of the other sequences.
func attentionForward[T Float](out, probs, q, k, v []T, lens []int, heads, kvHeads, headDim int) {
	n, seqOff, probOff := attnOffsets(lens, heads, kvHeads)
	qw, kw := heads*headDim, kvHeads*headDim
	out, q, k, v = out[:n*qw], q[:n*qw], k[:n*kw], v[:n*kw]
	probs = probs[:attnScratchLen(lens, heads)]
	group := heads / kvHeads
	scale := T(1 / math.Sqrt(float64(headDim)))

	parallelFor(len(lens)*heads, func(item int) {
		s, h := item/heads, item%heads
		L, t0 := lens[s], seqOff[s]
		if L == 0 {
			return
		}
		qc, kc := h*headDim, (h/group)*headDim // column offsets of the head
		kh, vh := k[t0*kw+kc:], v[t0*kw+kc:]   // key/value row j of the head at j·kw
		for i := range L {
			p := probs[probOff[s]+(h*L+i)*L : probOff[s]+(h*L+i+1)*L]
			row := (t0+i)*qw + qc
			attnRow(out[row:row+headDim], p[:i+1], q[row:row+headDim], kh, vh, kw, scale)
			clear(p[i+1:])
		}
	})
}

// attnRow computes one query row of one head: p = softmax(q·k_j·scale) over
// the len(p) keys k_j = k[j·stride : j·stride+hd], then out = Σ_j p_j v_j
// (v laid out like k); hd = len(q) = len(out). The KV-cached sampler calls it
// too, so that decoding a token gives bitwise the forward pass's numbers.
func attnRow[T Float](out, p, q, k, v []T, stride int, scale T) {
	hd := len(q)
	attnScores(p, q, k, stride)
	m := T(math.Inf(-1))
	for j := range p {
		p[j] *= scale
		m = max(m, p[j])
	}
	var sum T
	for j := range p {
		e := T(math.Exp(float64(p[j] - m)))
		p[j] = e
		sum += e
	}
	inv := 1 / sum
	for j := range p {
		p[j] *= inv
	}
	clear(out[:hd])
	attnAccumulate(out[:hd], p, v, stride)
}

// attentionBackward accumulates the gradients of attentionForward into dq
// [n, H·hd], dk and dv [n, KV·hd], from dout [n, H·hd], the forward inputs and
// the saved probs:
//
//	dP_ij = dout_i·v_j,  dS_ij = P_ij (dP_ij − Σ_l P_il dP_il)
//	dq_i += Σ_j dS_ij k_j / sqrt(hd),  dk_j += Σ_i dS_ij q_i / sqrt(hd),  dv_j += Σ_i P_ij dout_i
//
// Work is split over (sequence, kv head) pairs, and the H/KV query heads that
// share a kv head run in order inside one pair, so every element of dk and dv
// receives its terms in a fixed order whatever the worker count: query head
// by query head, and within a head by blocks of four query rows from row 0
// (a block's four terms are summed first, so that dk and dv rows are loaded
// and stored a quarter as often). It allocates the dS rows of those blocks,
// four per pair, once per call.
func attentionBackward[T Float](dq, dk, dv, dout, q, k, v, probs []T, lens []int, heads, kvHeads, headDim int) {
	n, seqOff, probOff := attnOffsets(lens, heads, kvHeads)
	qw, kw := heads*headDim, kvHeads*headDim
	dq, dout, q = dq[:n*qw], dout[:n*qw], q[:n*qw]
	dk, dv, k, v = dk[:n*kw], dv[:n*kw], k[:n*kw], v[:n*kw]
	probs = probs[:attnScratchLen(lens, heads)]
	group := heads / kvHeads
	scale := T(1 / math.Sqrt(float64(headDim)))
	scratch := make([]T, 4*kvHeads*n) // pair (s, g) owns [4(g·n + t0), 4(g·n + t0 + len_s))

	parallelFor(len(lens)*kvHeads, func(item int) {
		s, g := item/kvHeads, item%kvHeads
		L, t0 := lens[s], seqOff[s]
		if L == 0 {
			return
		}
		kc := g * headDim
		// Row j of the kv head in this sequence starts at j·kw in these.
		kh, vh, dkh, dvh := k[t0*kw+kc:], v[t0*kw+kc:], dk[t0*kw+kc:], dv[t0*kw+kc:]
		dsBlock := scratch[4*(g*n+t0) : 4*(g*n+t0+L)] // row r of a block at r·L
		var qr, dor, pr, dsr [4][]T                   // the block's q, dout, P and dS rows
		for h := g * group; h < (g+1)*group; h++ {
			qc, pBase := h*headDim, probOff[s]+h*L*L
			for i0 := 0; i0 < L; i0 += 4 {
				rows := min(4, L-i0)
				keys := i0 + rows // keys 0..keys-1 receive gradient from this block
				for r := range rows {
					i, at := i0+r, (t0+i0+r)*qw+qc
					qr[r], dor[r] = q[at:at+headDim], dout[at:at+headDim]
					pr[r] = probs[pBase+i*L : pBase+i*L+keys] // zero past the diagonal
					ds := dsBlock[r*L : r*L+keys]
					dsr[r] = ds
					attnScores(ds[:i+1], dor[r], vh, kw) // dP_ij
					var pdp T                            // Σ_l P_il dP_il
					for j, dp := range ds[:i+1] {
						pdp += pr[r][j] * dp
					}
					for j := range ds[:i+1] {
						ds[j] = pr[r][j] * (ds[j] - pdp) * scale
					}
					clear(ds[i+1:])
					attnAccumulate(dq[at:at+headDim], ds[:i+1], kh, kw)
				}
				if rows == 4 {
					for j := range keys {
						attnAxpy4(dkh[j*kw:j*kw+headDim], dsr[0][j], dsr[1][j], dsr[2][j], dsr[3][j], qr[0], qr[1], qr[2], qr[3])
						attnAxpy4(dvh[j*kw:j*kw+headDim], pr[0][j], pr[1][j], pr[2][j], pr[3][j], dor[0], dor[1], dor[2], dor[3])
					}
					continue
				}
				for r := range rows { // the last, short block
					for j := range i0 + r + 1 {
						attnAxpy(dkh[j*kw:j*kw+headDim], dsr[r][j], qr[r])
						attnAxpy(dvh[j*kw:j*kw+headDim], pr[r][j], dor[r])
					}
				}
			}
		}
	})
}

// attnOffsets validates the head counts and returns the token count, each
// sequence's first row and each sequence's first entry in probs.
func attnOffsets(lens []int, heads, kvHeads int) (n int, seqOff, probOff []int) {
	if kvHeads <= 0 || heads%kvHeads != 0 {
		panic(fmt.Sprintf("attention: %d query heads are not a multiple of %d kv heads", heads, kvHeads))
	}
	seqOff, probOff = make([]int, len(lens)), make([]int, len(lens))
	pos := 0
	for s, l := range lens {
		seqOff[s], probOff[s] = n, pos
		n, pos = n+l, pos+heads*l*l
	}
	return n, seqOff, probOff
}

// attnScores sets p[j] = q·x_j for the len(p) rows x_j = x[j·stride :
// j·stride+len(q)]. Four rows share each load of q; every dot product is one
// sequential chain in element order, so a row's value does not depend on
// whether it fell in a block of four.
func attnScores[T Float](p, q, x []T, stride int) {
	hd := len(q)
	j := 0
	for ; j+4 <= len(p); j += 4 {
		r := j * stride
		x0, x1 := x[r:r+hd], x[r+stride:r+stride+hd]
		x2, x3 := x[r+2*stride:r+2*stride+hd], x[r+3*stride:r+3*stride+hd]
		var s0, s1, s2, s3 T
		for c, qc := range q {
			s0 += qc * x0[c]
			s1 += qc * x1[c]
			s2 += qc * x2[c]
			s3 += qc * x3[c]
		}
		p[j], p[j+1], p[j+2], p[j+3] = s0, s1, s2, s3
	}
	for ; j < len(p); j++ {
		xj := x[j*stride : j*stride+hd]
		var s T
		for c, qc := range q {
			s += qc * xj[c]
		}
		p[j] = s
	}
}

// attnAccumulate adds Σ_j w_j x_j to y, over the len(w) rows x_j =
// x[j·stride : j·stride+len(y)]. Rows are taken four at a time, which loads
// and stores y a quarter as often; the grouping always starts at j = 0, so
// the rounding depends on nothing but the inputs.
func attnAccumulate[T Float](y, w, x []T, stride int) {
	hd := len(y)
	j := 0
	for ; j+4 <= len(w); j += 4 {
		r := j * stride
		attnAxpy4(y, w[j], w[j+1], w[j+2], w[j+3],
			x[r:r+hd], x[r+stride:r+stride+hd], x[r+2*stride:r+2*stride+hd], x[r+3*stride:r+3*stride+hd])
	}
	for ; j < len(w); j++ {
		attnAxpy(y, w[j], x[j*stride:j*stride+hd])
	}
}

// attnAxpy4 adds a0·x0 + a1·x1 + a2·x2 + a3·x3 to y element-wise.
func attnAxpy4[T Float](y []T, a0, a1, a2, a3 T, x0, x1, x2, x3 []T) {
	x0, x1, x2, x3 = x0[:len(y)], x1[:len(y)], x2[:len(y)], x3[:len(y)]
	for i := range y {
		y[i] += a0*x0[i] + a1*x1[i] + a2*x2[i] + a3*x3[i]
	}
}

// attnAxpy adds alpha·x to y element-wise (len(y) elements).
func attnAxpy[T Float](y []T, alpha T, x []T) {
	x = x[:len(y)]
	for i := range y {
		y[i] += alpha * x[i]
	}
}
