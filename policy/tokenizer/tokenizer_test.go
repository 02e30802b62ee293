package tokenizer

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The fixtures must exercise what they claim to.
func TestFixturesExerciseFeatures(t *testing.T) {
	ll := loadFixture(t, "llama3")
	want := ll.Encode(" tokenization")
	if len(want) != 1 {
		t.Fatalf("llama3: %q is %v, want one vocab token", " tokenization", want)
	}
	ll.ignoreMerges = false
	ll.cache = wordCache{}
	if got := ll.Encode(" tokenization"); len(got) < 2 {
		t.Errorf("llama3: without ignore_merges %q is still %v: the fixture does not exercise ignore_merges", " tokenization", got)
	}
	qw := loadFixture(t, "qwen2")
	if !slices.Equal(qw.Encode("e\u0301"), qw.Encode("é")) {
		t.Error("qwen2: NFC normalisation not applied")
	}
	if len(ll.AddSpecialTokens(nil)) != 1 {
		t.Error("llama3: no BOS in the post-processor template")
	}
}

func TestPreTokenizePatterns(t *testing.T) {
	split := func(f splitFunc, s string) []string {
		var out []string
		f(s, func(p string) { out = append(out, p) })
		return out
	}
	gpt2, _ := splitterFor(PatternGPT2)
	llama, _ := splitterFor(PatternLlama3)
	qwen, _ := splitterFor(PatternQwen2)
	tests := []struct {
		f    splitFunc
		in   string
		want []string
	}{
		{gpt2, "Hello there       dear", []string{"Hello", " there", "      ", " dear"}},
		{gpt2, "it's 12345 x  ", []string{"it", "'s", " 12345", " x", "  "}},
		{gpt2, "I'M", []string{"I", "'", "M"}},
		{llama, "I'M 12345", []string{"I", "'M", " ", "123", "45"}},
		{qwen, "12345", []string{"1", "2", "3", "4", "5"}},
		{llama, "a\n\n  b", []string{"a", "\n\n", " ", " b"}},
		{llama, "x!!\n\ny", []string{"x", "!!\n\n", "y"}},
		{llama, "\tfoo 'bar", []string{"\tfoo", " '", "bar"}},
	}
	for _, tt := range tests {
		if got := split(tt.f, tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("%q: got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestGoRegexpFallback(t *testing.T) {
	f, err := splitterFor(`\p{L}+|\s+|[^\s\p{L}]+`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	f("ab\u3000cd!", func(p string) { got = append(got, p) })
	if want := []string{"ab", "\u3000", "cd", "!"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q (\\s must be Unicode White_Space)", got, want)
	}
	if _, err := splitterFor(`\s+(?!\S)|x`); err == nil || !strings.Contains(err.Error(), "look-around") {
		t.Errorf("look-ahead pattern: err = %v", err)
	}
}

func writeJSON(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const minimalModel = `"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}`
const byteLevelParts = `"pre_tokenizer": {"type": "ByteLevel"}, "decoder": {"type": "ByteLevel"}`

func TestLoadErrors(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"syntax", "{\n  \"model\": {\n    \"vocab\": {\"a\": 0,,}\n  }\n}", "line 3, column 22: invalid JSON"},
		{"type", "{\n \"added_tokens\": 5}", "line 2"},
		{"metaspace", `{"pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Metaspace"}]}, "decoder": {"type": "ByteLevel"}, ` + minimalModel + `}`,
			`pre_tokenizer.pretokenizers[0].type: "Metaspace" is not supported`},
		{"merge oov", `{` + byteLevelParts + `, "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b", "a c"]}}`,
			`model.merges[1]: token "c" is not in model.vocab`},
		{"merge result oov", `{` + byteLevelParts + `, "model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": [["a", "b"]]}}`,
			`model.merges[0]: merged token "ab" is not in model.vocab`},
		{"bad merge", `{` + byteLevelParts + `, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b c"]}}`, `model.merges[0]`},
		{"dup id", `{` + byteLevelParts + `, "model": {"type": "BPE", "vocab": {"a": 0, "b": 0}, "merges": []}}`,
			`model.vocab: duplicate id 0 (tokens "a" and "b")`},
		{"dup added", `{"added_tokens": [{"id": 1, "content": "<x>"}], ` + byteLevelParts + `, ` + minimalModel + `}`,
			`added_tokens[0]: duplicate id 1 ("<x>" here, "b" in model.vocab)`},
		{"wordpiece", `{` + byteLevelParts + `, "model": {"type": "WordPiece", "vocab": {}}}`, `model.type: "WordPiece" is not supported`},
		{"lookahead", `{"pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\\s+(?!\\S)"}, "behavior": "Isolated"}, {"type": "ByteLevel", "use_regex": false}]}, "decoder": {"type": "ByteLevel"}, ` + minimalModel + `}`,
			`pre_tokenizer.pretokenizers[0].pattern.Regex: regex`},
		{"no bytelevel", `{"pre_tokenizer": {"type": "Split", "pattern": {"String": " "}, "behavior": "Isolated"}, "decoder": {"type": "ByteLevel"}, ` + minimalModel + `}`,
			`last pre-tokenizer must be ByteLevel`},
		{"decoder", `{"pre_tokenizer": {"type": "ByteLevel"}, "decoder": {"type": "WordPiece"}, ` + minimalModel + `}`, `decoder.type: "WordPiece" is not supported`},
		{"lowercase", `{"normalizer": {"type": "Lowercase"}, ` + byteLevelParts + `, ` + minimalModel + `}`, `normalizer.type: "Lowercase" is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeJSON(t, tt.body)
			_, err := Load(path)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q, want it to name %s and contain %q", err, path, tt.want)
			}
		})
	}
}

func TestAddedTokenFlags(t *testing.T) {
	tk := loadFixture(t, "gpt2")
	mask, _ := tk.TokenID("<mask>")
	cut, _ := tk.TokenID("[[cut]]")
	foobar, _ := tk.TokenID("foobar")
	// lstrip swallows the spaces before <mask>; rstrip those after [[cut]].
	if ids := tk.Encode("a   <mask>"); ids[len(ids)-1] != mask || tk.Decode(ids) != "a<mask>" {
		t.Errorf("lstrip: %v decodes to %q", ids, tk.Decode(ids))
	}
	if ids := tk.Encode("[[cut]]   b"); ids[0] != cut || tk.Decode(ids) != "[[cut]]b" {
		t.Errorf("rstrip: %v decodes to %q", ids, tk.Decode(ids))
	}
	if slices.Contains(tk.Encode("xfoobar"), foobar) || !slices.Contains(tk.Encode("a foobar."), foobar) {
		t.Error("single_word not honoured")
	}
	if slices.Contains(tk.EncodeOrdinary("x <mask> y"), mask) {
		t.Error("EncodeOrdinary matched a special token")
	}
}

func TestTrain(t *testing.T) {
	if _, err := Train(strings.NewReader(""), 300, DefaultSpecials); err == nil || !strings.Contains(err.Error(), "empty corpus") {
		t.Errorf("empty corpus: err = %v", err)
	}
	if _, err := Train(strings.NewReader("<|endoftext|>"), 300, DefaultSpecials); err == nil {
		t.Error("corpus of specials only: no error")
	}
	if _, err := Train(strings.NewReader("abc"), 100, nil); err == nil {
		t.Error("vocab below 256: no error")
	}
	// Ties: "cd", "da" and "ab" all occur twice; "ab" merges first (smallest bytes).
	tk, err := Train(strings.NewReader("cdab cdab"), 257, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := tk.mergeTab; len(m) != 1 || m[0] != [2]string{"a", "b"} {
		t.Errorf("merges %q, want [[a b]]", m)
	}
	corpus := strings.Repeat("the cat sat on the mat; the cat's hat. 123 + 456 = 579\n", 20)
	a, _ := Train(strings.NewReader(corpus), 320, DefaultSpecials)
	b, _ := Train(strings.NewReader(corpus), 320, DefaultSpecials)
	ja, _ := a.MarshalJSON()
	jb, _ := b.MarshalJSON()
	if string(ja) != string(jb) {
		t.Error("training is not deterministic")
	}
	if a.VocabSize() > 320 {
		t.Errorf("vocab %d > 320", a.VocabSize())
	}
	for _, s := range DefaultSpecials {
		if id, ok := a.TokenID(s); !ok || !slices.Equal(a.Encode("x"+s), []int{a.Encode("x")[0], id}) {
			t.Errorf("special %q not registered", s)
		}
	}
}

func TestChatTemplates(t *testing.T) {
	msgs := []Message{{"user", "Hi!"}, {"assistant", " Hello. "}}
	if got, want := Plain.Render(msgs, true), "<|user|>\nHi!<|end|>\n<|assistant|>\n Hello. <|end|>\n<|assistant|>\n"; got != want {
		t.Errorf("plain: %q, want %q", got, want)
	}
	dir := t.TempDir()
	qwen := `{"chat_template": "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"}`
	os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(qwen), 0o644)
	c, err := LoadChatTemplate(dir)
	if err != nil || c.Family != FamilyChatML || c.Warning != "" {
		t.Fatalf("qwen: %+v, %v", c, err)
	}
	if got, want := c.Render(msgs[:1], true), "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n"; got != want {
		t.Errorf("chatml: %q, want %q", got, want)
	}
	llama := `{"bos_token": "<|begin_of_text|>", "chat_template": "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"}`
	os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(llama), 0o644)
	c, err = LoadChatTemplate(dir)
	if err != nil || c.Family != FamilyLlama3 {
		t.Fatalf("llama3: %+v, %v", c, err)
	}
	if got, want := c.Render(msgs, false), "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"; got != want {
		t.Errorf("llama3: %q, want %q", got, want)
	}
	os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{"chat_template": "{{ messages }}"}`), 0o644)
	if c, err = LoadChatTemplate(dir); err != nil || c.Family != FamilyPlain || c.Warning == "" {
		t.Errorf("unknown template: %+v, %v; want plain with a warning", c, err)
	}
	os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte("{\n\"chat_template\": }"), 0o644)
	if _, err = LoadChatTemplate(dir); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("malformed tokenizer_config.json: %v", err)
	}
	if c, err = LoadChatTemplate(t.TempDir()); err != nil || c.Family != FamilyPlain || c.Warning != "" {
		t.Errorf("no template: %+v, %v", c, err)
	}
}

// FuzzRoundTrip: decode(encode(s)) == s for every string on the tokenizers
// without a normalizer or stripping added tokens, == NFC(s) on Qwen2's; and
// EncodeOrdinary round-trips arbitrary bytes.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{"", "hello world", "  \n\t x", "👨‍👩‍👧‍👦", "e\u0301", "\xff\xfe", "<|endoftext|><|end|>", "it's 12345", "中文", "<mask>"} {
		f.Add(s)
	}
	toks := map[string]*Tokenizer{}
	for _, n := range fixtureNames {
		toks[n] = loadFixture(f, n)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for name, tk := range toks {
			if name != "qwen2" {
				if got := tk.Decode(tk.EncodeOrdinary(s)); got != s {
					t.Errorf("%s: EncodeOrdinary(%q) decodes to %q", name, s, got)
				}
			} else if utf8.ValidString(s) {
				if got, want := tk.Decode(tk.EncodeOrdinary(s)), norm.NFC.String(s); got != want {
					t.Errorf("%s: EncodeOrdinary(%q) decodes to %q, want %q", name, s, got, want)
				}
			}
		}
		for _, name := range []string{"rft", "llama3"} {
			if got := toks[name].Decode(toks[name].Encode(s)); got != s {
				t.Errorf("%s: Encode(%q) decodes to %q", name, s, got)
			}
		}
	})
}

