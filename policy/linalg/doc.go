// Package linalg is the matrix-multiply backend of rft's policy engine:
// NT, NN and TN products over row-major flat slices, in float32 (the
// training type, with an AVX2+FMA assembly kernel on amd64) and float64
// (the gradient-check type, portable Go).
//
// # The determinism contract
//
// Every output element is ONE sequential chain over p = 0..k-1 in ascending
// order, starting from c[i,j] (acc=true) or from 0 (acc=false):
//
//	s = s + a[i,p]*b[p,j]     portable path (product rounded, then sum)
//	s = fma(a[i,p], b[p,j], s) SIMD path (one rounding)
//
// Nothing else: no partial sums, no tree reductions, no split of k across
// threads. Work is parallelised and vectorised over output rows and columns
// only; blocking over k for cache stores the running value into C and
// reloads it, which continues the same chain bit for bit. Hence, for a
// given backend:
//
//   - the bits of c do not depend on the number of workers, nor on m or n
//     (a row or a column block computed alone equals the same row or
//     block inside a larger product): batch-invariant kernels, so a request
//     gives the same log-probs alone or inside a batch;
//   - TN with acc=true over rows [0,k1) of a and b, then again over rows
//     [k1,k), equals one call over all k rows: gradient accumulation over
//     micro-batches equals one big batch, bit for bit.
//
// The portable and SIMD paths are not bitwise equal to each other (FMA vs
// not); each honours the contract on its own. The optional "openblas"
// backend (build tag openblas, cgo) is for side-by-side benchmarks only and
// makes no determinism promise.
package linalg
