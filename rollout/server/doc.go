// Package server is rft's policy server: one model directory served over the
// Ollama and OpenAI HTTP APIs by rft's own engine (policy.Engine), with the
// extensions RL training needs: token ids beside text, the log-probabilities
// of the distribution actually sampled, and weights swapped while it runs
// (DESIGN.md decisions 6 and 8). `rft serve` runs it.
//
// # Endpoints
//
// Ollama: GET / ("Ollama is running"), GET /api/version, GET /api/tags,
// POST /api/show, GET /api/ps, POST /api/generate (raw mode, system,
// context), POST /api/chat. Both generation endpoints stream NDJSON unless
// "stream": false, take the options num_predict, temperature, top_k, top_p,
// min_p, seed and stop with Ollama's defaults (temperature 0.8, top_k 40,
// top_p 0.9, seed -1 = random, num_predict -1 = up to the context window),
// report logprobs/top_logprobs as Ollama does, and end with done_reason and
// total_duration, load_duration (request start to the engine call),
// prompt_eval_count, prompt_eval_duration (to the first token),
// eval_count and eval_duration (the rest). The durations before and after
// the first token are reported only when the engine streams tokens.
//
// OpenAI: GET /v1/models, GET /v1/models/{model}, POST /v1/chat/completions
// (n, seed, logprobs, top_logprobs, stop as a string or an array,
// max_tokens or max_completion_tokens, temperature (default 1), top_p,
// stream as server-sent events ending with "data: [DONE]",
// stream_options.include_usage, usage) and POST /v1/completions (a prompt
// string, an array of one string or an array of token ids; legacy integer
// logprobs; max_tokens defaults to 16 as in OpenAI's API). top_k and min_p
// are accepted as vLLM accepts them. presence_penalty and frequency_penalty
// (OpenAI's, in [-2, 2], over the tokens generated so far) and
// repetition_penalty (vLLM's, positive, over the prompt's and the generated
// tokens) are applied as vLLM applies them, after logit_bias (ids of the
// model's vocabulary, biases in [-100, 100]) (policy.Penalties); the
// log-probabilities reported stay the unadjusted ones. What the engine
// cannot do is refused with a 400 naming the field rather than ignored:
// response_format other than "text", tools and functions (chat), echo,
// suffix and best_of (completions). The Ollama endpoints
// accept repeat_penalty, presence_penalty and frequency_penalty and ignore
// them, as Ollama's own Go runner does.
//
// Temperatures below 1e-5 are greedy: go-openai drops "temperature": 0, so
// its users send 1e-6.
//
// # Extensions
//
// Request field, both APIs: "sampled_logprobs": true reports the
// log-probabilities of the distribution actually sampled, log softmax(logits
// / T) before top-k/top-p/min-p truncation, instead of the raw ones at T = 1
// that the public APIs define (DESIGN.md decision 6). The trainer's rollouts
// set it.
//
// Response fields:
//
//   - "prompt_token_ids": the ids of the rendered prompt. OpenAI: top level of
//     the response, and of each choice's final chunk when streaming. Ollama:
//     the final object or line ("context" also holds prompt and answer ids on
//     /api/generate, as in Ollama).
//   - "token_ids": the ids of the completion. OpenAI: per choice; streamed
//     chunks carry the ids received since the previous chunk of that choice,
//     so they concatenate to the whole list. Ollama: per object or line, the
//     same way. The list holds every token the engine produced, the EOS token
//     included (its text is not part of the answer) and, when a stop string
//     ended the sample, up to the token that completed it (the text is cut
//     before the stop string, as OpenAI does). Log-probabilities are aligned
//     with token_ids one to one, EOS included.
//   - "token_id" in each OpenAI chat log-probability entry.
//   - "weight_version": the weights that produced the answer. OpenAI: top
//     level (also as "system_fingerprint"), in streams on each choice's final
//     chunk and on the usage chunk. Ollama: the final object or line; also in
//     /api/tags, /api/ps, /api/show and /v1/models.
//
// # Weights
//
// Versions are named "v1" (the weights loaded at start), "v2", ... in the
// order they are swapped in, unless the caller names them (the trainer
// names them after its step). Every swap is atomic (policy.Engine.Swap):
// requests already running finish on the weights they started with, and
// their responses name those weights.
//
//   - POST /rft/reload, optional body {"path": DIR, "version": NAME}: load
//     DIR (default: the served model directory) and swap. `rft serve` does
//     the same on SIGHUP.
//   - PUT /rft/weights, body: a model.safetensors of the served architecture,
//     version in the X-Weight-Version header or ?version=. The upload is
//     checked whole (every tensor, shape, dtype, finite values) before the
//     swap; a bad one changes nothing and gets 400, an oversized one 413.
//   - GET /rft/weights: the current version.
//
// The tokenizer and chat template are never swapped.
//
// # Errors and auth
//
// Malformed JSON, wrong types, values out of range, a prompt that does not
// fit the context window, n over 128 and max_tokens over the context window
// get 400; an unknown model 404 (Ollama's /api/chat: 400 "model is
// required" for an empty name, as Ollama); bodies over 16 MiB 413. Bodies are
// {"error": {"message", "type", "param", "code"}} on /v1/ and {"error": "..."}
// elsewhere. Ollama answers wrongly typed options with 500; rft uses 400.
// A panic in a handler becomes a 500, never a crash.
//
// With an API key, every route but / requires "Authorization: Bearer KEY"
// (401 otherwise); the OpenAI and Ollama clients both send it.
package server
