package policy

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Model is a Llama/Qwen decoder: parameters plus the RoPE tables derived from
// the config. The forward pass that serves rollouts is the one training uses.
type Model[T Float] struct {
	Config   *Config
	Params   *Params[T]
	cos, sin []T // [MaxPositions, HeadDim/2]
}

// NewModel wraps parameters (loaded or initialised) into a model.
func NewModel[T Float](p *Params[T]) (*Model[T], error) {
	c := p.Config
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var rs *ropeScaling
	if s := c.RopeScaling; s != nil {
		rs = &ropeScaling{Type: s.Type, Factor: s.Factor, LowFreqFactor: s.LowFreqFactor,
			HighFreqFactor: s.HighFreqFactor, OriginalMaxPositions: s.OriginalMaxPositions}
	}
	inv, err := ropeInvFreq(c.HeadDim, c.RopeTheta, rs)
	if err != nil {
		return nil, err
	}
	m := &Model[T]{Config: c, Params: p}
	m.cos, m.sin = ropeTables[T](inv, c.MaxPositions)
	return m, nil
}

// InitParams draws fresh parameters from seed: N(0, 0.02²) for matrices, with
// the two projections that write into the residual stream (o_proj, down_proj)
// scaled by 1/sqrt(2·layers) as in GPT-2, so the stream's variance does not
// grow with depth; norm weights 1, biases 0.
func InitParams[T Float](c *Config, seed uint64) *Params[T] {
	p := NewParams[T](c)
	rng := rand.New(rand.NewPCG(seed, 0x5eed_1a7e))
	resid := 0.02 / math.Sqrt(2*float64(c.Layers))
	for _, t := range p.Tensors {
		v := p.Data[t.Offset : t.Offset+t.Size]
		switch {
		case len(t.Shape) == 1 && hasSuffix(t.Name, ".bias"):
			// zero
		case len(t.Shape) == 1:
			for i := range v {
				v[i] = 1
			}
		default:
			std := 0.02
			if hasSuffix(t.Name, "o_proj.weight") || hasSuffix(t.Name, "down_proj.weight") {
				std = resid
			}
			for i := range v {
				v[i] = T(rng.NormFloat64() * std)
			}
		}
	}
	return p
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }

// Batch is a packed batch: sequences concatenated, positions restarting at 0
// in each. Targets (same length as Tokens) are the ids whose log-probabilities
// are wanted at each position; -1 marks positions without one.
type Batch struct {
	Tokens  []int
	Lens    []int
	Targets []int
}

// Check validates a batch against the model before any buffer is touched.
func (b *Batch) Check(c *Config) error {
	n := 0
	for i, l := range b.Lens {
		if l <= 0 {
			return fmt.Errorf("batch: sequence %d has length %d", i, l)
		}
		if l > c.MaxPositions {
			return fmt.Errorf("batch: sequence %d has %d tokens, beyond max_position_embeddings %d", i, l, c.MaxPositions)
		}
		n += l
	}
	if n != len(b.Tokens) {
		return fmt.Errorf("batch: sequence lengths sum to %d but there are %d tokens", n, len(b.Tokens))
	}
	if b.Targets != nil && len(b.Targets) != n {
		return fmt.Errorf("batch: %d targets for %d tokens", len(b.Targets), n)
	}
	for i, id := range b.Tokens {
		if id < 0 || id >= c.VocabSize {
			return fmt.Errorf("batch: token %d at position %d is outside the vocabulary [0, %d)", id, i, c.VocabSize)
		}
	}
	for i, id := range b.Targets {
		if id < -1 || id >= c.VocabSize {
			return fmt.Errorf("batch: target %d at position %d is outside the vocabulary [0, %d)", id, i, c.VocabSize)
		}
	}
	return nil
}

