// Package rollout will hold the policy server (Ollama and OpenAI HTTP APIs), the LLM client backends
// (openai, ollama, local) and group sampling. It must not compute rewards.
package rollout
