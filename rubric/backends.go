package rubric

import (
	"strings"
	"sync"
)

// ProposerFactory opens a proposer that is not an LLM (a simulated one, as
// in tasks/tailworld) from its model spec.
type ProposerFactory func(spec string) (Proposer, error)

// VerifierFactory opens a verifier that is not an LLM from its model spec.
type VerifierFactory func(spec string) (Verifier, error)

var backends = struct {
	sync.RWMutex
	proposers map[string]ProposerFactory
	verifiers map[string]VerifierFactory
}{proposers: map[string]ProposerFactory{}, verifiers: map[string]VerifierFactory{}}

// RegisterProposer makes a non-LLM proposer available under a spec backend
// (the part before the first colon, e.g. "sim"); specs of other backends are
// served by LLMProposer over rollout.Open. Registering twice panics.
func RegisterProposer(backend string, f ProposerFactory) {
	backends.Lock()
	defer backends.Unlock()
	if _, dup := backends.proposers[backend]; dup || f == nil {
		panic("rubric: RegisterProposer " + backend + ": nil or registered twice")
	}
	backends.proposers[backend] = f
}

// RegisterVerifier is RegisterProposer for verifiers.
func RegisterVerifier(backend string, f VerifierFactory) {
	backends.Lock()
	defer backends.Unlock()
	if _, dup := backends.verifiers[backend]; dup || f == nil {
		panic("rubric: RegisterVerifier " + backend + ": nil or registered twice")
	}
	backends.verifiers[backend] = f
}

// LookupProposer returns the registered factory for a spec's backend.
func LookupProposer(spec string) (ProposerFactory, bool) {
	backends.RLock()
	defer backends.RUnlock()
	f, ok := backends.proposers[specBackend(spec)]
	return f, ok
}

// LookupVerifier returns the registered factory for a spec's backend.
func LookupVerifier(spec string) (VerifierFactory, bool) {
	backends.RLock()
	defer backends.RUnlock()
	f, ok := backends.verifiers[specBackend(spec)]
	return f, ok
}

func specBackend(spec string) string {
	b, _, _ := strings.Cut(spec, ":")
	return strings.TrimSpace(b)
}
