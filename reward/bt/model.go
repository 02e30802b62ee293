// Package bt is the Bradley-Terry reward model: a scalar head on the base
// policy's backbone, r(x, y) = w·h_last + b, trained on preference pairs with
// −log σ(r_chosen − r_rejected) (the paper's learned-reward baseline, whose
// off-policy variant picks up the stylistic artifacts of the strong
// responders). A trained model is a Hugging Face model directory plus
// reward_head.safetensors, and it scores completions as a reward.Reward.
//
// Pairs come from outside (a JSONL file, or a generator in the command
// layer): this package knows no task and no judge.
package bt

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/rft-dev/rft/policy"
	"github.com/rft-dev/rft/policy/safetensors"
	"github.com/rft-dev/rft/policy/tokenizer"
	"github.com/rft-dev/rft/reward"
)

// Files of a reward-model directory beside the HF model files.
const (
	HeadFile      = "reward_head.safetensors"
	tokenizerFile = "tokenizer.json"
	// Tensor names follow transformers' *ForSequenceClassification ("score",
	// one label); the bias is ours (it has none).
	headWeight = "score.weight"
	headBias   = "score.bias"
)

// scoreTokens bounds the tokens of one scoring forward pass (memory); the
// kernels are batch-invariant, so the chunking never changes a score.
const scoreTokens = 8192

// Model is a reward model: backbone, head and the tokenisation they were
// trained with. Score is safe for concurrent use (calls are serialised).
type Model struct {
	Backbone *policy.Model[float32]
	Head     []float32 // w (d values) then b
	Tok      *tokenizer.Tokenizer
	// Chat, when set, renders the prompt as a user turn with the generation
	// prompt and ends the completion with the template's end-of-turn token,
	// as rollouts are; nil means plain input: prompt, completion, EOS.
	Chat   *tokenizer.ChatTemplate
	EOS    int // ends a plain completion, as pretraining's SFT rows end
	MaxLen int // longer inputs keep their last MaxLen tokens

	mu sync.Mutex
	ws *policy.Workspace[float32]
}

// New wraps a backbone and a head (len d+1) with their tokenisation (chat
// nil: plain input).
func New(backbone *policy.Model[float32], head []float32, tok *tokenizer.Tokenizer, chat *tokenizer.ChatTemplate, eos, maxLen int) (*Model, error) {
	c := backbone.Config
	if chat != nil {
		if _, ok := tok.TokenID(chat.EndOfTurnToken()); !ok {
			return nil, fmt.Errorf("chat input: the tokenizer has no %s token to end a response with (use plain input)", chat.EndOfTurnToken())
		}
	}
	if len(head) != c.Hidden+1 {
		return nil, fmt.Errorf("reward head has %d values, want hidden size + 1 = %d", len(head), c.Hidden+1)
	}
	if eos < 0 || eos >= c.VocabSize {
		return nil, fmt.Errorf("eos id %d is outside the vocabulary [0, %d)", eos, c.VocabSize)
	}
	if maxLen < 2 || maxLen > c.MaxPositions {
		return nil, fmt.Errorf("max length %d is not in [2, max_position_embeddings %d]", maxLen, c.MaxPositions)
	}
	return &Model{Backbone: backbone, Head: head, Tok: tok, Chat: chat, EOS: eos, MaxLen: maxLen,
		ws: policy.NewWorkspace[float32](false)}, nil
}

// EOSOf picks the id that ends a completion the way pretraining's SFT rows
// end: the tokenizer's end-of-text token when it has one, else the model's
// first EOS id.
func EOSOf(c *policy.Config, tok *tokenizer.Tokenizer) (int, error) {
	if id, ok := tok.TokenID(tokenizer.EndOfText); ok {
		return id, nil
	}
	if len(c.EOS) > 0 {
		return c.EOS[0], nil
	}
	return 0, fmt.Errorf("the model has no EOS id (config.json eos_token_id) and the tokenizer no %s", tokenizer.EndOfText)
}

// Encode is the one tokenisation of training and scoring. Chat input: the
// prompt as one user turn through the chat template with the generation
// prompt (the tokens the rollout server prompts the policy with), then the
// completion and the end-of-turn token (the tokens it samples, stop token
// included). Plain input: prompt, completion, EOS, as pretraining's
// {"prompt","completion"} rows. Either way the last position has seen the
// whole response and its end. Inputs over MaxLen keep their last MaxLen
// tokens: the response's end is what the head reads.
func (m *Model) Encode(prompt, completion string) []int {
	var ids []int
	if m.Chat != nil {
		ids = m.Tok.Encode(m.Chat.Render([]tokenizer.Message{{Role: "user", Content: prompt}}, true))
		ids = append(ids, m.Tok.Encode(completion+m.Chat.EndOfTurnToken())...)
	} else {
		ids = append(m.Tok.Encode(prompt), m.Tok.Encode(completion)...)
		ids = append(ids, m.EOS)
	}
	if len(ids) > m.MaxLen {
		ids = ids[len(ids)-m.MaxLen:]
	}
	return ids
}

// Rewards scores token sequences (as Encode makes them), one reward each.
func (m *Model) Rewards(seqs [][]int) ([]float32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]float32, 0, len(seqs))
	d := m.Backbone.Config.Hidden
	for lo := 0; lo < len(seqs); {
		var b policy.Batch
		hi := lo
		for hi < len(seqs) && (hi == lo || len(b.Tokens)+len(seqs[hi]) <= scoreTokens) {
			b.Tokens = append(b.Tokens, seqs[hi]...)
			b.Lens = append(b.Lens, len(seqs[hi]))
			hi++
		}
		h, err := m.Backbone.Hidden(m.ws, b)
		if err != nil {
			return nil, fmt.Errorf("reward model: sequences %d-%d: %w", lo, hi-1, err)
		}
		r := make([]float32, hi-lo)
		headForward(r, h, lastPositions(b.Lens), m.Head, d)
		out = append(out, r...)
		lo = hi
	}
	return out, nil
}

