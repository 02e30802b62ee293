package rollout

import (
	"context"
	"reflect"
	"slices"
	"testing"
)

func TestOllamaRequestAndResponse(t *testing.T) {
	f := newFake(t, true)
	var s sleeps
	opts := testOptions(&s, f.srv.URL)
	opts.APIKey = "k"
	llm, err := Open("ollama:qwen3:8b", opts)
	if err != nil {
		t.Fatal(err)
	}
	req := chatReq("hi")
	req.TopK, req.Stop, req.JSON = 20, []string{"END"}, true
	resp, err := llm.Chat(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	bodies := f.requests()
	if len(bodies) != 3 {
		t.Fatalf("N=3 sent %d requests, want 3 (Ollama has no n)", len(bodies))
	}
	var seeds []int64
	for _, b := range bodies {
		if b["model"] != "qwen3:8b" || b["stream"] != false || b["logprobs"] != true || b["top_logprobs"] != 1.0 || b["format"] != "json" {
			t.Errorf("request %v", b)
		}
		o := b["options"].(map[string]any)
		want := map[string]any{"temperature": 0.7, "top_p": 0.9, "top_k": 20.0, "num_predict": 32.0, "stop": []any{"END"}}
		for k, v := range want {
			if !reflect.DeepEqual(o[k], v) {
				t.Errorf("options.%s = %#v, want %#v", k, o[k], v)
			}
		}
		seeds = append(seeds, num(o["seed"]))
	}
	slices.Sort(seeds)
	if !slices.Equal(seeds, []int64{42, 43, 44}) {
		t.Errorf("seeds %v, want 42, 43, 44 (seed+i)", seeds)
	}
	for _, a := range f.auth {
		if a != "Bearer k" {
			t.Errorf("Authorization %q", a)
		}
	}
	for i, c := range resp.Choices {
		text := fakeText("hi", 42+int64(i), 0)
		if c.Text != text || c.FinishReason != "stop" || len(c.Logprobs) != len(text) || c.Logprobs[0] != -0.25 || len(c.TopLogprobs) != len(text) || c.Tokens != nil {
			t.Errorf("choice %d: %+v", i, c)
		}
	}
	if resp.Usage.PromptTokens != 3*2 || resp.Model != "qwen3:8b" {
		t.Errorf("response %+v", resp)
	}
	if u := opts.Meter.Snapshot()["policy"]; u.Calls != 1 || u.Requests != 3 {
		t.Errorf("meter %+v", u)
	}
}

func TestOllamaGreedyAndUnseeded(t *testing.T) {
	f := newFake(t, true)
	var s sleeps
	llm, err := Open("ollama:m", testOptions(&s, f.srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := llm.Chat(context.Background(), ChatRequest{Messages: []Message{{Role: "user", Content: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].FinishReason != "stop" {
		t.Errorf("finish reason %q", resp.Choices[0].FinishReason)
	}
	o := f.requests()[0]["options"].(map[string]any)
	if o["temperature"] != 0.0 {
		t.Errorf("greedy temperature %v, want 0", o["temperature"])
	}
	for _, k := range []string{"seed", "num_predict", "top_k", "top_p", "stop"} {
		if _, ok := o[k]; ok {
			t.Errorf("unset option %s sent: %v", k, o[k])
		}
	}
	resp, err = llm.Chat(context.Background(), ChatRequest{Messages: []Message{{Role: "user", Content: "x"}}, MaxTokens: 3})
	if err != nil || resp.Choices[0].FinishReason != "length" {
		t.Errorf("done_reason length: %v, %+v", err, resp)
	}
}

func TestOllamaFaults(t *testing.T) { runFaults(t, true, "ollama:m") }

func TestOllamaHost(t *testing.T) {
	cases := map[string]string{
		"127.0.0.1:11500":        "http://127.0.0.1:11500",
		"example.com":            "http://example.com:11434",
		"http://example.com":     "http://example.com:80",
		"https://example.com/x/": "https://example.com:443/x",
		"0.0.0.0":                "http://127.0.0.1:11434",
		"[::1]:9":                "http://[::1]:9",
	}
	for in, want := range cases {
		u, err := ollamaHost(in)
		if err != nil || u.String() != want {
			t.Errorf("ollamaHost(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
	if _, err := ollamaHost("ftp://x"); err == nil {
		t.Error("ftp:// accepted")
	}
}
