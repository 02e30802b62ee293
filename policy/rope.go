package policy

import (
	"fmt"
	"math"
)

// ropeScaling is a config.json "rope_scaling" block. Type is "" or "default"
// (no scaling), "linear" (position interpolation) or "llama3" (Llama 3.1's
// frequency-dependent interpolation); the other fields are the HF keys factor,
// low_freq_factor, high_freq_factor and original_max_position_embeddings.
type ropeScaling struct {
	Type                          string
	Factor                        float64
	LowFreqFactor, HighFreqFactor float64
	OriginalMaxPositions          int
}

// ropeInvFreq returns the hd/2 inverse frequencies of rotary embeddings,
// inv_freq[i] = theta^(−2i/hd), rescaled as Hugging Face transformers'
// ROPE_INIT_FUNCTIONS do for s.Type (s may be nil):
//
//   - linear: inv_freq / factor.
//   - llama3 (_compute_llama3_parameters): with wavelen = 2π / inv_freq,
//     wavelengths shorter than original/high_freq_factor are kept, those longer
//     than original/low_freq_factor are divided by factor, and those between
//     blend the two: (1−s)·inv/factor + s·inv with
//     s = (original/wavelen − low_freq_factor) / (high_freq_factor − low_freq_factor).
//
// Both keep attention_factor = 1, so no scaling of cos/sin is needed. It is
// computed in float64, where HF computes in float32; the difference is below
// float32 rounding of the tables built from it.
func ropeInvFreq(headDim int, theta float64, s *ropeScaling) ([]float64, error) {
	if headDim <= 0 || headDim%2 != 0 {
		return nil, fmt.Errorf("rope: head_dim %d must be positive and even", headDim)
	}
	if !(theta > 0) {
		return nil, fmt.Errorf("rope: rope_theta %v must be positive", theta)
	}
	half := headDim / 2
	inv := make([]float64, half)
	for i := range inv {
		inv[i] = 1 / math.Pow(theta, float64(2*i)/float64(headDim))
	}
	if s == nil {
		return inv, nil
	}
	switch s.Type {
	case "", "default":
	case "linear":
		if !(s.Factor >= 1) { // HF's _validate_linear_scaling_rope_parameters
			return nil, fmt.Errorf("rope: rope_scaling linear: factor %v must be >= 1", s.Factor)
		}
		for i := range inv {
			inv[i] /= s.Factor
		}
	case "llama3":
		switch {
		case !(s.Factor >= 1):
			return nil, fmt.Errorf("rope: rope_scaling llama3: factor %v must be >= 1", s.Factor)
		case !(s.LowFreqFactor > 0) || !(s.HighFreqFactor > s.LowFreqFactor):
			return nil, fmt.Errorf("rope: rope_scaling llama3: need 0 < low_freq_factor (%v) < high_freq_factor (%v)",
				s.LowFreqFactor, s.HighFreqFactor)
		case s.OriginalMaxPositions <= 0:
			return nil, fmt.Errorf("rope: rope_scaling llama3: original_max_position_embeddings %d must be positive",
				s.OriginalMaxPositions)
		}
		orig := float64(s.OriginalMaxPositions)
		lowWavelen := orig / s.LowFreqFactor   // longer than this: fully interpolated
		highWavelen := orig / s.HighFreqFactor // shorter than this: untouched
		for i, f := range inv {
			wavelen := 2 * math.Pi / f
			switch {
			case wavelen < highWavelen:
			case wavelen > lowWavelen:
				inv[i] = f / s.Factor
			default:
				smooth := (orig/wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor)
				inv[i] = (1-smooth)*f/s.Factor + smooth*f
			}
		}
	default:
		return nil, fmt.Errorf("rope: unknown rope_scaling type %q (want default, linear or llama3)", s.Type)
	}
	return inv, nil
}

