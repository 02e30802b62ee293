#include "textflag.h"

// Constants of expFast (fastmath.go), each broadcast from 8 bytes.
DATA ewconst<>+0x00(SB)/8, $0x40471547652b82fe // N/ln2
DATA ewconst<>+0x08(SB)/8, $0x4338000000000000 // shift
DATA ewconst<>+0x10(SB)/8, $0x3ebc6af84b912394 // c0
DATA ewconst<>+0x18(SB)/8, $0x3f2ebfce50fac4f3 // c1
DATA ewconst<>+0x20(SB)/8, $0x3f962e42ff0c52d6 // c2
DATA ewconst<>+0x28(SB)/8, $0x3ff0000000000000 // 1
DATA ewconst<>+0x30(SB)/8, $0xc086200000000000 // -708
DATA ewconst<>+0x38(SB)/8, $0x4086200000000000 // 708
DATA ewconst<>+0x40(SB)/8, $0x000000000000001f // index mask
DATA ewconst<>+0x48(SB)/8, $0x8000000000000000 // sign bit
GLOBL ewconst<>(SB), RODATA|NOPTR, $0x50

// EXPFAST computes expFast of the four float64 lanes of Y0 into Y7, with
// Y8..Y15 holding the constants (see LOADCONST) and AX the table; it clobbers
// Y0..Y6.
#define EXPFAST \
	VMAXPD    Y0, Y14, Y0 \ // max(x, -708), NaN stays
	VMINPD    Y0, Y15, Y0 \ // min(x, 708), NaN stays
	VMULPD    Y8, Y0, Y0 \ // z
	VADDPD    Y9, Y0, Y1 \ // kd = z + shift
	VSUBPD    Y9, Y1, Y2 \ // kd - shift
	VSUBPD    Y2, Y0, Y2 \ // r = z - (kd - shift)
	VBROADCASTSD ewconst<>+0x40(SB), Y3 \
	VPAND     Y3, Y1, Y3 \ // ki % N
	VPCMPEQQ  Y4, Y4, Y4 \ // gather mask: all lanes
	VGATHERQPD Y4, (AX)(Y3*8), Y5 \
	VPSLLQ    $47, Y1, Y6 \ // ki << (52-5)
	VPADDQ    Y6, Y5, Y5 \ // s
	VMULPD    Y10, Y2, Y7 \ // r*c0
	VADDPD    Y11, Y7, Y7 \ // c1 + r*c0
	VMULPD    Y7, Y2, Y7 \ // r*(...)
	VADDPD    Y12, Y7, Y7 \ // c2 + ...
	VMULPD    Y7, Y2, Y7 \ // r*(...)
	VADDPD    Y13, Y7, Y7 \ // 1 + ...
	VMULPD    Y5, Y7, Y7 // e = poly * s

#define LOADCONST \
	VBROADCASTSD ewconst<>+0x00(SB), Y8 \
	VBROADCASTSD ewconst<>+0x08(SB), Y9 \
	VBROADCASTSD ewconst<>+0x10(SB), Y10 \
	VBROADCASTSD ewconst<>+0x18(SB), Y11 \
	VBROADCASTSD ewconst<>+0x20(SB), Y12 \
	VBROADCASTSD ewconst<>+0x28(SB), Y13 \
	VBROADCASTSD ewconst<>+0x30(SB), Y14 \
	VBROADCASTSD ewconst<>+0x38(SB), Y15

// func sigmoid32AVX2(dst, src *float32, n int, tab *uint64)
// dst[i] = float32(1/(1+expFast(-float64(src[i])))) for i < n, n a multiple of 4.
// The same float64 operations as the scalar code, in the same order, without
// fused multiply-adds, so each lane is bitwise what sigmoidFast gives.
TEXT ·sigmoid32AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ tab+24(FP), AX
	LOADCONST
	SHRQ $2, CX
	JZ   sdone

sloop:
	VCVTPS2PD (SI), Y0
	VBROADCASTSD ewconst<>+0x48(SB), Y1
	VXORPD    Y1, Y0, Y0       // -x
	EXPFAST
	VADDPD    Y13, Y7, Y7      // 1 + e
	VDIVPD    Y7, Y13, Y7      // 1 / (1 + e)
	VCVTPD2PSY Y7, X7
	VMOVUPS   X7, (DI)
	ADDQ $16, SI
	ADDQ $16, DI
	DECQ CX
	JNZ  sloop

sdone:
	VZEROUPPER
	RET

// func exp32AVX2(dst, src *float32, n int, tab *uint64)
// dst[i] = float32(expFast(float64(src[i]))) for i < n, n a multiple of 4.
TEXT ·exp32AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ tab+24(FP), AX
	LOADCONST
	SHRQ $2, CX
	JZ   fdone

floop:
	VCVTPS2PD (SI), Y0
	EXPFAST
	VCVTPD2PSY Y7, X7
	VMOVUPS   X7, (DI)
	ADDQ $16, SI
	ADDQ $16, DI
	DECQ CX
	JNZ  floop

fdone:
	VZEROUPPER
	RET

// func exp64AVX2(dst, src *float64, n int, tab *uint64)
// dst[i] = expFast(src[i]) for i < n, n a multiple of 4.
TEXT ·exp64AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ tab+24(FP), AX
	LOADCONST
	SHRQ $2, CX
	JZ   ddone

dloop:
	VMOVUPD   (SI), Y0
	EXPFAST
	VMOVUPD   Y7, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  dloop

ddone:
	VZEROUPPER
	RET
