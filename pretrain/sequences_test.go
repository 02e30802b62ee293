package pretrain

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rft-dev/rft/policy/tokenizer"
)

// charEncoding maps each byte to its value: easy to read in assertions.
func charEncoding(t *testing.T) Encoding {
	return Encoding{
		Encode: func(s string) []int {
			ids := make([]int, len(s))
			for i := range s {
				ids[i] = int(s[i])
			}
			return ids
		},
		Render: func(ms []Message, gen bool) string {
			tm := make([]tokenizer.Message, len(ms))
			for i, m := range ms {
				tm[i] = tokenizer.Message{Role: m.Role, Content: m.Content}
			}
			return tokenizer.Plain.Render(tm, gen)
		},
		EOS: 0,
	}
}

func learned(s Sequence) string {
	var b strings.Builder
	for _, t := range s.Targets {
		if t > 0 {
			b.WriteByte(byte(t))
		}
	}
	return b.String()
}

func TestPromptCompletionLearnsOnlyCompletion(t *testing.T) {
	seqs, err := BuildSequences([]Example{{Prompt: "Q: 2+2?", Completion: " A: 4"}}, charEncoding(t), 64)
	if err != nil {
		t.Fatal(err)
	}
	if len(seqs) != 1 || learned(seqs[0]) != " A: 4" {
		t.Fatalf("learned %q", learned(seqs[0]))
	}
	last := seqs[0].Targets[len(seqs[0].Targets)-2]
	if last != 0 {
		t.Fatalf("the EOS after the completion must be learned, target %d", last)
	}
}

func TestChatLearnsOnlyAssistantTurns(t *testing.T) {
	ex := Example{Messages: []Message{
		{Role: "system", Content: "be brief"}, {Role: "user", Content: "hi"},
		{Role: "assistant", Content: "hello"}, {Role: "user", Content: "bye"}, {Role: "assistant", Content: "ciao"},
	}}
	seqs, err := BuildSequences([]Example{ex}, charEncoding(t), 512)
	if err != nil {
		t.Fatal(err)
	}
	got := learned(seqs[0])
	want := "hello" + tokenizer.EndOfTurn + "\n" + "ciao" + tokenizer.EndOfTurn + "\n"
	if got != want {
		t.Fatalf("learned %q, want %q", got, want)
	}
	// The pieces concatenate to the whole rendered conversation.
	var whole strings.Builder
	for _, id := range seqs[0].Tokens {
		whole.WriteByte(byte(id))
	}
	if whole.String() != charEncoding(t).Render(ex.Messages, false) {
		t.Fatalf("tokens %q are not the rendered conversation", whole.String())
	}
}

func TestTextStreamWindows(t *testing.T) {
	seqs, err := BuildSequences([]Example{{Text: "abcdefghij"}, {Text: "klm"}}, charEncoding(t), 5)
	if err != nil {
		t.Fatal(err)
	}
	// Stream "abcdefghij\0klm\0" (15 tokens): every token after the first is
	// a target exactly once across windows overlapping by one.
	var all string
	for _, s := range seqs {
		if len(s.Tokens) > 5 {
			t.Fatalf("window of %d tokens", len(s.Tokens))
		}
		for _, tg := range s.Targets {
			if tg >= 0 {
				all += string(rune(tg))
			}
		}
	}
	if all != "bcdefghij\x00klm\x00" {
		t.Fatalf("targets %q", all)
	}
}

func TestReadExamplesFormats(t *testing.T) {
	dir := t.TempDir()
	j := filepath.Join(dir, "d.jsonl")
	os.WriteFile(j, []byte(`{"text":"a"}`+"\n\n"+`{"prompt":"p","completion":"c"}`+"\n"+`{"messages":[{"role":"user","content":"u"},{"role":"assistant","content":"x"}]}`+"\n"), 0o644)
	exs, err := ReadExamples(j)
	if err != nil || len(exs) != 3 || exs[1].Completion != "c" || len(exs[2].Messages) != 2 || exs[2].Source != j+":4" {
		t.Fatalf("%+v %v", exs, err)
	}
	txt := filepath.Join(dir, "d.txt")
	os.WriteFile(txt, []byte("doc one\nline two\n\n\ndoc two\n"), 0o644)
	exs, err = ReadExamples(txt)
	if err != nil || len(exs) != 2 || exs[0].Text != "doc one\nline two" || exs[1].Source != txt+":5" {
		t.Fatalf("%+v %v", exs, err)
	}
	for content, want := range map[string]string{
		`{"prompt":"p"}`: `"prompt" and "completion" go together`,
		`{"messages":[{"role":"user","content":"u"}]}`: "no assistant turn",
		`{"messages":[{"role":"bot","content":"u"}]}`:  `[0].role: "bot"`,
		`{"title":"x"}`:             `want a "text"`,
		`{"text":"a"} {"text":"b"}`: "more than one JSON value",
	} {
		os.WriteFile(j, []byte(content+"\n"), 0o644)
		if _, err := ReadExamples(j); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "d.jsonl:1") {
			t.Errorf("%s: error %v, want %q at d.jsonl:1", content, err, want)
		}
	}
}

func TestPromptLossLearnsEverything(t *testing.T) {
	enc := charEncoding(t)
	enc.PromptLoss = true
	seqs, err := BuildSequences([]Example{{Prompt: "Q?", Completion: " A"}}, enc, 64)
	if err != nil {
		t.Fatal(err)
	}
	// Every token after the first is a target: "?", " ", "A" and the EOS.
	got := 0
	for _, tg := range seqs[0].Targets {
		if tg >= 0 {
			got++
		}
	}
	if got != 4 {
		t.Fatalf("%d targets, want 4 (prompt tokens learned too): %v", got, seqs[0].Targets)
	}
}
