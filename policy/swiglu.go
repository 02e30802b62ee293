package policy

import (
	"math"
	"unsafe"
)

// swigluForward is the gated activation of Llama/Qwen MLPs:
//
//	out = silu(gate) · up,  silu(g) = g · sigmoid(g)
//
// element-wise over slices of equal length (tokens × intermediate size).
// sigmoid is evaluated in float64 and rounded once to T, with expFast for
// float32 (so σ is within about half an ulp of float32) and math.Exp for
// float64.
func swigluForward[T Float](out, gate, up []T) {
	gate, up = gate[:len(out)], up[:len(out)]
	parallelRange(len(out), kernelGrain, func(lo, hi int) {
		out, gate, up := out[lo:hi], gate[lo:hi], up[lo:hi]
		if unsafe.Sizeof(T(0)) == 4 { // resolved at compile time, per instantiation
			var sb [swigluChunk]float32
			for c0 := 0; c0 < len(gate); c0 += swigluChunk {
				g32 := unsafe.Slice((*float32)(unsafe.Pointer(&gate[c0])), min(swigluChunk, len(gate)-c0))
				sig := sb[:len(g32)]
				sigmoid32(sig, g32)
				o, u := out[c0:c0+len(sig)], up[c0:c0+len(sig)]
				for i, s := range sig {
					g := gate[c0+i]
					o[i] = g * T(s) * u[i]
				}
			}
			return
		}
		for i, g := range gate {
			out[i] = g * T(sigmoid(float64(g))) * up[i]
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
		dgate, dup, dout, gate, up := dgate[lo:hi], dup[lo:hi], dout[lo:hi], gate[lo:hi], up[lo:hi]
		if unsafe.Sizeof(T(0)) == 4 {
			var sb [swigluChunk]float32
			for c0 := 0; c0 < len(gate); c0 += swigluChunk {
				g32 := unsafe.Slice((*float32)(unsafe.Pointer(&gate[c0])), min(swigluChunk, len(gate)-c0))
				sig := sb[:len(g32)]
				sigmoid32(sig, g32)
				m := len(sig)
				gc, dgc, duc, doc, uc := gate[c0:c0+m], dgate[c0:c0+m], dup[c0:c0+m], dout[c0:c0+m], up[c0:c0+m]
				for i, s32 := range sig {
					s, g, d := T(s32), gc[i], doc[i]
					duc[i] += d * (g * s)
					dgc[i] += d * uc[i] * (s * (1 + g*(1-s)))
				}
			}
			return
		}
		for i, g := range gate {
			s := T(sigmoid(float64(g)))
			dup[i] += dout[i] * (g * s)
			dgate[i] += dout[i] * up[i] * (s * (1 + g*(1-s)))
		}
	})
}

// swigluChunk is the number of sigmoids the float32 kernels compute at once
// (into a stack buffer) before combining them with the other operands.
const swigluChunk = 512

// sigmoid is 1/(1+e^−x). For x far below zero e^−x overflows to +Inf and the
// result is the correct 0, so no branch is needed.
func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// sigmoidFast is sigmoid through expFast (relative error below 2^-33): for
// x far below zero e^−x is clamped to e^708 and the result, 3e−308, rounds
// to float32 0.
func sigmoidFast(x float64) float64 { return 1 / (1 + expFast(-x)) }
