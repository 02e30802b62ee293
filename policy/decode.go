package policy

import (
	"math"

	"github.com/rft-dev/rft/policy/linalg"
)

// The two forward passes of the generation engine. Prefill runs the
// training forward (Model.layerForward, the same code and the same bits)
// over a packed batch of prompts and keeps each layer's K and V; a decode
// step runs one new token for each of B sequences, the linear layers as one
// [B, d]·Wᵀ matmul per weight and attention row by row against each
// sequence's own cache.
//
// Every kernel involved computes a row from that row's inputs alone
// (linalg's per-element chains, row-wise RMSNorm and RoPE, per-sequence
// attention), so a sequence's logits do not depend on which other
// sequences share the step, and a decode step gives bitwise the row that
// the training forward over the whole sequence gives at that position
// (TestDecodeMatchesForward).

// linearDecode is linearForward for the few rows of a decode step, with
// the same bits. linalg packs its right-hand operand on every call; for
// x·Wᵀ that is the whole weight matrix, transposed, which at a handful of
// rows costs several times the multiply. So it computes the transposed
// product W·xᵀ instead: W is the left operand, which the kernel reads in
// place, and only x is packed. Each element is the same chain over the same
// products in the same order (a·b = b·a exactly, fused or not), so the
// bits are those of linearForward (TestDecodeMatchesForward). tmp holds
// the [outDim, n] product.
func linearDecode(out, x, w, b, tmp []float32, n, in, outDim int) {
	tmp = tmp[:outDim*n]
	linalg.NT(tmp, w, x, outDim, n, in, false)
	out = out[:n*outDim]
	for t := range n {
		row := out[t*outDim : (t+1)*outDim]
		for j := range row {
			row[j] = tmp[j*n+t]
		}
		if b != nil {
			for j := range row {
				row[j] += b[j]
			}
		}
	}
}

// decodeRow is one sequence in a decode step: the token to feed, its
// position, and the two segments of its cache (the prompt's, positions
// [0, prompt.n), and its own, positions prompt.n onwards).
type decodeRow struct {
	token, pos  int
	prompt, own *kvSeg
}

// decodeWS holds the buffers of prefill and decode steps for one model;
// they grow to the largest batch seen and are reused.
type decodeWS struct {
	cap                                 int // rows the decode buffers hold
	x, xn, rstd, q, k, v, qRaw, kRaw    []float32
	qRstd, kRstd, attn, mid, xn2, rstd2 []float32
	gate, up, act, hf, rstdF, logits    []float32
	scores                              []float32 // [rows·kvHeads, MaxPositions]
	tmp                                 []float32 // linearDecode's transposed product
	toks                                []int
	pre                                 *Workspace[float32]
	preCap, preAttn                     int
	resA, resB                          []float32
}

func (dw *decodeWS) ensure(c *Config, B int) {
	if B <= dw.cap {
		return
	}
	B = max(B, min(2*dw.cap, decodeChunk), 8)
	d, qd, kvd, I, V := c.Hidden, c.Heads*c.HeadDim, c.KVHeads*c.HeadDim, c.Intermediate, c.VocabSize
	dw.x, dw.xn, dw.rstd = make([]float32, B*d), make([]float32, B*d), make([]float32, B)
	dw.q, dw.k, dw.v = make([]float32, B*qd), make([]float32, B*kvd), make([]float32, B*kvd)
	if c.QKNorm {
		dw.qRaw, dw.kRaw = make([]float32, B*qd), make([]float32, B*kvd)
		dw.qRstd, dw.kRstd = make([]float32, B*c.Heads), make([]float32, B*c.KVHeads)
	}
	dw.attn, dw.mid, dw.xn2, dw.rstd2 = make([]float32, B*qd), make([]float32, B*d), make([]float32, B*d), make([]float32, B)
	dw.gate, dw.up, dw.act = make([]float32, B*I), make([]float32, B*I), make([]float32, B*I)
	dw.hf, dw.rstdF, dw.logits = make([]float32, B*d), make([]float32, B), make([]float32, B*V)
	dw.scores = make([]float32, B*c.KVHeads*c.MaxPositions)
	dw.toks = make([]int, B)
	dw.tmp = make([]float32, B*max(d, qd, I, V))
	dw.cap = B
}

