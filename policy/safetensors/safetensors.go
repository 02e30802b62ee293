// Package safetensors reads and writes the safetensors format of Hugging Face
// (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON header, then one data buffer.
//
// The header maps each tensor name to {"dtype", "shape", "data_offsets":
// [begin, end]} (offsets relative to the data buffer) and may carry string
// metadata under "__metadata__". Read validates the file as strictly as the
// reference Rust implementation does: the tensors must tile the data buffer
// exactly, with no gap, no overlap and no trailing bytes.
package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/rft-dev/rft/internal/atomicfile"
	"io"
	"math"
	"os"
	"slices"
	"strings"
)

// maxHeader bounds the JSON header, as the reference implementation does
// (100 MB), so a corrupt length cannot make Read allocate gigabytes.
const maxHeader = 100_000_000

// dtypeSizes are the element sizes in bytes of the dtypes Read accepts.
var dtypeSizes = map[string]int{
	"F64": 8, "F32": 4, "F16": 2, "BF16": 2,
	"F8_E4M3": 1, "F8_E5M2": 1,
	"I64": 8, "I32": 4, "I16": 2, "I8": 1,
	"U64": 8, "U32": 4, "U16": 2, "U8": 1,
	"BOOL": 1,
}

// DTypeSize is the size in bytes of one element of dtype, or 0 when the dtype
// is unknown.
func DTypeSize(dtype string) int { return dtypeSizes[dtype] }

// Tensor is one named tensor. Data holds its raw little-endian bytes; it is
// nil for tensors returned by ReadHeader.
type Tensor struct {
	Name  string
	DType string
	Shape []int
	Data  []byte
}

// Elements is the product of the shape (1 for a scalar).
func (t *Tensor) Elements() int {
	n := 1
	for _, s := range t.Shape {
		n *= s
	}
	return n
}

// File is a parsed safetensors file.
type File struct {
	Metadata map[string]string // nil when the header has no __metadata__
	Tensors  map[string]*Tensor
	Names    []string // tensor names in the order of their data in the file
}

