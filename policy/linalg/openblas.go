//go:build openblas && cgo

package linalg

import "github.com/rft-dev/rft/policy/linalg/internal/openblas"

// The "openblas" backend (cblas_sgemm) is for side-by-side benchmarks only:
// OpenBLAS picks its own kernels and thread split, so it makes no
// determinism promise and is never the default; select it with
// SetBackend("openblas"). The worker count maps to OpenBLAS threads.
// Needs libopenblas-dev.

func init() {
	register(&backend{name: "openblas", sgemm: func(o op, c, a, b []float32, m, n, k int, acc bool, workers int) {
		var beta float32
		if acc {
			beta = 1
		}
		openblas.Sgemm(o == opTN, o == opNT, m, n, k, a, b, beta, c, workers)
	}}, false)
	openblasCore = openblas.Core
}
