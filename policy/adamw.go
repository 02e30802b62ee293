package policy

import (
	"fmt"
	"math"
)

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter, 2019):
// the decay multiplies the weights by (1 − lr·wd) instead of being added to
// the gradient, so it is not rescaled by Adam's second moment. Following
// common practice (GPT-2, HF Trainer), 1-D tensors — norms and biases — are
// not decayed.
type AdamW struct {
	Beta1, Beta2, Eps, WeightDecay float64
	Step                           int // updates applied so far (for bias correction)
	M, V                           []float32
	spans                          []span
}

type span struct {
	off, size int
	decay     bool
}

// NewAdamW makes the optimizer state for parameters laid out as c.
func NewAdamW(c *Config, beta1, beta2, eps, weightDecay float64) *AdamW {
	o := &AdamW{Beta1: beta1, Beta2: beta2, Eps: eps, WeightDecay: weightDecay}
	total := 0
	for _, t := range Layout(c) {
		o.spans = append(o.spans, span{t.Offset, t.Size, len(t.Shape) >= 2})
		total = t.Offset + t.Size
	}
	o.M, o.V = make([]float32, total), make([]float32, total)
	return o
}

// Update applies one AdamW step with learning rate lr to params from grads.
// Each element's update depends on that element alone, so the result is the
// same for any number of workers.
func (o *AdamW) Update(params, grads []float32, lr float64) error {
	if len(params) != len(o.M) || len(grads) != len(o.M) {
		return fmt.Errorf("adamw: %d params and %d grads for an optimizer of %d", len(params), len(grads), len(o.M))
	}
	o.Step++
	b1, b2 := float32(o.Beta1), float32(o.Beta2)
	c1 := float32(1 - math.Pow(o.Beta1, float64(o.Step)))
	c2 := float32(1 - math.Pow(o.Beta2, float64(o.Step)))
	eps, flr := float32(o.Eps), float32(lr)
	parallelFor(len(o.spans), func(si int) {
		s := o.spans[si]
		p, g := params[s.off:s.off+s.size], grads[s.off:s.off+s.size]
		m, v := o.M[s.off:s.off+s.size], o.V[s.off:s.off+s.size]
		keep := float32(1)
		if s.decay {
			keep = float32(1 - lr*o.WeightDecay)
		}
		for i := range p {
			gi := g[i]
			m[i] = b1*m[i] + (1-b1)*gi
			v[i] = b2*v[i] + (1-b2)*gi*gi
			mh, vh := m[i]/c1, v[i]/c2
			p[i] = p[i]*keep - flr*mh/(float32(math.Sqrt(float64(vh)))+eps)
		}
	})
	return nil
}

// GradNorm is the global L2 norm of grads, accumulated in float64 in a fixed
// order (tensor by tensor, element by element) so it never depends on the
// worker count.
func GradNorm(grads []float32) float64 {
	s := 0.0
	for _, g := range grads {
		s += float64(g) * float64(g)
	}
	return math.Sqrt(s)
}

// ClipGradNorm scales grads so their global norm is at most maxNorm (no-op
// when maxNorm ≤ 0) and returns the norm before clipping. A NaN or Inf norm
// is returned unclipped: the caller must skip the update.
func ClipGradNorm(grads []float32, maxNorm float64) float64 {
	norm := GradNorm(grads)
	if maxNorm > 0 && norm > maxNorm && !math.IsInf(norm, 0) && !math.IsNaN(norm) {
		scale := float32(maxNorm / (norm + 1e-6))
		for i := range grads {
			grads[i] *= scale
		}
	}
	return norm
}
