package rollout

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rft-dev/rft/policy"
	"github.com/rft-dev/rft/policy/tokenizer"
)

// tinyModelDir writes a freshly initialised tiny checkpoint with rft's test
// tokenizer.
func tinyModelDir(t *testing.T) (string, *tokenizer.Tokenizer) {
	t.Helper()
	tok, err := tokenizer.Load(filepath.Join("..", "testdata", "tokenizer", "rft", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := policy.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	c.VocabSize = tok.VocabSize()
	if id, ok := tok.TokenID(tokenizer.EndOfText); ok {
		c.EOS = []int{id}
	}
	dir := filepath.Join(t.TempDir(), "tiny")
	if err := policy.SaveDir(dir, policy.InitParams[float32](c, 3), nil); err != nil {
		t.Fatal(err)
	}
	if err := tok.Save(filepath.Join(dir, "tokenizer.json")); err != nil {
		t.Fatal(err)
	}
	return dir, tok
}

func TestLocalBackend(t *testing.T) {
	dir, tok := tinyModelDir(t)
	m := NewMeter()
	llm, err := Open("local:"+dir, Options{Meter: m, Role: "policy"})
	if err != nil {
		t.Fatal(err)
	}
	msgs := []Message{{Role: "user", Content: "Name two fruits."}}
	req := ChatRequest{Messages: msgs, N: 3, Temperature: 1, MaxTokens: 12, Seed: seedPtr(5), Logprobs: true, SampledLogprobs: true}
	resp, err := llm.Chat(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := tok.Encode(tokenizer.Plain.Render([]tokenizer.Message{{Role: "user", Content: "Name two fruits."}}, true))
	if !slices.Equal(resp.PromptTokens, want) {
		t.Errorf("prompt tokens %v, want %v", resp.PromptTokens, want)
	}
	if resp.WeightVersion != "tiny" || resp.Model != "tiny" || len(resp.Choices) != 3 {
		t.Fatalf("response %+v", resp)
	}
	endTurn, _ := tok.TokenID(tokenizer.EndOfTurn)
	eot, _ := tok.TokenID(tokenizer.EndOfText)
	completion := 0
	for i, c := range resp.Choices {
		completion += len(c.Tokens)
		if len(c.Tokens) == 0 || len(c.Tokens) > 12 {
			t.Fatalf("choice %d: %d tokens", i, len(c.Tokens))
		}
		body := c.Tokens
		if last := body[len(body)-1]; last == endTurn || last == eot {
			if c.FinishReason != "stop" {
				t.Errorf("choice %d ends with EOS but reason %q", i, c.FinishReason)
			}
			body = body[:len(body)-1]
		} else if c.FinishReason != "length" || len(c.Tokens) != 12 {
			t.Errorf("choice %d: reason %q after %d tokens", i, c.FinishReason, len(c.Tokens))
		}
		if got := tok.Decode(body); got != c.Text {
			t.Errorf("choice %d: ids decode to %q, text is %q", i, got, c.Text)
		}
		// The reference engine reports no log-probabilities; the KV-cached
		// one does, one per token.
		if len(c.Logprobs) > 0 && len(c.Logprobs) != len(c.Tokens) {
			t.Errorf("choice %d: %d log-probs for %d tokens", i, len(c.Logprobs), len(c.Tokens))
		}
	}
	again, err := llm.Chat(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, resp) {
		t.Error("the same seed gave other completions")
	}
	u := m.Snapshot()["policy"]
	if u.Calls != 2 || u.PromptTokens != int64(2*len(want)) || u.CompletionTokens != int64(2*completion) {
		t.Errorf("usage %+v", u)
	}
}

func TestLocalStopString(t *testing.T) {
	dir, tok := tinyModelDir(t)
	l, err := OpenLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	req := ChatRequest{Messages: []Message{{Role: "user", Content: "hi"}}, Temperature: 0, MaxTokens: 16}
	free, err := l.Chat(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	c := free.Choices[0]
	if len(c.Tokens) < 4 {
		t.Skipf("greedy completion too short for a stop test: %v", c.Tokens)
	}
	// Stop at the text of the third and fourth tokens.
	stop := tok.Decode(c.Tokens[2:4])
	if stop == "" || strings.Contains(tok.Decode(c.Tokens[:2]), stop) {
		t.Skipf("stop string %q unusable", stop)
	}
	req.Stop = []string{stop}
	got, err := l.Chat(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	g := got.Choices[0]
	if g.FinishReason != "stop" || strings.Contains(g.Text, stop) || !strings.HasPrefix(c.Text, g.Text) || len(g.Tokens) > 4 {
		t.Errorf("with stop %q: %+v (free run %q)", stop, g, c.Text)
	}
}
