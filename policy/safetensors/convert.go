package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Float32s converts a float tensor (F32, F16, BF16 or F64) to float32. F64
// values are rounded to nearest; the other conversions are exact.
func (t *Tensor) Float32s() ([]float32, error) {
	out := make([]float32, t.Elements())
	if err := t.Float32sInto(out); err != nil {
		return nil, err
	}
	return out, nil
}

// Float32sInto is Float32s into dst, which must hold exactly the tensor's
// elements: a loader converts straight into its parameter buffer.
func (t *Tensor) Float32sInto(dst []float32) error {
	if err := t.checkFloat(len(dst)); err != nil {
		return err
	}
	b := t.Data
	le := binary.LittleEndian
	switch t.DType {
	case "F32":
		for i := range dst {
			dst[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
	case "F16":
		for i := range dst {
			dst[i] = F16ToFloat32(le.Uint16(b[2*i:]))
		}
	case "BF16":
		for i := range dst {
			dst[i] = BF16ToFloat32(le.Uint16(b[2*i:]))
		}
	case "F64":
		for i := range dst {
			dst[i] = float32(math.Float64frombits(le.Uint64(b[8*i:])))
		}
	}
	return nil
}

// Float64s converts a float tensor (F64, F32, F16 or BF16) to float64; every
// conversion is exact.
func (t *Tensor) Float64s() ([]float64, error) {
	dst := make([]float64, t.Elements())
	if err := t.checkFloat(len(dst)); err != nil {
		return nil, err
	}
	b := t.Data
	le := binary.LittleEndian
	for i := range dst {
		switch t.DType {
		case "F64":
			dst[i] = math.Float64frombits(le.Uint64(b[8*i:]))
		case "F32":
			dst[i] = float64(math.Float32frombits(le.Uint32(b[4*i:])))
		case "F16":
			dst[i] = float64(F16ToFloat32(le.Uint16(b[2*i:])))
		case "BF16":
			dst[i] = float64(BF16ToFloat32(le.Uint16(b[2*i:])))
		}
	}
	return dst, nil
}

// IsFloat reports whether Float32s and Float64s convert dtype.
func IsFloat(dtype string) bool {
	switch dtype {
	case "F64", "F32", "F16", "BF16":
		return true
	}
	return false
}

func (t *Tensor) checkFloat(n int) error {
	if !IsFloat(t.DType) {
		return fmt.Errorf("tensor %s: dtype %s is not a float type", t.Name, t.DType)
	}
	return t.checkLen(n)
}

func (t *Tensor) checkLen(n int) error {
	if n != t.Elements() {
		return fmt.Errorf("tensor %s: destination holds %d elements, tensor %d", t.Name, n, t.Elements())
	}
	if want := n * dtypeSizes[t.DType]; len(t.Data) != want {
		return fmt.Errorf("tensor %s: %d data bytes, want %d (was it read with ReadHeader?)", t.Name, len(t.Data), want)
	}
	return nil
}

// Int64s converts an integer or BOOL tensor to int64. U64 values above
// math.MaxInt64 are an error.
func (t *Tensor) Int64s() ([]int64, error) {
	switch t.DType {
	case "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL":
	default:
		return nil, fmt.Errorf("tensor %s: dtype %s is not an integer type", t.Name, t.DType)
	}
	dst := make([]int64, t.Elements())
	if err := t.checkLen(len(dst)); err != nil {
		return nil, err
	}
	b := t.Data
	le := binary.LittleEndian
	for i := range dst {
		switch t.DType {
		case "I64":
			dst[i] = int64(le.Uint64(b[8*i:]))
		case "I32":
			dst[i] = int64(int32(le.Uint32(b[4*i:])))
		case "I16":
			dst[i] = int64(int16(le.Uint16(b[2*i:])))
		case "I8":
			dst[i] = int64(int8(b[i]))
		case "U64":
			v := le.Uint64(b[8*i:])
			if v > math.MaxInt64 {
				return nil, fmt.Errorf("tensor %s: element %d = %d overflows int64", t.Name, i, v)
			}
			dst[i] = int64(v)
		case "U32":
			dst[i] = int64(le.Uint32(b[4*i:]))
		case "U16":
			dst[i] = int64(le.Uint16(b[2*i:]))
		case "U8", "BOOL":
			dst[i] = int64(b[i])
		}
	}
	return dst, nil
}

// F32Tensor encodes data as an F32 tensor (the bytes are a copy).
func F32Tensor(name string, shape []int, data []float32) *Tensor {
	b := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return &Tensor{Name: name, DType: "F32", Shape: shape, Data: b}
}

// F16Tensor encodes data as an F16 tensor, rounding to nearest even.
func F16Tensor(name string, shape []int, data []float32) *Tensor {
	b := make([]byte, 2*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint16(b[2*i:], Float32ToF16(v))
	}
	return &Tensor{Name: name, DType: "F16", Shape: shape, Data: b}
}

// BF16Tensor encodes data as a BF16 tensor, rounding to nearest even.
func BF16Tensor(name string, shape []int, data []float32) *Tensor {
	b := make([]byte, 2*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint16(b[2*i:], Float32ToBF16(v))
	}
	return &Tensor{Name: name, DType: "BF16", Shape: shape, Data: b}
}

// I64Tensor encodes data as an I64 tensor.
func I64Tensor(name string, shape []int, data []int64) *Tensor {
	b := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
	}
	return &Tensor{Name: name, DType: "I64", Shape: shape, Data: b}
}

// F16ToFloat32 converts an IEEE 754 binary16 bit pattern to float32 exactly,
// subnormals, infinities and NaNs (payload kept) included.
func F16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // infinity or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0:
		// Subnormal: mant·2^-24. Shift the leading one into the implicit
		// bit; each shift lowers the float32 exponent by one from that of
		// 2^-14 (127-14 = 113).
		e := uint32(113)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (mant&0x3ff)<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// Float32ToF16 converts f to binary16, rounding to nearest even: overflow
// gives infinity, underflow a subnormal or zero, NaN a quiet NaN.
func Float32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00 | uint16(mant>>13) // keep the top of the payload, force quiet
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Subnormal result (float32 subnormals land in e < -10 too): the
		// value is (1.mant)·2^(e-15), i.e. the 24-bit significand shifted
		// right by 14-e in units of 2^-24.
		if e < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint32(14 - e)
		r := mant >> shift
		rem, half := mant&(1<<shift-1), uint32(1)<<(shift-1)
		if rem > half || rem == half && r&1 == 1 {
			r++ // may carry into the smallest normal, which is correct
		}
		return sign | uint16(r)
	}
	r := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || rem == 0x1000 && r&1 == 1 {
		r++ // may carry into the exponent, up to infinity, which is correct
	}
	return sign | uint16(r)
}

// BF16ToFloat32 converts a bfloat16 bit pattern to float32 exactly.
func BF16ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// Float32ToBF16 converts f to bfloat16, rounding to nearest even (as PyTorch
// does); NaN stays a quiet NaN.
func Float32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}
