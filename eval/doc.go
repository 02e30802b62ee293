// Package eval will hold judges, win-rates with confidence intervals, curves over checkpoints and
// reward-accuracy probes. It must not train.
package eval