// decodeStep feeds rows[b].token at rows[b].pos for every row, appends the
// new K and V to each row's own segment (which must have room), and returns
// the next-token logits [B, V] (a view into dw, valid until its next use).
func decodeStep(m *Model[float32], dw *decodeWS, rows []decodeRow) []float32 {
	c, p := m.Config, m.Params
	B := len(rows)
	dw.ensure(c, B)
	d, I := c.Hidden, c.Intermediate
	H, KV, hd := c.Heads, c.KVHeads, c.HeadDim
	qd, kvd, half, group := H*hd, KV*hd, hd/2, H/KV
	eps := c.RMSNormEps
	scale := float32(1 / math.Sqrt(float64(hd))) // as attentionForward
	maxPos := c.MaxPositions

	toks := dw.toks[:B]
	for b, r := range rows {
		toks[b] = r.token
	}
	x := dw.x[:B*d]
	embeddingForward(x, p.Embed, toks, d)
	for l := range c.Layers {
		lp := &p.Layers[l]
		xn := dw.xn[:B*d]
		rmsnormForward(xn, dw.rstd[:B], x, lp.AttnNorm, B, d, eps)
		q, k, v := dw.q[:B*qd], dw.k[:B*kvd], dw.v[:B*kvd]
		if c.QKNorm {
			qRaw, kRaw := dw.qRaw[:B*qd], dw.kRaw[:B*kvd]
			linearDecode(qRaw, xn, lp.Q, lp.QBias, dw.tmp, B, d, qd)
			linearDecode(kRaw, xn, lp.K, lp.KBias, dw.tmp, B, d, kvd)
			rmsnormForward(q, dw.qRstd[:B*H], qRaw, lp.QNorm, B*H, hd, eps)
			rmsnormForward(k, dw.kRstd[:B*KV], kRaw, lp.KNorm, B*KV, hd, eps)
		} else {
			linearDecode(q, xn, lp.Q, lp.QBias, dw.tmp, B, d, qd)
			linearDecode(k, xn, lp.K, lp.KBias, dw.tmp, B, d, kvd)
		}
		linearDecode(v, xn, lp.V, lp.VBias, dw.tmp, B, d, kvd)
		for b, r := range rows {
			cs, sn := m.cos[r.pos*half:(r.pos+1)*half], m.sin[r.pos*half:(r.pos+1)*half]
			ropeRow(q[b*qd:(b+1)*qd], H, hd, cs, sn, 1)
			ropeRow(k[b*kvd:(b+1)*kvd], KV, hd, cs, sn, 1)
			j := r.pos - r.prompt.n
			for g := range KV {
				copy(r.own.block(KV, hd, l, g, 0)[j*hd:(j+1)*hd], k[b*kvd+g*hd:b*kvd+(g+1)*hd])
				copy(r.own.block(KV, hd, l, g, 1)[j*hd:(j+1)*hd], v[b*kvd+g*hd:b*kvd+(g+1)*hd])
			}
		}
		attn := dw.attn[:B*qd]
		parallelFor(B*KV, func(item int) {
			b, g := item/KV, item%KV
			r := &rows[b]
			P, n2 := r.prompt.n, r.pos-r.prompt.n+1
			sc := dw.scores[item*maxPos : item*maxPos+r.pos+1]
			kp, vp := r.prompt.block(KV, hd, l, g, 0)[:P*hd], r.prompt.block(KV, hd, l, g, 1)[:P*hd]
			ko, vo := r.own.block(KV, hd, l, g, 0)[:n2*hd], r.own.block(KV, hd, l, g, 1)[:n2*hd]
			for h := g * group; h < (g+1)*group; h++ {
				qh, oh := q[b*qd+h*hd:b*qd+(h+1)*hd], attn[b*qd+h*hd:b*qd+(h+1)*hd]
				// attnRow over the concatenated segments, with the same
				// bits: the scores are independent dot products, computed
				// as K·q (K read in place, as in linearDecode), and the
				// weighted sum of values is one chain continued from the
				// prompt into the own segment (linalg's acc).
				linalg.NTSerial(sc[:P], kp, qh, P, 1, hd, false)
				linalg.NTSerial(sc[P:], ko, qh, n2, 1, hd, false)
				softmaxRow(sc, scale)
				linalg.NNSerial(oh, sc[:P], vp, 1, hd, P, false)
				linalg.NNSerial(oh, sc[P:], vo, 1, hd, n2, true)
			}
		})
		mid := dw.mid[:B*d]
		linearDecode(mid, attn, lp.O, nil, dw.tmp, B, qd, d)
		addInPlace(mid, x)
		xn2 := dw.xn2[:B*d]
		rmsnormForward(xn2, dw.rstd2[:B], mid, lp.MLPNorm, B, d, eps)
		gate, up, act := dw.gate[:B*I], dw.up[:B*I], dw.act[:B*I]
		linearDecode(gate, xn2, lp.Gate, nil, dw.tmp, B, d, I)
		linearDecode(up, xn2, lp.Up, nil, dw.tmp, B, d, I)
		swigluForward(act, gate, up)
		linearDecode(x, act, lp.Down, nil, dw.tmp, B, I, d) // x is spent: it becomes the layer's output
		addInPlace(x, mid)
	}
	for _, r := range rows {
		r.own.n = r.pos - r.prompt.n + 1
	}
	return dw.head(m, x, B)
}

