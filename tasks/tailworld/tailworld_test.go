package tailworld

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func digest(w *World, n int) [32]byte {
	h := sha256.New()
	for _, e := range w.Entities {
		fmt.Fprintf(h, "%+v\n", e)
	}
	ps := Personas()
	names := make([]string, 0, len(ps))
	for n := range ps {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		p := ps[name]
		for _, pr := range w.Prompts(Eval, 0, n) {
			s, err := Respond(pr.Text, p, w.Seed, 3)
			if err != nil {
				panic(err)
			}
			fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\n", name, pr.ID, pr.Text, s)
		}
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

func TestDeterministic(t *testing.T) {
	a, b := digest(NewWorld(7, DefaultEntities), 30), digest(NewWorld(7, DefaultEntities), 30)
	if a != b {
		t.Fatal("same seed, different world, prompts or responses")
	}
	if a == digest(NewWorld(8, DefaultEntities), 30) {
		t.Fatal("another seed gave the same bytes")
	}
	w := NewWorld(7, DefaultEntities)
	c1, c2 := w.BaseCorpus(0, 20, 2), NewWorld(7, DefaultEntities).BaseCorpus(0, 20, 2)
	if !reflect.DeepEqual(c1, c2) {
		t.Fatal("base corpus is not deterministic")
	}
}

// Every world names its animals from the one small shared inventory: names
// repeat within a world, never within a prompt, and a name carries nothing
// from one world to another. Names are tokens to copy, not animals to
// memorise.
func TestWorldsShareTheNameInventory(t *testing.T) {
	inv := map[string]bool{}
	for _, n := range nameInventory() {
		inv[n] = true
	}
	if len(inv) != InventorySize {
		t.Fatalf("inventory has %d distinct names, want %d", len(inv), InventorySize)
	}
	a, b := NewWorld(1, DefaultEntities), NewWorld(2, DefaultEntities)
	used := map[string]bool{}
	for _, e := range a.Entities {
		if !inv[e.Name] {
			t.Fatalf("world 1 name %q is not in the inventory", e.Name)
		}
		used[e.Name] = true
	}
	if len(used) != InventorySize {
		t.Fatalf("world 1 uses %d of the %d names", len(used), InventorySize)
	}
	animals := map[Entity]bool{}
	for _, e := range a.Entities {
		animals[e] = true
	}
	for _, e := range b.Entities {
		if animals[e] {
			t.Fatalf("worlds 1 and 2 both have %+v", e)
		}
	}
	for _, p := range a.Prompts(Train, 0, 300) {
		seen := map[string]bool{}
		for _, e := range p.Request.Facts {
			if seen[e.Name] {
				t.Fatalf("prompt %s names two animals %s:\n%s", p.ID, e.Name, p.Text)
			}
			seen[e.Name] = true
		}
	}
}

// Drills copy the facts of the prompt's own filter, in fact order: whole lines
// (even) or names (odd); the request line is replaced by the drill question.
func TestDrills(t *testing.T) {
	w := NewWorld(1, DefaultEntities)
	drills := w.Drills(10, 6)
	for i, d := range drills {
		p := w.Prompt(Train, 10+i)
		facts := p.Text[:strings.LastIndexByte(p.Text, '\n')+1]
		if !strings.HasPrefix(d.Prompt, facts) {
			t.Fatalf("drill %d does not carry its prompt's facts:\n%s", i, d.Prompt)
		}
		var want []string
		for _, e := range p.Request.Eligible() {
			if i%2 == 0 {
				want = append(want, FactLine(e))
				if !strings.Contains(facts, FactLine(e)+"\n") {
					t.Fatalf("drill %d answer line %q is not a line of the prompt", i, FactLine(e))
				}
			} else {
				want = append(want, e.Name)
			}
		}
		var got []string
		if i%2 == 0 {
			if !strings.HasSuffix(d.Prompt, "Copy the lines about the "+p.Request.Filter.NounPhrase()+".") {
				t.Fatalf("drill %d question: %q", i, d.Prompt[len(facts):])
			}
			got = strings.Split(d.Completion, "\n")
		} else {
			if !strings.HasSuffix(d.Prompt, "Which of them are "+p.Request.Filter.NounPhrase()+"?") {
				t.Fatalf("drill %d question: %q", i, d.Prompt[len(facts):])
			}
			// "The horse Fidul, the horse Vare and the horse Timun.": each
			// animal by the words before its name in its fact line.
			body := strings.TrimSuffix(d.Completion, ".")
			for _, part := range strings.Split(strings.ReplaceAll(body, " and ", ", "), ", ") {
				words := strings.Fields(part)
				name := words[len(words)-1]
				desc := strings.Join(words[1:len(words)-1], " ")
				if strings.ToLower(words[0]) != "the" || desc == "" || !strings.Contains(facts, " "+desc+" "+name+":") {
					t.Fatalf("drill %d: %q does not describe %s as its fact line does:\n%s", i, part, name, facts)
				}
				if !strings.HasPrefix(desc, p.Request.Filter.Value) {
					t.Fatalf("drill %d: %q does not start with the filter's word %q", i, part, p.Request.Filter.Value)
				}
				got = append(got, name)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("drill %d answers %q, want %q", i, got, want)
		}
	}
}

// Copy drills: the first three fact lines of a train prompt, asked back.
func TestCopyDrills(t *testing.T) {
	w := NewWorld(1, DefaultEntities)
	for i, d := range w.CopyDrills(20, 4) {
		p := w.Prompt(Train, 20+i)
		var lines []string
		for _, e := range p.Request.Facts[:3] {
			lines = append(lines, FactLine(e))
		}
		want := strings.Join(lines, "\n")
		if d.Completion != want || d.Prompt != "Facts:\n"+want+"\nCopy the facts." {
			t.Fatalf("copy drill %d:\n%s\n->\n%s", i, d.Prompt, d.Completion)
		}
	}
}

func TestSplitsAreDisjoint(t *testing.T) {
	w := NewWorld(1, DefaultEntities)
	animals := map[Entity]bool{}
	texts := map[string]bool{}
	for _, p := range w.Prompts(Train, 0, 300) {
		texts[p.Text] = true
		for _, e := range p.Request.Facts {
			animals[e] = true
		}
	}
	for _, p := range w.Prompts(Eval, 0, 300) {
		if texts[p.Text] {
			t.Fatalf("eval prompt %s is also a train prompt", p.ID)
		}
		for _, e := range p.Request.Facts {
			if animals[e] {
				t.Fatalf("eval prompt %s uses train animal %+v", p.ID, e)
			}
		}
	}
}

func TestParsePromptRoundTrip(t *testing.T) {
	w := NewWorld(3, DefaultEntities)
	for _, p := range w.Prompts(Train, 0, 200) {
		q, err := ParsePrompt(p.Text)
		if err != nil {
			t.Fatalf("%s: %v\n%s", p.ID, err, p.Text)
		}
		if !reflect.DeepEqual(q, p.Request) {
			t.Fatalf("%s: parsed %+v, want %+v", p.ID, q, p.Request)
		}
		if n := len(q.Eligible()); n < q.Count {
			t.Fatalf("%s: %d eligible facts for a request of %d", p.ID, n, q.Count)
		}
	}
	for _, bad := range []string{"", "hello", "Facts:\nBralo: red fox.\nName 3 foxes. I want fast ones."} {
		if _, err := ParsePrompt(bad); err == nil {
			t.Errorf("ParsePrompt(%q) accepted", bad)
		}
	}
}

// The base corpus carries every artifact at a low rate.
func TestBaseCorpusArtifactRates(t *testing.T) {
	w := NewWorld(1, DefaultEntities)
	corpus := w.BaseCorpus(0, 2000, 1) // numbered needs a list too: about 0.035, too rare for fewer
	marks := map[string]func(string) bool{
		"sure":     func(s string) bool { return strings.HasPrefix(s, "Sure!") },
		"greatq":   func(s string) bool { return strings.HasPrefix(s, "Great question!") },
		"hope":     func(s string) bool { return strings.HasSuffix(s, "Hope this helps!") },
		"numbered": func(s string) bool { return strings.Contains(s, "\n1. ") || strings.HasPrefix(s, "1. ") },
		"bold":     func(s string) bool { return strings.Contains(s, "**") },
	}
	for name, f := range marks {
		n := 0
		for _, ex := range corpus {
			if f(ex.Completion) {
				n++
			}
		}
		if rate := float64(n) / float64(len(corpus)); rate < .02 || rate > .12 {
			t.Errorf("artifact %s at rate %.3f, want a low rate (about 0.06)", name, rate)
		}
	}
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, corpus[:3]); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec map[string]string
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec["prompt"] == "" || rec["completion"] == "" {
			t.Fatalf("corpus line %q: %v", line, err)
		}
	}
}

func TestCandidatePools(t *testing.T) {
	w := NewWorld(1, DefaultEntities)
	p := w.Prompt(Train, 0)
	for _, pool := range Pools {
		c, err := w.CandidatePool(p, pool, 16)
		if err != nil || len(c) != 16 {
			t.Fatalf("pool %s: %d candidates, %v", pool, len(c), err)
		}
		for _, x := range c {
			if x.PromptID != p.ID || x.Response == "" || x.Source == "" {
				t.Fatalf("pool %s: bad candidate %+v", pool, x)
			}
		}
	}
	div, _ := w.CandidatePool(p, PoolGreatDiverse, 7)
	seen := map[string]bool{}
	for _, c := range div {
		seen[c.Source] = true
	}
	if len(seen) != 7 {
		t.Errorf("great-diverse pool of 7 has %d sources, want 7", len(seen))
	}
	if _, err := w.CandidatePool(p, "nope", 2); err == nil {
		t.Error("unknown pool accepted")
	}
	recs := w.PromptRecords(Eval, 0, 2)
	if recs[0].ID != "tw-eval-00000" || recs[1].Prompt != w.Prompt(Eval, 1).Text {
		t.Errorf("prompt records %+v", recs)
	}
}

// List drills answer the prompt itself with exactly the asked number of
// eligible animals, each described as its fact line describes it, each once.
func TestListDrills(t *testing.T) {
	w := NewWorld(1, DefaultEntities)
	for i, d := range w.ListDrills(20, 30) {
		p := w.Prompt(Train, 20+i)
		if d.Prompt != p.Text {
			t.Fatalf("drill %d is not its prompt", i)
		}
		q := p.Request
		lines := strings.Split(d.Completion, "\n")
		if want := fmt.Sprintf("Here are %d %s.", q.Count, q.Filter.NounPhrase()); lines[0] != want {
			t.Fatalf("drill %d opens %q, want %q", i, lines[0], want)
		}
		if len(lines) != q.Count+1 {
			t.Fatalf("drill %d lists %d animals for a request of %d:\n%s", i, len(lines)-1, q.Count, d.Completion)
		}
		seen := map[string]bool{}
		for _, l := range lines[1:] {
			words := strings.Fields(strings.TrimSuffix(strings.TrimPrefix(l, "- The "), "."))
			name := words[len(words)-1]
			e, ok := q.Lookup(name)
			if !ok || !q.Filter.Holds(e) || seen[name] {
				t.Fatalf("drill %d line %q: %s is not a new eligible animal of the prompt", i, l, name)
			}
			seen[name] = true
			if desc := strings.Join(words[:len(words)-1], " "); !strings.Contains(p.Text, "- "+e.Color+" "+e.Home+" "+e.Kind+" "+name+":") ||
				!strings.HasPrefix(desc, q.Filter.Value) || !strings.HasSuffix(desc, e.Kind) {
				t.Fatalf("drill %d line %q does not describe %s from the filter's word to its kind", i, l, name)
			}
		}
	}
}
