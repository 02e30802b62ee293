// Package openblas binds cblas_sgemm for the linalg "openblas" benchmark
// backend. It has code only under the build tags openblas and cgo; it is a
// package of its own because Go forbids Go assembly (linalg's kernels) in a
// package that uses cgo.
package openblas
