// Package policy is rft's native decoder model: architecture config, kernels
// (forward/backward pairs over flat slices), optimizer and Hugging Face
// checkpoint format. It knows nothing about rewards or RL.
package policy

// Float is the element type of every kernel. Training runs in float32; the
// finite-difference gradient tests run the same code in float64.
type Float interface{ ~float32 | ~float64 }