// NextTokenTargets returns the causal-LM targets of a packed batch: each
// position predicts the next token of its own sequence; the last position of
// every sequence has none (-1).
func NextTokenTargets(tokens, lens []int) []int {
	targets := make([]int, len(tokens))
	off := 0
	for _, l := range lens {
		for i := 0; i < l; i++ {
			targets[off+i] = -1
			if i+1 < l {
				targets[off+i] = tokens[off+i+1]
			}
		}
		off += l
	}
	return targets
}

// Forward runs the model over a packed batch, keeps what backward needs in ws,
// and returns the logits [n, V] (a view into ws, valid until its next use).
func (m *Model[T]) Forward(ws *Workspace[T], b Batch) ([]T, error) {
	c, p := m.Config, m.Params
	if err := b.Check(c); err != nil {
		return nil, err
	}
	n := len(b.Tokens)
	ws.ensure(c, n, b.Lens)
	ws.tokens, ws.lens, ws.targets = b.Tokens, b.Lens, b.Targets
	d, V := c.Hidden, c.VocabSize
	embeddingForward(ws.resid[0][:n*d], p.Embed, b.Tokens, d)
	for l := range c.Layers {
		m.layerForward(ws, l)
	}
	hf, rstd := ws.hf[:n*d], ws.rstdF[:n]
	rmsnormForward(hf, rstd, ws.resid[c.Layers][:n*d], p.FinalNorm, n, d, c.RMSNormEps)
	logits := ws.logits[:n*V]
	linearForward(logits, hf, p.LMHead, nil, n, d, V)
	return logits, nil
}

// acts returns the activation slot of layer l (the shared one when recomputing).
func (ws *Workspace[T]) acts(l int) *layerActs[T] {
	if ws.recompute {
		return &ws.layers[0]
	}
	return &ws.layers[l]
}

func (m *Model[T]) layerForward(ws *Workspace[T], l int) {
	c, lp, a := m.Config, &m.Params.Layers[l], ws.acts(l)
	n, d, I := ws.n, c.Hidden, c.Intermediate
	H, KV, hd := c.Heads, c.KVHeads, c.HeadDim
	qd, kvd := H*hd, KV*hd
	x, out := ws.resid[l][:n*d], ws.resid[l+1][:n*d]

	xn1 := a.xn1[:n*d]
	rmsnormForward(xn1, a.rstd1[:n], x, lp.AttnNorm, n, d, c.RMSNormEps)
	q, k, v := a.q[:n*qd], a.k[:n*kvd], a.v[:n*kvd]
	if c.QKNorm {
		qRaw, kRaw := a.qRaw[:n*qd], a.kRaw[:n*kvd]
		linearForward(qRaw, xn1, lp.Q, lp.QBias, n, d, qd)
		linearForward(kRaw, xn1, lp.K, lp.KBias, n, d, kvd)
		rmsnormForward(q, a.qRstd[:n*H], qRaw, lp.QNorm, n*H, hd, c.RMSNormEps)
		rmsnormForward(k, a.kRstd[:n*KV], kRaw, lp.KNorm, n*KV, hd, c.RMSNormEps)
	} else {
		linearForward(q, xn1, lp.Q, lp.QBias, n, d, qd)
		linearForward(k, xn1, lp.K, lp.KBias, n, d, kvd)
	}
	linearForward(v, xn1, lp.V, lp.VBias, n, d, kvd)
	ropeForward(q, ws.lens, H, hd, m.cos, m.sin)
	ropeForward(k, ws.lens, KV, hd, m.cos, m.sin)
	attn := a.attn[:n*qd]
	attentionForward(attn, a.probs, q, k, v, ws.lens, H, KV, hd)

	mid := a.mid[:n*d]
	linearForward(mid, attn, lp.O, nil, n, qd, d)
	addInPlace(mid, x)

	xn2 := a.xn2[:n*d]
	rmsnormForward(xn2, a.rstd2[:n], mid, lp.MLPNorm, n, d, c.RMSNormEps)
	gate, up, act := a.gate[:n*I], a.up[:n*I], a.act[:n*I]
	linearForward(gate, xn2, lp.Gate, nil, n, d, I)
	linearForward(up, xn2, lp.Up, nil, n, d, I)
	swigluForward(act, gate, up)
	linearForward(out, act, lp.Down, nil, n, I, d)
	addInPlace(out, mid)
}

