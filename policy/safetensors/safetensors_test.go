package safetensors

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// rawFile is a safetensors file with the given header text and data bytes.
func rawFile(header string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.WriteString(header)
	b.Write(data)
	return b.Bytes()
}

func writeRaw(t *testing.T, content []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSafetensorsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.safetensors")
	in := []*Tensor{
		F32Tensor("b.weight", []int{2, 3}, []float32{1, -2, 3.5, 0, float32(math.Inf(1)), -0.25}),
		F16Tensor("a.half", []int{3}, []float32{1, 0.5, -65504}),
		BF16Tensor("c.bf", []int{2}, []float32{1, -3}),
		I64Tensor("ids", []int{2}, []int64{-7, 1 << 40}),
		F32Tensor("scalar", []int{}, []float32{42}),
		F32Tensor("empty", []int{0, 4}, nil),
	}
	meta := map[string]string{"format": "pt"}
	if err := Write(path, in, meta); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := binary.LittleEndian.Uint64(raw); n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
	f, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata["format"] != "pt" || len(f.Metadata) != 1 {
		t.Errorf("metadata %v", f.Metadata)
	}
	// Largest element first, then by name.
	want := []string{"ids", "b.weight", "empty", "scalar", "a.half", "c.bf"}
	if !slices.Equal(f.Names, want) {
		t.Errorf("names %v, want %v", f.Names, want)
	}
	for _, w := range in {
		g := f.Tensors[w.Name]
		if g == nil || g.DType != w.DType || !slices.Equal(g.Shape, w.Shape) || !bytes.Equal(g.Data, w.Data) {
			t.Errorf("tensor %s: got %+v, want %+v", w.Name, g, w)
		}
	}
	got, err := f.Tensors["b.weight"].Float32s()
	if err != nil || got[2] != 3.5 || !math.IsInf(float64(got[4]), 1) {
		t.Errorf("b.weight Float32s = %v, %v", got, err)
	}
	h, err := f.Tensors["a.half"].Float64s()
	if err != nil || !slices.Equal(h, []float64{1, 0.5, -65504}) {
		t.Errorf("a.half Float64s = %v, %v", h, err)
	}
	ids, err := f.Tensors["ids"].Int64s()
	if err != nil || !slices.Equal(ids, []int64{-7, 1 << 40}) {
		t.Errorf("ids Int64s = %v, %v", ids, err)
	}
	if _, err := f.Tensors["ids"].Float32s(); err == nil || !strings.Contains(err.Error(), "tensor ids: dtype I64 is not a float type") {
		t.Errorf("Float32s of I64: %v", err)
	}
	if _, err := f.Tensors["b.weight"].Int64s(); err == nil || !strings.Contains(err.Error(), "b.weight") {
		t.Errorf("Int64s of F32: %v", err)
	}
	hdr, err := ReadHeader(path)
	if err != nil || hdr.Tensors["b.weight"].Data != nil || !slices.Equal(hdr.Names, want) {
		t.Errorf("ReadHeader: %+v, %v", hdr, err)
	}
	// Deterministic: a second write of the same tensors in another order
	// gives the same bytes.
	slices.Reverse(in)
	path2 := filepath.Join(t.TempDir(), "y.safetensors")
	if err := Write(path2, in, meta); err != nil {
		t.Fatal(err)
	}
	raw2, _ := os.ReadFile(path2)
	if !bytes.Equal(raw, raw2) {
		t.Error("Write is not deterministic in the order of its input")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

// TestSafetensorsHFLayout checks the exact bytes of a small file against the
// layout the Python writer produces: {"__metadata__":...} first, compact JSON,
// space padding.
func TestSafetensorsHFLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.safetensors")
	if err := Write(path, []*Tensor{F32Tensor("w", []int{1}, []float32{1})}, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	hdr := `{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`
	hdr += strings.Repeat(" ", (8-len(hdr)%8)%8)
	if want := rawFile(hdr, []byte{0, 0, 0x80, 0x3f}); !bytes.Equal(raw, want) {
		t.Errorf("got\n%q\nwant\n%q", raw, want)
	}
}

func TestSafetensorsReadErrors(t *testing.T) {
	f32 := func(n int) []byte { return make([]byte, 4*n) }
	good := rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, f32(2))
	huge := make([]byte, 16)
	binary.LittleEndian.PutUint64(huge, 1<<40)
	beyond := make([]byte, 16)
	binary.LittleEndian.PutUint64(beyond, 100)
	cases := []struct {
		name    string
		content []byte
		want    string // besides the file name
	}{
		{"empty file", nil, "too short"},
		{"truncated length", []byte{1, 2, 3}, "too short"},
		{"header beyond limit", huge, "exceeds the limit"},
		{"header beyond file", beyond, "runs past the end of the file"},
		{"truncated data", good[:len(good)-1], "tensor a: data_offsets [0, 8] run past the data buffer of 7 bytes"},
		{"trailing bytes", append(slices.Clone(good), 0, 0, 0, 0), "the tensors cover 8 bytes but the data buffer holds 12"},
		{"bad JSON", rawFile(`{"a":`, nil), "not a valid JSON object"},
		{"JSON array", rawFile(`[1,2]`, nil), "not a valid JSON object"},
		{"unknown dtype", rawFile(`{"a":{"dtype":"F7","shape":[1],"data_offsets":[0,1]}}`, []byte{0}), `tensor a: unknown dtype "F7"`},
		{"size mismatch", rawFile(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, f32(2)), "tensor a: data_offsets [0, 8] hold 8 bytes, but shape [3] of F32 needs 12"},
		{"overlap", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, f32(3)), "tensor b: data_offsets [4, 12] overlap"},
		{"gap", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32(2)), "tensor a: data_offsets [4, 8] leave a gap"},
		{"reversed offsets", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}`, f32(2)), "tensor a: data_offsets [8, 4] are not an interval"},
		{"one offset", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4]}}`, f32(1)), "tensor a: data_offsets must be [begin, end]"},
		{"negative dim", rawFile(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, f32(1)), "tensor a: shape [-1] has a negative dimension"},
		{"missing shape", rawFile(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, f32(1)), "tensor a: missing shape"},
		{"overflowing shape", rawFile(`{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}}`, f32(1)), "tensor a: shape [4611686018427387904 4] is too large"},
		{"bad metadata", rawFile(`{"__metadata__":{"x":1}}`, nil), "__metadata__"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeRaw(t, c.content)
			_, err := Read(path)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want the file name and %q", err, c.want)
			}
			if _, herr := ReadHeader(path); herr == nil && !strings.Contains(c.name, "data") {
				t.Errorf("ReadHeader accepted it")
			}
		})
	}
	if _, err := Read(writeRaw(t, good)); err != nil {
		t.Errorf("good file: %v", err)
	}
}

