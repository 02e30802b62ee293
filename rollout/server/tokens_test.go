package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rft-dev/rft/policy"
	"github.com/rft-dev/rft/policy/tokenizer"
)

// jsonText is how a decoded byte string arrives through JSON: each invalid
// byte becomes U+FFFD.
func jsonText(b string) string { return string([]rune(b)) }

func TestTokenIDs(t *testing.T) {
	s := newServer(t, Options{})
	msgs := []tokenizer.Message{{Role: "user", Content: "Spell 'river'."}}
	r := postChat(t, s, map[string]any{"model": "tiny", "max_tokens": 9, "n": 2, "seed": 4,
		"messages": []any{map[string]any{"role": "user", "content": msgs[0].Content}}})
	if want := s.tok.Encode(s.tmpl.Render(msgs, true)); !slices.Equal(r.PromptTokenIDs, want) {
		t.Errorf("prompt_token_ids %v, want %v", r.PromptTokenIDs, want)
	}
	if r.WeightVersion != "v1" || r.Usage.PromptTokens != len(r.PromptTokenIDs) {
		t.Errorf("weight_version %q, usage %+v", r.WeightVersion, r.Usage)
	}
	completion := 0
	for _, ch := range r.Choices {
		ids := ch.TokenIDs
		completion += len(ids)
		if n := len(ids); n > 0 && slices.Contains(s.eos, ids[n-1]) {
			ids = ids[:n-1]
		}
		if got := jsonText(s.tok.Decode(ids)); got != ch.Message.Content {
			t.Errorf("choice %d: token_ids decode to %q, content %q", ch.Index, got, ch.Message.Content)
		}
	}
	if completion != r.Usage.CompletionTokens {
		t.Errorf("%d token ids, usage says %d", completion, r.Usage.CompletionTokens)
	}

	// Ollama: the same ids for the same conversation and sampling.
	code, body := call(t, s.Handler(), "POST", "/api/chat", map[string]any{"model": "tiny", "stream": false,
		"messages": []any{map[string]any{"role": "user", "content": msgs[0].Content}},
		"options":  map[string]any{"num_predict": 9, "seed": 4, "temperature": 1, "top_k": 0, "top_p": 1}})
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	o := decode[ollamaResponse](t, body)
	if !slices.Equal(o.PromptTokenIDs, r.PromptTokenIDs) || !slices.Equal(o.TokenIDs, r.Choices[0].TokenIDs) || o.WeightVersion != "v1" {
		t.Errorf("ollama: prompt %v tokens %v version %q; openai: prompt %v tokens %v", o.PromptTokenIDs, o.TokenIDs, o.WeightVersion, r.PromptTokenIDs, r.Choices[0].TokenIDs)
	}

	// Streamed chunks carry the ids received since the previous chunk.
	chunks := sse(t, s, "/v1/chat/completions", map[string]any{"model": "tiny", "max_tokens": 9, "n": 2, "seed": 4, "stream": true,
		"messages": []any{map[string]any{"role": "user", "content": msgs[0].Content}}})
	got := make([][]int, 2)
	texts := make([]string, 2)
	for _, c := range chunks {
		for _, ch := range c.Choices {
			got[ch.Index] = append(got[ch.Index], ch.TokenIDs...)
			texts[ch.Index] += ch.Delta.Content
		}
	}
	for i := range 2 {
		if !slices.Equal(got[i], r.Choices[i].TokenIDs) || texts[i] != r.Choices[i].Message.Content {
			t.Errorf("choice %d: streamed ids %v text %q, whole %v %q", i, got[i], texts[i], r.Choices[i].TokenIDs, r.Choices[i].Message.Content)
		}
	}
	last := chunks[len(chunks)-1]
	if last.WeightVersion != "v1" || !slices.Equal(last.PromptTokenIDs, r.PromptTokenIDs) {
		t.Errorf("final chunk: version %q prompt ids %v", last.WeightVersion, last.PromptTokenIDs)
	}
}

type sseChunk struct {
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Content string `json:"content"`
		} `json:"delta"`
		Text         string  `json:"text"`
		FinishReason *string `json:"finish_reason"`
		TokenIDs     []int   `json:"token_ids"`
	} `json:"choices"`
	PromptTokenIDs []int  `json:"prompt_token_ids"`
	WeightVersion  string `json:"weight_version"`
}

// sse posts a streaming request and returns its chunks, checking the
// framing: "data: " lines ending with "data: [DONE]".
func sse(t testing.TB, s *Server, path string, body any) []sseChunk {
	t.Helper()
	code, out := call(t, s.Handler(), "POST", path, body)
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, out)
	}
	var chunks []sseChunk
	done := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || done {
			t.Fatalf("bad SSE line %q", line)
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		var c sseChunk
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatalf("chunk %q: %v", data, err)
		}
		chunks = append(chunks, c)
	}
	if !done || len(chunks) == 0 {
		t.Fatalf("stream without [DONE] or chunks: %s", out)
	}
	return chunks
}

