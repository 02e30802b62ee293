package policy

import (
	"fmt"
	"math"
	"sync"
	"unsafe"

	"github.com/rft-dev/rft/policy/linalg"
)

// Attention runs through the packed SIMD matmul (DESIGN.md decision 3): per
// (sequence, kv head) the head's rows of q, k, v are gathered into
// contiguous scratch ([len, hd], row stride hd instead of H·hd), and every
// product (Q·Kᵀ, P·V and the four of the backward pass) is one serial
// linalg call inside the (sequence, kv head) work item. linalg computes each
// output element as one chain over k that depends only on that element's
// inputs, never on m or n, so the results are batch- and worker-invariant by
// construction.
//
// Causality is exploited by blocks of attnBlock query rows: block [i0, i1)
// meets only keys [0, i1), which skips most of the masked upper triangle
// (at 128 tokens, 2/3 of the square is computed instead of all of it). The
// masked entries a block does compute are zeroed before they are used, so
// they add exact zeros to the chains.

// attnBlock is the number of query rows processed together: a multiple of
// the matmul kernel's 6-row and 16-column tiles, so that both a block's rows
// and its key count i1 fill whole tiles.
const attnBlock = 48

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
// Work is split over (sequence, kv head) pairs; each pair writes its own
// columns of out and its own blocks of probs, and every sum runs in a fixed
// order, so the result is independent of the worker count and of the other
// sequences. Row i of head h gets bitwise what attnRow gives for q_i against
// keys and values 0..i of its sequence.
func attentionForward[T Float](out, probs, q, k, v []T, lens []int, heads, kvHeads, headDim int) {
	n, seqOff, probOff := attnOffsets(lens, heads, kvHeads)
	hd, qw, kw := headDim, heads*headDim, kvHeads*headDim
	out, q, k, v = out[:n*qw], q[:n*qw], k[:n*kw], v[:n*kw]
	probs = probs[:attnScratchLen(lens, heads)]
	group := heads / kvHeads
	scale := T(1 / math.Sqrt(float64(headDim)))

	parallelFor(len(lens)*kvHeads, func(item int) {
		s, g := item/kvHeads, item%kvHeads
		L, t0 := lens[s], seqOff[s]
		if L == 0 {
			return
		}
		buf := getAttnBuf[T](4*L*hd + attnBlock*L)
		defer attnBufPut(buf)
		b := *buf
		kh, vh, qh, oh := b[:L*hd], b[L*hd:2*L*hd], b[2*L*hd:3*L*hd], b[3*L*hd:4*L*hd]
		sc := b[4*L*hd:]
		gatherRows(kh, k[t0*kw+g*hd:], kw, hd, L)
		gatherRows(vh, v[t0*kw+g*hd:], kw, hd, L)
		for h := g * group; h < (g+1)*group; h++ {
			gatherRows(qh, q[t0*qw+h*hd:], qw, hd, L)
			pBase := probOff[s] + h*L*L
			for i0 := 0; i0 < L; i0 += attnBlock {
				i1 := min(i0+attnBlock, L)
				rows := i1 - i0
				p := sc[:rows*i1] // [rows, i1]: scores, then probabilities
				linalg.NTSerial(p, qh[i0*hd:i1*hd], kh[:i1*hd], rows, i1, hd, false)
				for r := range rows {
					i := i0 + r
					pr := p[r*i1 : (r+1)*i1]
					softmaxRow(pr[:i+1], scale)
					clear(pr[i+1:])
					saved := probs[pBase+i*L : pBase+(i+1)*L]
					copy(saved, pr)
					clear(saved[i1:])
				}
				linalg.NNSerial(oh[i0*hd:i1*hd], p, vh[:i1*hd], rows, hd, i1, false)
			}
			scatterRows(out[t0*qw+h*hd:], qw, oh, hd, L, false)
		}
	})
}