func TestSafetensorsWriteErrors(t *testing.T) {
	cases := []struct {
		name string
		ts   []*Tensor
		want string
	}{
		{"size mismatch", []*Tensor{{Name: "a", DType: "F32", Shape: []int{3}, Data: make([]byte, 8)}}, "tensor a: 8 data bytes, but shape [3] of F32 needs 12"},
		{"duplicate", []*Tensor{F32Tensor("a", []int{1}, []float32{1}), F32Tensor("a", []int{1}, []float32{1})}, "tensor a: written twice"},
		{"unknown dtype", []*Tensor{{Name: "a", DType: "Q4", Shape: []int{1}, Data: []byte{0}}}, `tensor a: unknown dtype "Q4"`},
		{"reserved name", []*Tensor{F32Tensor("__metadata__", []int{1}, []float32{1})}, "reserved"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "x.safetensors")
			err := Write(path, c.ts, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %v, want %q", err, c.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("left behind: %v", entries)
			}
		})
	}
}

func TestSafetensorsF16(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	cases := []struct {
		bits uint16
		want float64
	}{
		{0x0000, 0},
		{0x3c00, 1},
		{0xc000, -2},
		{0x3555, 0.333251953125},
		{0x7bff, 65504},                     // largest normal
		{0x0400, math.Ldexp(1, -14)},        // smallest normal
		{0x0001, math.Ldexp(1, -24)},        // smallest subnormal
		{0x03ff, 1023 * math.Ldexp(1, -24)}, // largest subnormal
		{0x8001, -math.Ldexp(1, -24)},
		{0x7c00, inf},
		{0xfc00, -inf},
	}
	for _, c := range cases {
		if got := F16ToFloat32(c.bits); float64(got) != c.want {
			t.Errorf("F16ToFloat32(%#04x) = %g, want %g", c.bits, got, c.want)
		}
		if got := Float32ToF16(float32(c.want)); got != c.bits {
			t.Errorf("Float32ToF16(%g) = %#04x, want %#04x", c.want, got, c.bits)
		}
	}
	if got := math.Float32bits(F16ToFloat32(0x8000)); got != 0x80000000 {
		t.Errorf("negative zero = %#x", got)
	}
	if got := math.Float32bits(F16ToFloat32(0x7e01)); got != 0x7fc02000 {
		t.Errorf("NaN payload: %#x", got)
	}
	if !math.IsNaN(float64(F16ToFloat32(0x7c01))) || Float32ToF16(float32(nan))&0x7e00 != 0x7e00 {
		t.Error("NaN")
	}
	if got := Float32ToF16(math.Float32frombits(0x7f800001)); got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
		t.Errorf("signalling NaN with a low payload became %#04x", got)
	}
	// Rounding: ties to even, overflow, underflow.
	rounding := []struct {
		in   float64
		want uint16
	}{
		{1 + math.Ldexp(1, -11), 0x3c00},                      // tie between 1 and next: to even (1)
		{1 + 3*math.Ldexp(1, -11), 0x3c02},                    // tie, odd below: up
		{1 + math.Ldexp(1, -11) + math.Ldexp(1, -20), 0x3c01}, // above the tie
		{65520, 0x7c00}, // rounds up to infinity
		{65519, 0x7bff},
		{1e10, 0x7c00},
		{math.Ldexp(1, -25), 0x0000}, // half the smallest subnormal: tie to even (0)
		{math.Ldexp(1, -25) * (1 + math.Ldexp(1, -20)), 0x0001}, // just above
		{math.Ldexp(3, -25), 0x0002},                            // 1.5 units: tie to even (2)
		{math.Ldexp(1, -14) - math.Ldexp(1, -25), 0x0400},       // largest subnormal + half: carries into the smallest normal
		{1e-30, 0x0000},
		{-1e-30, 0x8000},
		{float64(math.Float32frombits(1)), 0x0000}, // float32 subnormal
	}
	for _, c := range rounding {
		if got := Float32ToF16(float32(c.in)); got != c.want {
			t.Errorf("Float32ToF16(%g) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	// Every finite F16 survives F16 → float32 → F16.
	for h := 0; h < 1<<16; h++ {
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			continue
		}
		if got := Float32ToF16(F16ToFloat32(uint16(h))); got != uint16(h) {
			t.Fatalf("round trip of %#04x gave %#04x", h, got)
		}
	}
}

func TestSafetensorsBF16(t *testing.T) {
	cases := []struct {
		bits uint16
		want float32
	}{
		{0x3f80, 1},
		{0xc040, -3},
		{0x4049, 3.140625},
		{0x0001, math.Float32frombits(0x00010000)}, // subnormal
		{0x7f80, float32(math.Inf(1))},
		{0xff80, float32(math.Inf(-1))},
	}
	for _, c := range cases {
		if got := BF16ToFloat32(c.bits); got != c.want {
			t.Errorf("BF16ToFloat32(%#04x) = %g, want %g", c.bits, got, c.want)
		}
		if got := Float32ToBF16(c.want); got != c.bits {
			t.Errorf("Float32ToBF16(%g) = %#04x, want %#04x", c.want, got, c.bits)
		}
	}
	rounding := []struct {
		in   uint32
		want uint16
	}{
		{0x3f808000, 0x3f80}, // tie, even below: down
		{0x3f818000, 0x3f82}, // tie, odd below: up
		{0x3f808001, 0x3f81}, // above the tie
		{0x7f7fffff, 0x7f80}, // largest float32 rounds to infinity
		{0x7fc00001, 0x7fc0}, // NaN stays NaN
		{0x7f800001, 0x7fc0}, // signalling NaN with a low payload stays NaN (quietened)
	}
	for _, c := range rounding {
		if got := Float32ToBF16(math.Float32frombits(c.in)); got != c.want {
			t.Errorf("Float32ToBF16(%#08x) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
}

func FuzzRead(f *testing.F) {
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)))
	f.Add(rawFile(`{"__metadata__":{"format":"pt"},"a":{"dtype":"BF16","shape":[1,1],"data_offsets":[0,2]},"b":{"dtype":"I64","shape":[],"data_offsets":[2,10]}}`, make([]byte, 10)))
	f.Add(rawFile(`{"a":{"dtype":"F16","shape":[0],"data_offsets":[0,0]}}`, nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, content []byte) {
		// In memory: the same parser as Read, without a file system in the loop.
		file, err := readFrom(bytes.NewReader(content), int64(len(content)), "f.safetensors", true)
		if err != nil {
			if !strings.Contains(err.Error(), "f.safetensors") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		// Whatever Read accepts converts without panicking and writes back.
		var ts []*Tensor
		for _, name := range file.Names {
			tn := file.Tensors[name]
			tn.Float32s()
			tn.Float64s()
			tn.Int64s()
			ts = append(ts, tn)
		}
		hdr, order, err := layout(ts, file.Metadata)
		if err != nil {
			t.Fatalf("layout of a file Read accepted: %v", err)
		}
		var out bytes.Buffer
		if err := encode(&out, hdr, order); err != nil {
			t.Fatal(err)
		}
		back, err := readFrom(bytes.NewReader(out.Bytes()), int64(out.Len()), "g.safetensors", true)
		if err != nil || len(back.Names) != len(file.Names) {
			t.Fatalf("re-read: %v", err)
		}
	})
}
