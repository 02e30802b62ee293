// Package grpo will hold advantages and losses as pure functions, the trainer loop and metrics. It
// must not talk HTTP directly.
package grpo
