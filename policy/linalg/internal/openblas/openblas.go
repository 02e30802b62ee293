//go:build openblas && cgo

package openblas

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
*/
import "C"

import (
	"sync"
	"unsafe"
)

var (
	mu      sync.Mutex
	threads int
)

// Core reports OpenBLAS's core (OPENBLAS_CORETYPE overrides its detection)
// and build configuration.
func Core() string {
	return C.GoString(C.openblas_get_corename()) + " (" + C.GoString(C.openblas_get_config()) + ")"
}

// Sgemm computes row-major c[m,n] = op(a)·op(b) + beta·c with OpenBLAS on
// `workers` threads. transA: a is stored [k,m]; transB: b is stored [n,k].
// Slices must be non-empty and long enough (the caller checks).
func Sgemm(transA, transB bool, m, n, k int, a, b []float32, beta float32, c []float32, workers int) {
	// OpenBLAS's thread count is global; only set it when it changes.
	mu.Lock()
	if workers != threads {
		C.openblas_set_num_threads(C.int(workers))
		threads = workers
	}
	mu.Unlock()
	ta, tb := uint32(C.CblasNoTrans), uint32(C.CblasNoTrans)
	lda, ldb := k, n
	if transA {
		ta, lda = uint32(C.CblasTrans), m
	}
	if transB {
		tb, ldb = uint32(C.CblasTrans), k
	}
	C.cblas_sgemm(C.CblasRowMajor, C.enum_CBLAS_TRANSPOSE(ta), C.enum_CBLAS_TRANSPOSE(tb),
		C.blasint(m), C.blasint(n), C.blasint(k), 1,
		(*C.float)(unsafe.Pointer(&a[0])), C.blasint(lda),
		(*C.float)(unsafe.Pointer(&b[0])), C.blasint(ldb), C.float(beta),
		(*C.float)(unsafe.Pointer(&c[0])), C.blasint(n))
}
