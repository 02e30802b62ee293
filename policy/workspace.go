package policy

// layerActs are the activations one decoder layer saves for its backward pass.
type layerActs[T Float] struct {
	xn1, rstd1    []T // attention RMSNorm output [n,d] and its 1/rms [n]
	qRaw, kRaw    []T // projections before QK-norm (Qwen3 only) [n,qd], [n,kvd]
	qRstd, kRstd  []T // QK-norm 1/rms [n·H], [n·KV]
	q, k, v       []T // after QK-norm and RoPE: what attention saw
	probs         []T // attention probabilities
	attn          []T // attention output [n,qd]
	mid           []T // residual stream after attention [n,d]
	xn2, rstd2    []T // MLP RMSNorm
	gate, up, act []T // [n,I]
}

// Workspace holds every buffer a forward and backward pass over one packed
// batch needs. It grows to the largest batch seen and is then reused, so a
// training loop allocates nothing per step.
type Workspace[T Float] struct {
	cap, attnCap int
	n            int
	tokens, lens []int
	targets      []int

	resid  [][]T          // residual stream entering layer l [n,d]; resid[L] is the last layer's output
	layers []layerActs[T] // one per layer, or a single shared one when recomputing
	hf     []T            // final norm output [n,d]
	rstdF  []T
	logits []T // [n,V]
	logp   []T // [n]

	// backward scratch
	dh, dmid, dxn         []T
	dq, dk, dv, dattn     []T
	dqRaw, dkRaw          []T
	dgate, dup, dact, dhf []T
	dlogits               []T
	dlogp                 []T
	ent                   []T // per-position entropy (a metric)
	recompute             bool
}

// NewWorkspace makes an empty workspace. With recompute set, backward recomputes
// each layer's activations from its saved input instead of keeping all layers'
// (memory falls from L layers of activations to one, for about one extra forward).
func NewWorkspace[T Float](recompute bool) *Workspace[T] { return &Workspace[T]{recompute: recompute} }

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// ensure sizes every buffer for n tokens with the given sequence lengths.
func (ws *Workspace[T]) ensure(c *Config, n int, lens []int) {
	d, qd, kvd, I, V := c.Hidden, c.Heads*c.HeadDim, c.KVHeads*c.HeadDim, c.Intermediate, c.VocabSize
	attn := attnScratchLen(lens, c.Heads)
	nl := c.Layers
	if ws.recompute {
		nl = 1
	}
	if len(ws.resid) != c.Layers+1 || len(ws.layers) != nl {
		ws.resid = make([][]T, c.Layers+1)
		ws.layers = make([]layerActs[T], nl)
		ws.cap, ws.attnCap = 0, 0
	}
	if n > ws.cap {
		for i := range ws.resid {
			ws.resid[i] = make([]T, n*d)
		}
		for i := range ws.layers {
			a := &ws.layers[i]
			a.xn1, a.rstd1 = make([]T, n*d), make([]T, n)
			a.q, a.k, a.v = make([]T, n*qd), make([]T, n*kvd), make([]T, n*kvd)
			if c.QKNorm {
				a.qRaw, a.kRaw = make([]T, n*qd), make([]T, n*kvd)
				a.qRstd, a.kRstd = make([]T, n*c.Heads), make([]T, n*c.KVHeads)
			}
			a.attn, a.mid = make([]T, n*qd), make([]T, n*d)
			a.xn2, a.rstd2 = make([]T, n*d), make([]T, n)
			a.gate, a.up, a.act = make([]T, n*I), make([]T, n*I), make([]T, n*I)
		}
		ws.hf, ws.rstdF = make([]T, n*d), make([]T, n)
		ws.logits, ws.logp = make([]T, n*V), make([]T, n)
		ws.dh, ws.dmid, ws.dxn = make([]T, n*d), make([]T, n*d), make([]T, n*d)
		ws.dq, ws.dk, ws.dv, ws.dattn = make([]T, n*qd), make([]T, n*kvd), make([]T, n*kvd), make([]T, n*qd)
		if c.QKNorm {
			ws.dqRaw, ws.dkRaw = make([]T, n*qd), make([]T, n*kvd)
		}
		ws.dgate, ws.dup, ws.dact, ws.dhf = make([]T, n*I), make([]T, n*I), make([]T, n*I), make([]T, n*d)
		ws.dlogits = make([]T, n*V)
		ws.cap = n
	}
	if attn > ws.attnCap {
		for i := range ws.layers {
			ws.layers[i].probs = make([]T, attn)
		}
		ws.attnCap = attn
	}
	ws.n = n
}

// sized returns the first n·width elements of a capacity-sized buffer.
func sized[T any](s []T, n, width int) []T { return s[:n*width] }

// dlogpBuf is scratch for the per-token upstream gradient of Loss.
func (ws *Workspace[T]) dlogpBuf(n int) []T {
	ws.dlogp = grow(ws.dlogp, n)
	return ws.dlogp
}