// attnRow computes one query row of one head: p = softmax(q·k_j·scale) over
// the len(p) keys, then out = Σ_j p_j v_j, where k and v hold the head's keys
// and values contiguously ([len(p), hd], hd = len(q) = len(out)).
//
// It is the single-row form of attentionForward, for the KV-cached sampler:
// with the cache laid out per (layer, kv head) as [positions, hd] and scale =
// 1/sqrt(hd), attnRow over positions 0..i gives bitwise the out row and the
// probabilities that the training forward computes for query i
// (TestAttnRowMatchesForward), because both take the same linalg chains and
// the same softmaxRow.
func attnRow[T Float](out, p, q, k, v []T, scale T) {
	hd, n := len(q), len(p)
	linalg.NTSerial(p, q, k[:n*hd], 1, n, hd, false)
	softmaxRow(p, scale)
	linalg.NNSerial(out[:hd], p, v[:n*hd], 1, hd, n, false)
}

// softmaxRow replaces the scores p by softmax(p·scale), in T, subtracting
// the row maximum. Float32 rows use expFast (within 0.51 ulp once rounded),
// float64 rows math.Exp. The sum runs sequentially from j = 0.
func softmaxRow[T Float](p []T, scale T) {
	m := T(math.Inf(-1))
	for _, x := range p {
		if x > m {
			m = x
		}
	}
	m *= scale // = max_j(p_j·scale): scale > 0 and rounding is monotonic
	var sum T
	if unsafe.Sizeof(T(0)) == 4 { // resolved at compile time, per instantiation
		for j, x := range p {
			p[j] = x*scale - m
		}
		if len(p) > 0 {
			p32 := unsafe.Slice((*float32)(unsafe.Pointer(&p[0])), len(p))
			exp32s(p32, p32) // bitwise T(expFast(float64(·))), vectorised
		}
		for _, e := range p {
			sum += e
		}
	} else {
		for j, x := range p {
			e := T(math.Exp(float64(x*scale - m)))
			p[j] = e
			sum += e
		}
	}
	inv := 1 / sum
	for j := range p {
		p[j] *= inv
	}
}