// ropeTables returns cos and sin of pos·invFreq[i], each [maxPos, hd/2]
// row-major (hd/2 = len(invFreq)). The angles and their cos/sin are computed in
// float64 and rounded once to T, so float32 tables are as exact as float32 allows.
func ropeTables[T Float](invFreq []float64, maxPos int) (cos, sin []T) {
	half := len(invFreq)
	cos, sin = make([]T, maxPos*half), make([]T, maxPos*half)
	for p := range maxPos {
		for i, f := range invFreq {
			s, c := math.Sincos(float64(p) * f)
			cos[p*half+i], sin[p*half+i] = T(c), T(s)
		}
	}
	return cos, sin
}

// ropeForward rotates the query or key heads of x in place by their positions,
// with Hugging Face's rotate_half layout (not the interleaved one of Meta's
// original code): within a head, element i pairs with i + hd/2 and
//
//	x1' = x1·cos − x2·sin,  x2' = x2·cos + x1·sin,  angle = pos·inv_freq[i].
//
// x is packed [n, heads·headDim] with n = Σ lens; positions restart at 0 in
// every sequence. cos, sin are [maxPos, hd/2] from ropeTables; every sequence
// must be at most maxPos long.
func ropeForward[T Float](x []T, lens []int, heads, headDim int, cos, sin []T) {
	ropeApply(x, lens, heads, headDim, cos, sin, 1)
}

// ropeBackward turns dx, the gradient with respect to ropeForward's output,
// into the gradient with respect to its input, in place, by the transpose
// (inverse) rotation: dx1 = dy1·cos + dy2·sin, dx2 = dy2·cos − dy1·sin.
// Shapes as in ropeForward.
func ropeBackward[T Float](dx []T, lens []int, heads, headDim int, cos, sin []T) {
	ropeApply(dx, lens, heads, headDim, cos, sin, -1)
}

// ropeApply rotates by +angle (dir 1) or −angle (dir −1), split over
// goroutines by rows; each row's position comes from lens.
func ropeApply[T Float](x []T, lens []int, heads, headDim int, cos, sin []T, dir T) {
	half, width := headDim/2, heads*headDim
	n, maxLen := 0, 0
	for _, l := range lens {
		n, maxLen = n+l, max(maxLen, l)
	}
	if maxLen*half > len(cos) || maxLen*half > len(sin) {
		panic(fmt.Sprintf("rope: sequence of %d tokens exceeds the %d positions of the tables", maxLen, len(cos)/max(half, 1)))
	}
	x = x[:n*width]
	parallelRange(n, rowGrain(width), func(lo, hi int) {
		seq, pos := packedPosition(lens, lo)
		for t := lo; t < hi; t++ {
			for pos == lens[seq] { // also skips empty sequences
				seq, pos = seq+1, 0
			}
			c, s := cos[pos*half:(pos+1)*half], sin[pos*half:(pos+1)*half]
			ropeRow(x[t*width:(t+1)*width], heads, headDim, c, s, dir)
			pos++
		}
	})
}

// packedPosition returns the sequence holding packed row t and t's position in it.
func packedPosition(lens []int, t int) (seq, pos int) {
	for seq < len(lens) && t >= lens[seq] {
		t -= lens[seq]
		seq++
	}
	return seq, t
}

// ropeRow rotates the heads of one token's row [heads·headDim] by the angles
// whose cos and sin (each [hd/2]) are given, with sign dir (+1 forward, −1 the
// transpose). The KV-cached sampler uses it for a single token at any position.
func ropeRow[T Float](row []T, heads, headDim int, cos, sin []T, dir T) {
	half := headDim / 2
	cos, sin = cos[:half], sin[:half]
	for h := range heads {
		x1 := row[h*headDim : h*headDim+half]
		x2 := row[h*headDim+half : (h+1)*headDim]
		for i, c := range cos {
			s := dir * sin[i]
			a, b := x1[i], x2[i]
			x1[i] = a*c - b*s
			x2[i] = b*c + a*s
		}
	}
}