// BenchmarkEncode encodes the rft fixture's corpus (English with accents,
// CJK, emoji, code and numbers) with the Qwen2-layout and rft tokenizers.
func BenchmarkEncode(b *testing.B) {
	corpus, err := os.ReadFile(filepath.Join(fixtures, "rft", "corpus.txt"))
	if err != nil {
		b.Fatal(err)
	}
	text := string(corpus)
	for _, name := range []string{"qwen2", "llama3", "rft"} {
		b.Run(name, func(b *testing.B) {
			tk := loadFixture(b, name)
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				tk.Encode(text)
			}
		})
	}
}

// StopIDs: the model's EOS ids first, then end of turn and end of text where
// the vocabulary has them, each once; a ChatML template's <|im_end|> is not
// in this vocabulary, so it adds nothing.
func TestStopIDs(t *testing.T) {
	tk, err := Train(strings.NewReader("a cat sat on a mat. a dog sat on a log."), 300, DefaultSpecials)
	if err != nil {
		t.Fatal(err)
	}
	end, ok1 := tk.TokenID(EndOfTurn)
	eot, ok2 := tk.TokenID(EndOfText)
	if !ok1 || !ok2 {
		t.Fatalf("specials missing: %v %v", ok1, ok2)
	}
	if got, want := StopIDs([]int{7}, tk, Plain), []int{7, end, eot}; !slices.Equal(got, want) {
		t.Fatalf("StopIDs = %v, want %v", got, want)
	}
	if got, want := StopIDs([]int{eot}, tk, Plain), []int{eot, end}; !slices.Equal(got, want) {
		t.Fatalf("StopIDs with EOS already listed = %v, want %v", got, want)
	}
	model := []int{3}
	if got, want := StopIDs(model, tk, ChatTemplate{Family: FamilyChatML}), []int{3, eot}; !slices.Equal(got, want) || len(model) != 1 {
		t.Fatalf("ChatML: %v, want %v (model EOS %v untouched)", got, want, model)
	}
}