// Score implements reward.Reward: the reward of each (prompt, completion),
// deterministic (the same sample always gets the same bits, alone or in any
// batch).
func (m *Model) Score(ctx context.Context, batch []reward.Sample) ([]reward.Score, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	seqs := make([][]int, len(batch))
	for i, s := range batch {
		seqs[i] = m.Encode(s.Prompt, s.Completion)
	}
	r, err := m.Rewards(seqs)
	if err != nil {
		return nil, err
	}
	out := make([]reward.Score, len(batch))
	for i, v := range r {
		out[i] = reward.Score{Value: float64(v)}
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			out[i] = reward.Score{Err: fmt.Errorf("reward model: sample %d (%s): non-finite reward %g", i, batch[i].PromptID, v)}
		}
	}
	return out, nil
}

var _ reward.Reward = (*Model)(nil)

// Save writes the model as a directory: the HF model files (config.json,
// model.safetensors, generation_config.json), tokenizer.json and
// reward_head.safetensors. Like policy.SaveDir it replaces dir as a whole.
func (m *Model) Save(dir string) error {
	if err := policy.SaveDir(dir, m.Backbone.Params, nil); err != nil {
		return err
	}
	if err := m.Tok.Save(filepath.Join(dir, tokenizerFile)); err != nil {
		return err
	}
	return m.SaveHead(dir)
}

// SaveHead writes reward_head.safetensors: score.weight [1, d] and score.bias
// [1], with the tokenisation in the metadata (pooling, input, eos id, max
// length).
func (m *Model) SaveHead(dir string) error {
	d := m.Backbone.Config.Hidden
	return safetensors.Write(filepath.Join(dir, HeadFile), []*safetensors.Tensor{
		safetensors.F32Tensor(headWeight, []int{1, d}, m.Head[:d]),
		safetensors.F32Tensor(headBias, []int{1}, m.Head[d:]),
	}, map[string]string{"format": "pt", "pooling": "last_token", "input": m.input(),
		"eos_token_id": strconv.Itoa(m.EOS), "max_length": strconv.Itoa(m.MaxLen)})
}

// input names the tokenisation in the head's metadata: "chat" (the
// directory's chat template, read back by tokenizer.LoadChatTemplate) or
// "plain".
func (m *Model) input() string {
	if m.Chat != nil {
		return "chat"
	}
	return "plain"
}

// Load reads a reward-model directory written by Save (or a checkpoint of
// `rft rm train`).
func Load(dir string) (*Model, error) {
	_, params, err := policy.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.Load(filepath.Join(dir, tokenizerFile))
	if err != nil {
		return nil, err
	}
	backbone, err := policy.NewModel(params)
	if err != nil {
		return nil, err
	}
	head, input, eos, maxLen, err := readHead(filepath.Join(dir, HeadFile), params.Config)
	if err != nil {
		return nil, err
	}
	var chat *tokenizer.ChatTemplate
	if input == "chat" {
		tmpl, err := tokenizer.LoadChatTemplate(dir)
		if err != nil {
			return nil, err
		}
		chat = &tmpl
	}
	m, err := New(backbone, head, tok, chat, eos, maxLen)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, HeadFile), err)
	}
	return m, nil
}

// readHead reads the head's weights and its tokenisation metadata.
func readHead(path string, c *policy.Config) (head []float32, input string, eos, maxLen int, err error) {
	f, err := safetensors.Read(path)
	if err != nil {
		return nil, "", 0, 0, err
	}
	d := c.Hidden
	head = make([]float32, d+1)
	for _, want := range []struct {
		name  string
		shape []int
		dst   []float32
	}{{headWeight, []int{1, d}, head[:d]}, {headBias, []int{1}, head[d:]}} {
		t, ok := f.Tensors[want.name]
		if !ok {
			return nil, "", 0, 0, fmt.Errorf("%s: missing tensor %s", path, want.name)
		}
		if fmt.Sprint(t.Shape) != fmt.Sprint(want.shape) {
			return nil, "", 0, 0, fmt.Errorf("%s: tensor %s: shape %v, want %v (hidden size %d)", path, want.name, t.Shape, want.shape, d)
		}
		if err := t.Float32sInto(want.dst); err != nil {
			return nil, "", 0, 0, fmt.Errorf("%s: tensor %s: %w", path, want.name, err)
		}
	}
	for _, kv := range []struct {
		key string
		dst *int
	}{{"eos_token_id", &eos}, {"max_length", &maxLen}} {
		v, err := strconv.Atoi(f.Metadata[kv.key])
		if err != nil {
			return nil, "", 0, 0, fmt.Errorf("%s: metadata %s: %q is not an integer", path, kv.key, f.Metadata[kv.key])
		}
		*kv.dst = v
	}
	if p := f.Metadata["pooling"]; p != "last_token" {
		return nil, "", 0, 0, fmt.Errorf("%s: metadata pooling: %q is not last_token", path, p)
	}
	input = f.Metadata["input"]
	if input != "chat" && input != "plain" {
		return nil, "", 0, 0, fmt.Errorf("%s: metadata input: %q is not chat or plain", path, input)
	}
	return head, input, eos, maxLen, nil
}