// headerEntry is one tensor's entry in the JSON header.
type headerEntry struct {
	DType       string  `json:"dtype"`
	Shape       []int64 `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

// Read reads and validates a whole safetensors file. Errors name the file
// and, where one is at fault, the tensor.
func Read(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return readFrom(f, st.Size(), path, true)
}

// ReadHeader reads and validates only the header of a safetensors file (the
// data offsets are checked against the file's size); the tensors' Data is nil.
// It serves tools that describe a checkpoint without loading its weights.
func ReadHeader(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return readFrom(f, st.Size(), path, false)
}

// readFrom parses the size bytes of r, named path in errors; withData reads
// the data buffer too.
func readFrom(r io.ReaderAt, size int64, path string, withData bool) (*File, error) {
	p, dataStart, dataLen, err := readHeader(r, size, path)
	if err != nil {
		return nil, err
	}
	if !withData {
		return p.File, nil
	}
	data := make([]byte, dataLen)
	if _, err := r.ReadAt(data, dataStart); err != nil && !(err == io.EOF && dataLen == 0) {
		return nil, fmt.Errorf("%s: reading data: %w", path, err)
	}
	for _, name := range p.Names {
		t := p.Tensors[name]
		t.Data = data[t.begin:t.end:t.end]
	}
	return p.File, nil
}

// parsed is a File with each tensor's byte range in the data buffer.
type parsed struct {
	*File
	Tensors map[string]*rangedTensor
}

type rangedTensor struct {
	*Tensor
	begin, end int64
}

// readHeader parses and validates the header of the size bytes of r (named
// path) and returns it with the data buffer's offset and length.
func readHeader(r io.ReaderAt, size int64, path string) (*parsed, int64, int64, error) {
	var lenBuf [8]byte
	if size < 8 {
		return nil, 0, 0, fmt.Errorf("%s: file of %d bytes is too short for the 8-byte header length", path, size)
	}
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, 0, 0, fmt.Errorf("%s: reading header length: %w", path, err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > maxHeader {
		return nil, 0, 0, fmt.Errorf("%s: header length %d exceeds the limit of %d bytes", path, n, maxHeader)
	}
	if int64(n) > size-8 {
		return nil, 0, 0, fmt.Errorf("%s: header length %d runs past the end of the file (%d bytes): truncated file?", path, n, size)
	}
	hdr := make([]byte, n)
	if _, err := r.ReadAt(hdr, 8); err != nil && !(err == io.EOF && n == 0) {
		return nil, 0, 0, fmt.Errorf("%s: reading header: %w", path, err)
	}
	p, err := parseHeader(hdr, size-8-int64(n))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	return p, 8 + int64(n), size - 8 - int64(n), nil
}

// parseHeader decodes the JSON header and checks every tensor against a data
// buffer of dataLen bytes.
func parseHeader(hdr []byte, dataLen int64) (*parsed, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return nil, fmt.Errorf("header is not a valid JSON object: %w", err)
	}
	p := &parsed{File: &File{Tensors: map[string]*Tensor{}}, Tensors: map[string]*rangedTensor{}}
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &p.Metadata); err != nil {
				return nil, fmt.Errorf("__metadata__: must map strings to strings: %w", err)
			}
			continue
		}
		t, err := parseEntry(name, msg)
		if err != nil {
			return nil, fmt.Errorf("tensor %s: %w", name, err)
		}
		p.Tensors[name] = t
		p.File.Tensors[name] = t.Tensor
		p.Names = append(p.Names, name)
	}
	// Tile the data buffer: sorted by offset (then name, so that the order
	// of empty tensors is deterministic), each tensor starts where the
	// previous one ended and the last ends at the end of the buffer.
	slices.SortFunc(p.Names, func(a, b string) int {
		ta, tb := p.Tensors[a], p.Tensors[b]
		if ta.begin != tb.begin {
			return cmpInt64(ta.begin, tb.begin)
		}
		if ta.end != tb.end {
			return cmpInt64(ta.end, tb.end)
		}
		return strings.Compare(a, b)
	})
	var at int64
	for _, name := range p.Names {
		t := p.Tensors[name]
		switch {
		case t.begin < at:
			return nil, fmt.Errorf("tensor %s: data_offsets [%d, %d] overlap the previous tensor, which ends at %d", name, t.begin, t.end, at)
		case t.begin > at:
			return nil, fmt.Errorf("tensor %s: data_offsets [%d, %d] leave a gap after offset %d", name, t.begin, t.end, at)
		case t.end > dataLen:
			return nil, fmt.Errorf("tensor %s: data_offsets [%d, %d] run past the data buffer of %d bytes: truncated file?", name, t.begin, t.end, dataLen)
		}
		at = t.end
	}
	if at != dataLen {
		return nil, fmt.Errorf("the tensors cover %d bytes but the data buffer holds %d", at, dataLen)
	}
	return p, nil
}

// parseEntry decodes one tensor's header entry and checks that its byte size
// matches its shape and dtype.
func parseEntry(name string, msg json.RawMessage) (*rangedTensor, error) {
	if name == "" {
		return nil, errors.New("empty tensor name")
	}
	var e headerEntry
	if err := json.Unmarshal(msg, &e); err != nil {
		return nil, fmt.Errorf("bad header entry: %w", err)
	}
	esize := dtypeSizes[e.DType]
	if esize == 0 {
		return nil, fmt.Errorf("unknown dtype %q", e.DType)
	}
	if e.Shape == nil {
		return nil, errors.New("missing shape")
	}
	if len(e.DataOffsets) != 2 {
		return nil, fmt.Errorf("data_offsets must be [begin, end], got %v", e.DataOffsets)
	}
	begin, end := e.DataOffsets[0], e.DataOffsets[1]
	if begin < 0 || end < begin {
		return nil, fmt.Errorf("data_offsets [%d, %d] are not an interval", begin, end)
	}
	// The product of the shape must not overflow before it is compared
	// with the byte size, which the file size bounds.
	elems := int64(1)
	shape := make([]int, len(e.Shape))
	for i, s := range e.Shape {
		if s < 0 {
			return nil, fmt.Errorf("shape %v has a negative dimension", e.Shape)
		}
		if s != 0 && elems > math.MaxInt64/int64(esize)/s {
			return nil, fmt.Errorf("shape %v is too large", e.Shape)
		}
		elems *= s
		shape[i] = int(s)
	}
	if want := elems * int64(esize); end-begin != want {
		return nil, fmt.Errorf("data_offsets [%d, %d] hold %d bytes, but shape %v of %s needs %d", begin, end, end-begin, e.Shape, e.DType, want)
	}
	return &rangedTensor{Tensor: &Tensor{Name: name, DType: e.DType, Shape: shape}, begin: begin, end: end}, nil
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Write writes tensors and metadata to path atomically: into a temporary file
// in the same directory, fsynced, then renamed over path.
//
// The layout is deterministic and follows the Python safetensors writer:
// the data is ordered by element size, largest first (which keeps every
// tensor aligned to its element size), then by name; the header lists
// __metadata__ first, then the tensors in data order, and is padded with
// spaces to a multiple of 8 bytes.
func Write(path string, tensors []*Tensor, metadata map[string]string) error {
	hdr, order, err := layout(tensors, metadata)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	// Buffered: encode writes many small pieces.
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		if err := encode(bw, hdr, order); err != nil {
			return err
		}
		return bw.Flush()
	})
}

// layout checks the tensors and returns the padded header and the tensors in
// data order.
func layout(tensors []*Tensor, metadata map[string]string) ([]byte, []*Tensor, error) {
	order := slices.Clone(tensors)
	seen := map[string]bool{}
	for _, t := range order {
		if err := checkWritable(t, seen); err != nil {
			return nil, nil, err
		}
	}
	slices.SortFunc(order, func(a, b *Tensor) int {
		if sa, sb := dtypeSizes[a.DType], dtypeSizes[b.DType]; sa != sb {
			return sb - sa
		}
		return strings.Compare(a.Name, b.Name)
	})
	hdr, err := encodeHeader(order, metadata)
	return hdr, order, err
}

// encode writes a file with the padded header hdr and tensors in data order.
func encode(w io.Writer, hdr []byte, order []*Tensor) error {
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hdr)))
	if _, err := w.Write(lenBuf[:]); err != nil {
		return err
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	for _, t := range order {
		if _, err := w.Write(t.Data); err != nil {
			return err
		}
	}
	return nil
}

// checkWritable reports why t cannot be written, if it cannot.
func checkWritable(t *Tensor, seen map[string]bool) error {
	switch {
	case t == nil:
		return errors.New("nil tensor")
	case t.Name == "" || t.Name == "__metadata__":
		return fmt.Errorf("tensor name %q is reserved or empty", t.Name)
	case seen[t.Name]:
		return fmt.Errorf("tensor %s: written twice", t.Name)
	case dtypeSizes[t.DType] == 0:
		return fmt.Errorf("tensor %s: unknown dtype %q", t.Name, t.DType)
	}
	seen[t.Name] = true
	n := dtypeSizes[t.DType]
	for _, s := range t.Shape {
		if s < 0 {
			return fmt.Errorf("tensor %s: shape %v has a negative dimension", t.Name, t.Shape)
		}
		n *= s
	}
	if len(t.Data) != n {
		return fmt.Errorf("tensor %s: %d data bytes, but shape %v of %s needs %d", t.Name, len(t.Data), t.Shape, t.DType, n)
	}
	return nil
}

// encodeHeader is the padded JSON header for tensors in data order.
func encodeHeader(order []*Tensor, metadata map[string]string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	if metadata != nil {
		m, err := json.Marshal(metadata) // encoding/json sorts map keys
		if err != nil {
			return nil, err
		}
		b.WriteString(`"__metadata__":`)
		b.Write(m)
	}
	var at int64
	for i, t := range order {
		if i > 0 || metadata != nil {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(t.Name)
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		s, _ := json.Marshal(shape)
		end := at + int64(len(t.Data))
		fmt.Fprintf(&b, `%s:{"dtype":%q,"shape":%s,"data_offsets":[%d,%d]}`, name, t.DType, s, at, end)
		at = end
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	return b.Bytes(), nil
}
