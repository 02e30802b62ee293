package linalg

import "golang.org/x/sys/cpu"

//go:generate sh -c "go run ./asm/gen_kernel.go > kernel_amd64.s"

// kernel6x16 is the AVX2+FMA micro-kernel (kernel_amd64.s): one 6x16 tile
// of c (row stride ldc) from k steps of an A panel (element (i,p) at byte
// offset i*ai + p*ap from a: packed, or in place in a row-major A) and a
// packed B panel (16 floats per p), each element one FMA chain over
// ascending p, starting from c when load, else from 0.
//
//go:noescape
func kernel6x16(k int, a *float32, ai, ap int, b, c *float32, ldc int, load bool)

// copy16 and copy6 (pack_amd64.s) copy kb rows of 16 (or 6) contiguous
// floats, src row stride ld, into a dense p-major panel.
//
//go:noescape
func copy16(dst, src *float32, ld, kb int)

//go:noescape
func copy6(dst, src *float32, ld, kb int)

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		register(&backend{name: "avx2", sgemm: sgemm}, true)
	}
}
