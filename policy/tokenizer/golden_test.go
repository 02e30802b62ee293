package tokenizer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/tokenizer/rft/tokenizer.json from its corpus")

const fixtures = "../../testdata/tokenizer"

// rftFixtureVocab is the --vocab-size compat/make_tokenizer_fixtures.py passes.
const rftFixtureVocab = 1000

type goldenCase struct {
	Text       string `json:"text"`
	IDs        []int  `json:"ids"`
	IDsSpecial []int  `json:"ids_special"`
	Decoded    string `json:"decoded"`
}

func loadCases(t testing.TB, name string) []goldenCase {
	t.Helper()
	f, err := os.Open(filepath.Join(fixtures, name, "cases.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []goldenCase
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var c goldenCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("%s cases.jsonl line %d: %v", name, len(cases)+1, err)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

func loadFixture(t testing.TB, name string) *Tokenizer {
	t.Helper()
	tk, err := Load(filepath.Join(fixtures, name, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

var fixtureNames = []string{"gpt2", "qwen2", "llama3", "rft"}

// TestGoldenTokenizers holds every case against the ids and decoded text of
// Hugging Face tokenizers (compat/make_tokenizer_fixtures.py).
func TestGoldenTokenizers(t *testing.T) {
	for _, name := range fixtureNames {
		t.Run(name, func(t *testing.T) {
			tk := loadFixture(t, name)
			cases := loadCases(t, name)
			if len(cases) < 100 {
				t.Fatalf("only %d cases", len(cases))
			}
			for i, c := range cases {
				got := tk.Encode(c.Text)
				if !slices.Equal(got, c.IDs) && !(len(got) == 0 && len(c.IDs) == 0) {
					t.Errorf("case %d %q:\n got  %v\n want %v", i+1, c.Text, got, c.IDs)
					continue
				}
				if sp := tk.AddSpecialTokens(got); !slices.Equal(sp, c.IDsSpecial) && !(len(sp) == 0 && len(c.IDsSpecial) == 0) {
					t.Errorf("case %d %q: with special tokens got %v, want %v", i+1, c.Text, sp, c.IDsSpecial)
				}
				if d := tk.Decode(got); d != c.Decoded {
					t.Errorf("case %d %q: decoded %q, want %q", i+1, c.Text, d, c.Decoded)
				}
			}
		})
	}
}

// TestSaveLoadRoundTrip: a saved tokenizer encodes every case the same way.
func TestSaveLoadRoundTrip(t *testing.T) {
	for _, name := range fixtureNames {
		t.Run(name, func(t *testing.T) {
			tk := loadFixture(t, name)
			path := filepath.Join(t.TempDir(), "tokenizer.json")
			if err := tk.Save(path); err != nil {
				t.Fatal(err)
			}
			back, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if back.VocabSize() != tk.VocabSize() {
				t.Errorf("vocab size %d after save, want %d", back.VocabSize(), tk.VocabSize())
			}
			for _, c := range loadCases(t, name) {
				if got := back.Encode(c.Text); !slices.Equal(got, tk.Encode(c.Text)) {
					t.Errorf("%q: %v after save, %v before", c.Text, got, tk.Encode(c.Text))
				}
			}
		})
	}
}

// TestTrainedFixture retrains the rft fixture from its committed corpus:
// training is deterministic, and Train+Save is what `rft tokenizer train`
// wrote. With -update it rewrites the fixture instead.
func TestTrainedFixture(t *testing.T) {
	dir := filepath.Join(fixtures, "rft")
	corpus, err := os.ReadFile(filepath.Join(dir, "corpus.txt"))
	if err != nil {
		t.Fatal(err)
	}
	tk, err := Train(bytes.NewReader(corpus), rftFixtureVocab, DefaultSpecials)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tokenizer.json")
	if *update {
		if err := tk.Save(path); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := tk.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("training on %s/corpus.txt no longer reproduces tokenizer.json (run with -update if the change is intended)", dir)
	}
	if tk.VocabSize() != rftFixtureVocab {
		t.Errorf("vocab size %d, want %d", tk.VocabSize(), rftFixtureVocab)
	}
}