func addInPlace[T Float](dst, src []T) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}

// Logprobs returns, after Forward, the log-probability of each target at the
// given temperature (0 where the target is -1): a view into ws.
func (m *Model[T]) Logprobs(ws *Workspace[T], temperature float64) ([]T, error) {
	if !(temperature > 0) {
		return nil, fmt.Errorf("logprobs: temperature must be positive, got %g", temperature)
	}
	if ws.targets == nil {
		return nil, fmt.Errorf("logprobs: the batch has no targets")
	}
	n, V := ws.n, m.Config.VocabSize
	logp := ws.logp[:n]
	tokenLogprobsForward(logp, ws.logits[:n*V], ws.targets, V, temperature)
	return logp, nil
}

// Backward accumulates into grads the gradient of L = Σ_t dlogp[t]·logp[t],
// where logp are the target log-probabilities at temperature (as Logprobs
// returned them) of the batch last run through Forward. Cross-entropy is
// dlogp = −1/count; GRPO passes its per-token policy-gradient weights.
func (m *Model[T]) Backward(ws *Workspace[T], dlogp []T, temperature float64, grads *Params[T]) {
	c, p := m.Config, m.Params
	n, d, V := ws.n, c.Hidden, c.VocabSize
	dlogits := ws.dlogits[:n*V]
	clear(dlogits)
	tokenLogprobsBackward(dlogits, dlogp[:n], ws.logits[:n*V], ws.targets, V, temperature)

	dhf := ws.dhf[:n*d]
	clear(dhf)
	linearBackward(dhf, grads.LMHead, nil, dlogits, ws.hf[:n*d], p.LMHead, n, d, V)
	dh := ws.dh[:n*d]
	clear(dh)
	rmsnormBackward(dh, grads.FinalNorm, dhf, ws.resid[c.Layers][:n*d], p.FinalNorm, ws.rstdF[:n], n, d)
	for l := c.Layers - 1; l >= 0; l-- {
		// The shared slot still holds the last layer from Forward.
		if ws.recompute && l != c.Layers-1 {
			m.layerForward(ws, l)
		}
		m.layerBackward(ws, l, grads)
	}
	embeddingBackward(grads.Embed, dh, ws.tokens, d)
}