// attentionBackward accumulates the gradients of attentionForward into dq
// [n, H·hd], dk and dv [n, KV·hd], from dout [n, H·hd], the forward inputs and
// the saved probs:
//
//	dP_ij = dout_i·v_j,  dS_ij = P_ij (dP_ij − Σ_l P_il dP_il)
//	dq_i += Σ_j dS_ij k_j / sqrt(hd),  dk_j += Σ_i dS_ij q_i / sqrt(hd),  dv_j += Σ_i P_ij dout_i
//
// Work is split over (sequence, kv head) pairs, and the H/KV query heads that
// share a kv head run in order inside one pair, block of query rows by block,
// each block's terms accumulated into per-pair dk and dv scratch (linalg.TN
// with acc: one chain per element, in query-row order). So every element of
// dq, dk and dv receives its terms in a fixed order whatever the worker
// count and whatever else is in the batch.
func attentionBackward[T Float](dq, dk, dv, dout, q, k, v, probs []T, lens []int, heads, kvHeads, headDim int) {
	n, seqOff, probOff := attnOffsets(lens, heads, kvHeads)
	hd, qw, kw := headDim, heads*headDim, kvHeads*headDim
	dq, dout, q = dq[:n*qw], dout[:n*qw], q[:n*qw]
	dk, dv, k, v = dk[:n*kw], dv[:n*kw], k[:n*kw], v[:n*kw]
	probs = probs[:attnScratchLen(lens, heads)]
	group := heads / kvHeads
	scale := T(1 / math.Sqrt(float64(headDim)))

	parallelFor(len(lens)*kvHeads, func(item int) {
		s, g := item/kvHeads, item%kvHeads
		L, t0 := lens[s], seqOff[s]
		if L == 0 {
			return
		}
		buf := getAttnBuf[T](6*L*hd + attnBlock*hd + 2*attnBlock*L)
		defer attnBufPut(buf)
		b := *buf
		kh, vh, qh, doh := b[:L*hd], b[L*hd:2*L*hd], b[2*L*hd:3*L*hd], b[3*L*hd:4*L*hd]
		dkh, dvh := b[4*L*hd:5*L*hd], b[5*L*hd:6*L*hd]
		b = b[6*L*hd:]
		dqb, pb, ds := b[:attnBlock*hd], b[attnBlock*hd:attnBlock*(hd+L)], b[attnBlock*(hd+L):attnBlock*(hd+2*L)]
		gatherRows(kh, k[t0*kw+g*hd:], kw, hd, L)
		gatherRows(vh, v[t0*kw+g*hd:], kw, hd, L)
		clear(dkh)
		clear(dvh)
		for h := g * group; h < (g+1)*group; h++ {
			gatherRows(qh, q[t0*qw+h*hd:], qw, hd, L)
			gatherRows(doh, dout[t0*qw+h*hd:], qw, hd, L)
			pBase := probOff[s] + h*L*L
			for i0 := 0; i0 < L; i0 += attnBlock {
				i1 := min(i0+attnBlock, L)
				rows := i1 - i0
				p, dp := pb[:rows*i1], ds[:rows*i1] // [rows, i1]
				gatherRows(p, probs[pBase+i0*L:], L, i1, rows)
				linalg.NTSerial(dp, doh[i0*hd:i1*hd], vh[:i1*hd], rows, i1, hd, false)
				for r := range rows {
					i := i0 + r
					pr, dr := p[r*i1:r*i1+i+1], dp[r*i1:(r+1)*i1]
					var pdp T // Σ_l P_il dP_il
					for j, x := range pr {
						pdp += x * dr[j]
					}
					for j, x := range pr {
						dr[j] = x * (dr[j] - pdp) * scale // now dS_ij
					}
					clear(dr[i+1:])
				}
				linalg.NNSerial(dqb[:rows*hd], dp, kh[:i1*hd], rows, hd, i1, false)
				scatterRows(dq[(t0+i0)*qw+h*hd:], qw, dqb, hd, rows, true)
				linalg.TNSerial(dkh[:i1*hd], dp, qh[i0*hd:i1*hd], i1, hd, rows, true)
				linalg.TNSerial(dvh[:i1*hd], p, doh[i0*hd:i1*hd], i1, hd, rows, true)
			}
		}
		scatterRows(dk[t0*kw+g*hd:], kw, dkh, hd, L, true)
		scatterRows(dv[t0*kw+g*hd:], kw, dvh, hd, L, true)
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

// gatherRows copies rows of width w, stride apart in src, into dst
// contiguously: dst[r·w : (r+1)·w] = src[r·stride : r·stride+w].
func gatherRows[T Float](dst, src []T, stride, w, rows int) {
	for r := range rows {
		copy(dst[r*w:(r+1)*w], src[r*stride:r*stride+w])
	}
}

// scatterRows is gatherRows' inverse: it writes (or, with add, adds) the
// contiguous rows of src into dst, stride apart.
func scatterRows[T Float](dst []T, stride int, src []T, w, rows int, add bool) {
	for r := range rows {
		d, s := dst[r*stride:r*stride+w], src[r*w:(r+1)*w]
		if !add {
			copy(d, s)
			continue
		}
		for c, x := range s {
			d[c] += x
		}
	}
}

// attnBufs hold per-goroutine attention scratch, one pool per element size
// (float32, float64), so that a training step allocates nothing.
var attnBufs [2]sync.Pool

func attnPool[T Float]() *sync.Pool {
	if unsafe.Sizeof(T(0)) == 4 {
		return &attnBufs[0]
	}
	return &attnBufs[1]
}

// getAttnBuf returns a scratch slice of n elements (contents undefined).
func getAttnBuf[T Float](n int) *[]T {
	if b, ok := attnPool[T]().Get().(*[]T); ok && cap(*b) >= n {
		*b = (*b)[:n]
		return b
	}
	b := make([]T, n)
	return &b
}

func attnBufPut[T Float](b *[]T) { attnPool[T]().Put(b) }
