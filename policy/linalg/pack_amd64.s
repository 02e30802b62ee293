//go:build amd64

#include "textflag.h"

// Packing copies for the contiguous layouts (Go's fixed-size array copies
// become memmove calls here, which dominated packing).

// func copy16(dst, src *float32, ld, kb int)
// dst[p*16+j] = src[p*ld+j] for p < kb, j < 16.
TEXT ·copy16(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), DX
	SHLQ $2, DX
	MOVQ kb+24(FP), CX
	TESTQ CX, CX
	JZ done16
loop16:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ DX, SI
	ADDQ $64, DI
	DECQ CX
	JNZ loop16
done16:
	VZEROUPPER
	RET

// func copy6(dst, src *float32, ld, kb int)
// dst[p*6+i] = src[p*ld+i] for p < kb, i < 6.
TEXT ·copy6(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), DX
	SHLQ $2, DX
	MOVQ kb+24(FP), CX
	TESTQ CX, CX
	JZ done6
loop6:
	MOVUPS (SI), X0
	MOVQ 16(SI), X1
	MOVUPS X0, (DI)
	MOVQ X1, 16(DI)
	ADDQ DX, SI
	ADDQ $24, DI
	DECQ CX
	JNZ loop6
done6:
	RET
