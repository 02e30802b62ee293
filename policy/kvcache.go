package policy

// The KV cache of the generation engine. Keys (after QK-norm and RoPE, as
// attention sees them) and values are kept per sequence in float32, one
// slab per segment laid out
//
//	[layer][kv head][K or V][capacity][head_dim]
//
// so that the keys of one (layer, kv head) over consecutive positions are
// one contiguous [positions, head_dim] matrix: the layout attention's row
// kernel reads (attnRow in attention.go), with no gather per step.
//
// A sequence's context is two segments: the prompt's, filled by prefill and
// shared read-only by the N samples of a request (one copy per request, not
// per sample), and the sample's own, holding the tokens it generated. A
// decode step computes the attention scores against the prompt segment,
// then against its own, and runs the weighted sum of values as one
// accumulation continued across the two segments; linalg continues an
// accumulation bit for bit (its determinism contract), so the two-segment
// result is bitwise the one-matrix one, and bitwise the training forward's.

// KVBytesPerToken is the float32 KV-cache memory one position of one
// sequence takes: 2 (K and V) · layers · kv heads · head_dim · 4 bytes.
func KVBytesPerToken(c *Config) int { return 2 * c.Layers * c.KVHeads * c.HeadDim * 4 }

// kvSeg is one segment of a sequence's cache: capacity positions, the first
// n of them filled.
type kvSeg struct {
	data []float32 // [layers][kvHeads][2][capacity][hd]
	cap  int
	n    int
}

// block returns the [cap, hd] keys (which = 0) or values (which = 1) of
// layer l, kv head g.
func (s *kvSeg) block(kvHeads, hd, l, g, which int) []float32 {
	size := s.cap * hd
	off := ((l*kvHeads+g)*2 + which) * size
	return s.data[off : off+size : off+size]
}

// kvPool recycles segment storage by capacity class, so that steady-state
// serving allocates no cache memory. It is used by the scheduler goroutine
// only. Capacities are rounded up to a power of two times kvMinCap
// positions; at most kvPoolKeep slabs of a class are kept.
type kvPool struct {
	free map[int][][]float32 // by element count
}

const (
	kvMinCap   = 16
	kvPoolKeep = 64
)

func kvClassCap(n int) int {
	c := kvMinCap
	for c < n {
		c *= 2
	}
	return c
}

// get returns a segment for at least n positions of config c.
func (p *kvPool) get(c *Config, n int) *kvSeg {
	capPos := kvClassCap(n)
	size := 2 * c.Layers * c.KVHeads * capPos * c.HeadDim
	if p.free == nil {
		p.free = map[int][][]float32{}
	}
	var data []float32
	if l := p.free[size]; len(l) > 0 {
		data, p.free[size] = l[len(l)-1], l[:len(l)-1]
	} else {
		data = make([]float32, size)
	}
	return &kvSeg{data: data, cap: capPos}
}

// put returns a segment's storage to the pool.
func (p *kvPool) put(s *kvSeg) {
	if s == nil || s.data == nil {
		return
	}
	if p.free == nil {
		p.free = map[int][][]float32{}
	}
	if l := p.free[len(s.data)]; len(l) < kvPoolKeep {
		p.free[len(s.data)] = append(l, s.data)
	}
	s.data = nil
}

// grow makes room for at least n positions in s, moving the filled ones
// into a larger slab from the pool (capacity doubles, so the copying is
// amortised to a constant per position).
func (p *kvPool) grow(c *Config, s *kvSeg, n int) {
	if n <= s.cap {
		return
	}
	ns := p.get(c, n)
	hd := c.HeadDim
	for l := range c.Layers {
		for g := range c.KVHeads {
			for w := range 2 {
				copy(ns.block(c.KVHeads, hd, l, g, w), s.block(c.KVHeads, hd, l, g, w)[:s.n*hd])
			}
		}
	}
	ns.n = s.n
	p.put(s)
	*s = *ns
}
