package linalg

import (
	"fmt"
	"unsafe"
)

// Float is the element type of every kernel.
type Float interface{ ~float32 | ~float64 }

// op says how a and b are stored; c is always [m,n] row-major.
type op uint8

const (
	opNT op = iota // a [m,k], b [n,k]
	opNN           // a [m,k], b [k,n]
	opTN           // a [k,m], b [k,n]
)

func (o op) String() string { return [...]string{"NT", "NN", "TN"}[o] }

// NT computes c[m,n] (+)= a[m,k] · b[n,k]ᵀ: the linear forward x·Wᵀ with W
// stored [out,in], and attention scores Q·Kᵀ. acc=false overwrites c,
// acc=true adds to it.
func NT[T Float](c, a, b []T, m, n, k int, acc bool) { mul(opNT, c, a, b, m, n, k, acc, Workers()) }

// NN computes c[m,n] (+)= a[m,k] · b[k,n]: the linear backward dx = dy·W,
// and attention P·V.
func NN[T Float](c, a, b []T, m, n, k int, acc bool) { mul(opNN, c, a, b, m, n, k, acc, Workers()) }

// TN computes c[m,n] (+)= a[k,m]ᵀ · b[k,n]: the weight gradient dW += dyᵀ·x,
// a reduction over tokens.
func TN[T Float](c, a, b []T, m, n, k int, acc bool) { mul(opTN, c, a, b, m, n, k, acc, Workers()) }

// NTSerial is NT on the calling goroutine only, for use inside loops that
// are already parallel (attention heads). Same bits as NT.
func NTSerial[T Float](c, a, b []T, m, n, k int, acc bool) { mul(opNT, c, a, b, m, n, k, acc, 1) }

// NNSerial is NN on the calling goroutine only. Same bits as NN.
func NNSerial[T Float](c, a, b []T, m, n, k int, acc bool) { mul(opNN, c, a, b, m, n, k, acc, 1) }

// TNSerial is TN on the calling goroutine only. Same bits as TN.
func TNSerial[T Float](c, a, b []T, m, n, k int, acc bool) { mul(opTN, c, a, b, m, n, k, acc, 1) }

func mul[T Float](o op, c, a, b []T, m, n, k int, acc bool, workers int) {
	check(o, len(c), len(a), len(b), m, n, k)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		if !acc {
			clear(c[:m*n])
		}
		return
	}
	be := current()
	if be.sgemm != nil && unsafe.Sizeof(T(0)) == 4 {
		// T's underlying type is float32: same memory layout.
		be.sgemm(o, f32(c), f32(a), f32(b), m, n, k, acc, workers)
		return
	}
	portable(o, c, a, b, m, n, k, acc, workers)
}

func f32[T Float](s []T) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

// check panics up front when a shape is negative or a slice is too short,
// so that no kernel (assembly included) ever runs out of bounds.
func check(o op, lc, la, lb, m, n, k int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("linalg.%v: negative shape m=%d n=%d k=%d", o, m, n, k))
	}
	if lc < m*n || la < m*k || lb < n*k {
		panic(fmt.Sprintf("linalg.%v: slice too short for m=%d n=%d k=%d: len(c)=%d (need m*n=%d), len(a)=%d (need m*k=%d), len(b)=%d (need n*k=%d)",
			o, m, n, k, lc, m*n, la, m*k, lb, n*k))
	}
}
