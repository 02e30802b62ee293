// Package tailworld is a deterministic world in which the mechanism of
// "Chasing the Tail" (arXiv 2509.21500) emerges rather than being written in:
// a seeded base of animals, requests over it in a small English-like
// language, scripted responder personas, the base-model SFT corpus and the
// candidate pools. The hidden ground truth lives in internal/truth, the
// simulated proposer and verifier in sim, the oracle judge and gold reward in
// oracle. README.md explains what is hidden and why each effect emerges.
package tailworld