// layerBackward turns ws.dh, the gradient at layer l's output, into the
// gradient at its input (in place), accumulating parameter gradients.
func (m *Model[T]) layerBackward(ws *Workspace[T], l int, grads *Params[T]) {
	c, lp, gp, a := m.Config, &m.Params.Layers[l], &grads.Layers[l], ws.acts(l)
	n, d, I := ws.n, c.Hidden, c.Intermediate
	H, KV, hd := c.Heads, c.KVHeads, c.HeadDim
	qd, kvd := H*hd, KV*hd
	dh := ws.dh[:n*d]

	// MLP: out = mid + down(swiglu(gate(xn2), up(xn2)))
	dact, dgate, dup, dxn := ws.dact[:n*I], ws.dgate[:n*I], ws.dup[:n*I], ws.dxn[:n*d]
	clear(dact)
	linearBackward(dact, gp.Down, nil, dh, a.act[:n*I], lp.Down, n, I, d)
	clear(dgate)
	clear(dup)
	swigluBackward(dgate, dup, dact, a.gate[:n*I], a.up[:n*I])
	clear(dxn)
	xn2 := a.xn2[:n*d]
	linearBackward(dxn, gp.Gate, nil, dgate, xn2, lp.Gate, n, d, I)
	linearBackward(dxn, gp.Up, nil, dup, xn2, lp.Up, n, d, I)
	dmid := ws.dmid[:n*d]
	copy(dmid, dh) // the residual path
	rmsnormBackward(dmid, gp.MLPNorm, dxn, a.mid[:n*d], lp.MLPNorm, a.rstd2[:n], n, d)

	// attention: mid = x + o(attn(rope(q), rope(k), v))
	dattn := ws.dattn[:n*qd]
	clear(dattn)
	linearBackward(dattn, gp.O, nil, dmid, a.attn[:n*qd], lp.O, n, qd, d)
	dq, dk, dv := ws.dq[:n*qd], ws.dk[:n*kvd], ws.dv[:n*kvd]
	clear(dq)
	clear(dk)
	clear(dv)
	attentionBackward(dq, dk, dv, dattn, a.q[:n*qd], a.k[:n*kvd], a.v[:n*kvd], a.probs, ws.lens, H, KV, hd)
	ropeBackward(dq, ws.lens, H, hd, m.cos, m.sin)
	ropeBackward(dk, ws.lens, KV, hd, m.cos, m.sin)
	if c.QKNorm {
		dqRaw, dkRaw := ws.dqRaw[:n*qd], ws.dkRaw[:n*kvd]
		clear(dqRaw)
		clear(dkRaw)
		rmsnormBackward(dqRaw, gp.QNorm, dq, a.qRaw[:n*qd], lp.QNorm, a.qRstd[:n*H], n*H, hd)
		rmsnormBackward(dkRaw, gp.KNorm, dk, a.kRaw[:n*kvd], lp.KNorm, a.kRstd[:n*KV], n*KV, hd)
		dq, dk = dqRaw, dkRaw
	}
	clear(dxn)
	xn1 := a.xn1[:n*d]
	linearBackward(dxn, gp.Q, gp.QBias, dq, xn1, lp.Q, n, d, qd)
	linearBackward(dxn, gp.K, gp.KBias, dk, xn1, lp.K, n, d, kvd)
	linearBackward(dxn, gp.V, gp.VBias, dv, xn1, lp.V, n, d, kvd)
	copy(dh, dmid)
	rmsnormBackward(dh, gp.AttnNorm, dxn, ws.resid[l][:n*d], lp.AttnNorm, a.rstd1[:n], n, d)
}

// Loss runs Forward and returns the masked mean next-token cross-entropy of
// the batch's targets; with grads non-nil it also accumulates the gradient of
// Σ_t −logp[t]/normalizer. normalizer ≤ 0 means the batch's own count of
// targets; gradient accumulation passes the count of the whole step, so that
// micro-batches add up to the full batch's mean.
func (m *Model[T]) Loss(ws *Workspace[T], b Batch, normalizer float64, grads *Params[T]) (loss float64, count int, err error) {
	if b.Targets == nil {
		b.Targets = NextTokenTargets(b.Tokens, b.Lens)
	}
	if _, err := m.Forward(ws, b); err != nil {
		return 0, 0, err
	}
	logp, err := m.Logprobs(ws, 1)
	if err != nil {
		return 0, 0, err
	}
	sum := 0.0
	for i, t := range b.Targets {
		if t >= 0 {
			sum -= float64(logp[i])
			count++
		}
	}
	if count == 0 {
		return 0, 0, fmt.Errorf("loss: the batch has no targets")
	}
	if normalizer <= 0 {
		normalizer = float64(count)
	}
	if grads != nil {
		dlogp := ws.dlogpBuf(len(b.Tokens))
		w := T(-1 / normalizer)
		for i, t := range b.Targets {
			dlogp[i] = 0
			if t >= 0 {
				dlogp[i] = w
			}
		}
		m.Backward(ws, dlogp, 1, grads)
	}
	return sum / float64(count), count, nil
}

// Entropy returns, after Forward, the entropy of softmax(logits/T) at every
// position (a metric: no backward), a view into ws.
func (m *Model[T]) Entropy(ws *Workspace[T], temperature float64) []T {
	n, V := ws.n, m.Config.VocabSize
	ws.ent = grow(ws.ent, n)
	tokenEntropy(ws.ent, ws.logits[:n*V], V, temperature)
	return ws.ent
}
