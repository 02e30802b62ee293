package policy

import (
	"fmt"

	"github.com/rft-dev/rft/policy/safetensors"
)

// SaveState writes the optimizer's moments to a safetensors file (tensors
// adam.m and adam.v, float32, bit-exact), so a resumed run continues the
// same trajectory. The step count belongs to the caller's trainer state.
func (o *AdamW) SaveState(path string) error {
	shape := []int{len(o.M)}
	return safetensors.Write(path, []*safetensors.Tensor{
		safetensors.F32Tensor("adam.m", shape, o.M),
		safetensors.F32Tensor("adam.v", shape, o.V),
	}, nil)
}

// LoadState reads moments written by SaveState; their sizes must match.
func (o *AdamW) LoadState(path string) error {
	f, err := safetensors.Read(path)
	if err != nil {
		return err
	}
	for name, dst := range map[string][]float32{"adam.m": o.M, "adam.v": o.V} {
		t, ok := f.Tensors[name]
		if !ok {
			return fmt.Errorf("%s: no tensor %s", path, name)
		}
		if err := t.Float32sInto(dst); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil
}