// TestStopStrings cuts the text before a stop string and the tokens after
// the one that completed it, streamed or not, in both APIs.
func TestStopStrings(t *testing.T) {
	s := newServer(t, Options{})
	msg := []any{map[string]any{"role": "user", "content": "Tell me a story."}}
	base := postChat(t, s, map[string]any{"model": "tiny", "max_tokens": 24, "temperature": 0, "messages": msg})
	ids := base.Choices[0].TokenIDs
	// A stop string whose first occurrence is the text of token k.
	k, stop := -1, ""
	for i := 1; i < len(ids); i++ {
		tt := s.tokenText(ids[i])
		if tt != "" && utf8.ValidString(tt) && strings.Index(s.tok.Decode(ids), tt) == len(s.tok.Decode(ids[:i])) {
			k, stop = i, tt
			break
		}
	}
	if k < 0 {
		t.Skip("the greedy answer has no token to stop at")
	}
	wantText, wantIDs := jsonText(s.tok.Decode(ids[:k])), ids[:k+1]

	r := postChat(t, s, map[string]any{"model": "tiny", "max_tokens": 24, "temperature": 0, "messages": msg, "stop": stop})
	ch := r.Choices[0]
	if ch.Message.Content != wantText || !slices.Equal(ch.TokenIDs, wantIDs) || ch.FinishReason != "stop" {
		t.Fatalf("stop %q: %q %v %s; want %q %v stop", stop, ch.Message.Content, ch.TokenIDs, ch.FinishReason, wantText, wantIDs)
	}
	chunks := sse(t, s, "/v1/chat/completions", map[string]any{"model": "tiny", "max_tokens": 24, "temperature": 0, "messages": msg, "stop": []string{"\x00never", stop}, "stream": true})
	var text string
	var got []int
	for _, c := range chunks {
		for _, ch := range c.Choices {
			text += ch.Delta.Content
			got = append(got, ch.TokenIDs...)
		}
	}
	if text != wantText || !slices.Equal(got, wantIDs) {
		t.Errorf("streamed with stop: %q %v; want %q %v", text, got, wantText, wantIDs)
	}
	code, body := call(t, s.Handler(), "POST", "/api/chat", map[string]any{"model": "tiny", "stream": false, "messages": msg,
		"options": map[string]any{"num_predict": 24, "temperature": 0, "stop": []string{stop}}})
	o := decode[ollamaResponse](t, body)
	if code != http.StatusOK || o.Message.Content != wantText || o.DoneReason != "stop" {
		t.Errorf("ollama with stop: %d %q %q", code, o.Message.Content, o.DoneReason)
	}
}

// TestFinishSample covers the cut on hand-made samples: a stop string that
// spans tokens, two stop strings, and the EOS token.
func TestFinishSample(t *testing.T) {
	s := newServer(t, Options{})
	enc := func(text string) []int { return s.tok.Encode(text) }
	eos := s.eos[0]
	ids := enc("alpha beta gamma delta")
	cases := []struct {
		tokens []int
		stops  []string
		text   string
		finish string
	}{
		{ids, nil, "alpha beta gamma delta", "length"},
		{ids, []string{"ta gam"}, "alpha be", "stop"},
		{ids, []string{"delta", "beta"}, "alpha ", "stop"},
		{ids, []string{"zeta"}, "alpha beta gamma delta", "length"},
		{append(slices.Clone(ids), eos), nil, "alpha beta gamma delta", "stop"},
	}
	for _, c := range cases {
		finish := "length"
		if slices.Contains(s.eos, c.tokens[len(c.tokens)-1]) {
			finish = "stop"
		}
		r, err := s.finishSample(policy.GenSample{Tokens: c.tokens, FinishReason: finish}, c.stops, false, 0)
		if err != nil {
			t.Fatal(err)
		}
		if r.Text != c.text || r.Finish != c.finish {
			t.Errorf("stops %q: %q %s, want %q %s", c.stops, r.Text, r.Finish, c.text, c.finish)
		}
		// The tokens kept are the fewest whose text holds the stop string.
		if c.finish == "stop" && len(c.stops) > 0 {
			kept := s.tok.Decode(r.Tokens)
			short := s.tok.Decode(r.Tokens[:len(r.Tokens)-1])
			found := func(x string) bool {
				for _, st := range c.stops {
					if strings.Contains(x, st) {
						return true
					}
				}
				return false
			}
			if !found(kept) || found(short) {
				t.Errorf("stops %q: kept tokens spell %q", c.stops, kept)
			}
		}
	}
	if _, err := s.finishSample(policy.GenSample{Tokens: ids, FinishReason: "length"}, nil, true, 0); err == nil {
		t.Error("a sample without log-probabilities was accepted for a logprobs request")
	}
}

func TestHoldBack(t *testing.T) {
	for _, c := range []struct {
		text  string
		stops []string
		want  int
	}{
		{"hello wor", []string{"world"}, 3},
		{"hello", []string{"lo!", "o"}, 2},
		{"hello", []string{"xyz"}, 0},
		{"hello", nil, 0},
	} {
		if got := stopPrefixLen(c.text, c.stops); got != c.want {
			t.Errorf("stopPrefixLen(%q, %q) = %d, want %d", c.text, c.stops, got, c.want)
		}
	}
	euro := "€" // 3 bytes
	for _, c := range []struct {
		text string
		want int
	}{{"a" + euro, 0}, {"a" + euro[:1], 1}, {"a" + euro[:2], 2}, {"a\x80", 0}, {"", 0}} {
		if got := incompleteUTF8(c.text); got != c.want {
			t.Errorf("incompleteUTF8(%q) = %d, want %d", c.text, got, c.want)
		}
	}
}
