package policy

import "math"

// swigluForward is the gated activation of Llama/Qwen MLPs:
//
//	out = silu(gate) · up,  silu(g) = g · sigmoid(g)
//
// element-wise over slices of equal length (tokens × intermediate size).
// sigmoid is evaluated in float64 and rounded once to T.
func swigluForward[T Float](out, gate, up []T) {
	gate, up = gate[:len(out)], up[:len(out)]
	parallelRange(len(out), kernelGrain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			g := gate[i]
			out[i] = g * sigmoid(g) * up[i]
		}
	})
}

// swigluBackward accumulates the gradients of swigluForward:
//
//	dup   += dout · silu(gate)
//	dgate += dout · up · σ(gate)·(1 + gate·(1 − σ(gate)))   (d silu/dg)
//
// All slices have the length of dout.
func swigluBackward[T Float](dgate, dup, dout, gate, up []T) {
	dgate, dup, gate, up = dgate[:len(dout)], dup[:len(dout)], gate[:len(dout)], up[:len(dout)]
	parallelRange(len(dout), kernelGrain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			g, s := gate[i], sigmoid(gate[i])
			dup[i] += dout[i] * (g * s)
			dgate[i] += dout[i] * up[i] * (s * (1 + g*(1-s)))
		}
	})
}

// sigmoid is 1/(1+e^−x). For x far below zero e^−x overflows to +Inf and the
// result is the correct 0, so no branch is needed.
func sigmoid[T Float](x T) T {
	return T(1 / (1 + math.Exp(-float64(x))))
}
