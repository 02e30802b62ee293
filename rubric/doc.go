// Package rubric will hold the rubric schema and formats, the proposer, Refinement-through-
// Differentiation, the verifier and its cache, programmatic checks and rubric statistics. It must not
// know about GRPO.
package rubric