// head applies the final norm and the LM head to B rows of x [B, d].
func (dw *decodeWS) head(m *Model[float32], x []float32, B int) []float32 {
	c, p := m.Config, m.Params
	d, V := c.Hidden, c.VocabSize
	hf := dw.hf[:B*d]
	rmsnormForward(hf, dw.rstdF[:B], x[:B*d], p.FinalNorm, B, d, c.RMSNormEps)
	logits := dw.logits[:B*V]
	linearDecode(logits, hf, p.LMHead, nil, dw.tmp, B, d, V)
	return logits
}

// prefill runs the training forward over prompts packed in tokens (lengths
// lens), fills segs[s] (capacity at least lens[s]) with prompt s's K and V
// of every layer, and returns the next-token logits at each prompt's last
// position [len(lens), V] (a view into dw, valid until its next use).
func prefill(m *Model[float32], dw *decodeWS, tokens, lens []int, segs []*kvSeg) []float32 {
	c, p := m.Config, m.Params
	n, S := len(tokens), len(lens)
	d, KV, hd := c.Hidden, c.KVHeads, c.HeadDim
	kvd := KV * hd
	ws := dw.prefillWorkspace(c, tokens, lens)
	embeddingForward(ws.resid[0][:n*d], p.Embed, tokens, d)
	for l := range c.Layers {
		m.layerForward(ws, l)
		a := ws.acts(l)
		off := 0
		for s, L := range lens {
			seg := segs[s]
			for g := range KV {
				kb, vb := seg.block(KV, hd, l, g, 0), seg.block(KV, hd, l, g, 1)
				for i := range L {
					t := (off+i)*kvd + g*hd
					copy(kb[i*hd:(i+1)*hd], a.k[t:t+hd])
					copy(vb[i*hd:(i+1)*hd], a.v[t:t+hd])
				}
			}
			seg.n = L
			off += L
		}
	}
	dw.ensure(c, S)
	out, x := ws.resid[c.Layers], dw.x[:S*d]
	off := 0
	for s, L := range lens {
		off += L
		copy(x[s*d:(s+1)*d], out[(off-1)*d:off*d])
	}
	return dw.head(m, x, S)
}

// prefillWorkspace returns a forward-only Workspace for the packed prompts:
// recompute mode (one layer's activations, enough since prefill copies each
// layer's K and V out as it goes), the residual stream ping-ponging between
// two buffers, and none of the logits and backward buffers that
// Workspace.ensure would allocate ([n, V] twice, the bulk at a 32k
// vocabulary).
func (dw *decodeWS) prefillWorkspace(c *Config, tokens, lens []int) *Workspace[float32] {
	n := len(tokens)
	if dw.pre == nil {
		dw.pre = NewWorkspace[float32](true)
		dw.pre.layers = make([]layerActs[float32], 1)
		dw.pre.resid = make([][]float32, c.Layers+1)
	}
	ws := dw.pre
	if n > dw.preCap {
		d, qd, kvd, I := c.Hidden, c.Heads*c.HeadDim, c.KVHeads*c.HeadDim, c.Intermediate
		a := &ws.layers[0]
		a.xn1, a.rstd1 = make([]float32, n*d), make([]float32, n)
		a.q, a.k, a.v = make([]float32, n*qd), make([]float32, n*kvd), make([]float32, n*kvd)
		if c.QKNorm {
			a.qRaw, a.kRaw = make([]float32, n*qd), make([]float32, n*kvd)
			a.qRstd, a.kRstd = make([]float32, n*c.Heads), make([]float32, n*c.KVHeads)
		}
		a.attn, a.mid = make([]float32, n*qd), make([]float32, n*d)
		a.xn2, a.rstd2 = make([]float32, n*d), make([]float32, n)
		a.gate, a.up, a.act = make([]float32, n*I), make([]float32, n*I), make([]float32, n*I)
		dw.resA, dw.resB = make([]float32, n*d), make([]float32, n*d)
		for l := range ws.resid {
			ws.resid[l] = dw.resA
			if l%2 == 1 {
				ws.resid[l] = dw.resB
			}
		}
		dw.preCap = n
	}
	if attn := attnScratchLen(lens, c.Heads); attn > dw.preAttn {
		ws.layers[0].probs = make([]float32, attn)
		dw.preAttn = attn
	}
	ws.n, ws.tokens, ws.lens, ws.targets = n, tokens, lens, nil
	return ws
}
