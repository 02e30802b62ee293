package rubric

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const fixtures = "../testdata/rubric"

func TestReadYAMLFixture(t *testing.T) {
	rs, err := ReadRubrics(filepath.Join(fixtures, "rubrics.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].PromptID != "trip-lisbon" || len(rs[0].Criteria) != 6 || rs[1].PromptID != "json-user" {
		t.Fatalf("got %+v", rs)
	}
	c := rs[0].Criteria[4]
	if c.ID != "c5" || c.Check == nil || c.Check.Name != "word_count" {
		t.Fatalf("criterion 5: %+v", c)
	}
	if ok, _ := RunCheck(c.Check, strings.Repeat("word ", 351)); ok {
		t.Fatal("word_count max 350 passed 351 words (YAML int argument)")
	}
}

func TestReadYAMLErrorsNameLine(t *testing.T) {
	cases := []struct{ doc, want string }{
		{"prompt_id: a\nprompt: p\ncriteria:\n  - text: x\n    wieght: 2\n", "x.yaml:5: unknown criterion key \"wieght\""},
		{"prompt_id: a\nprompt: p\ncriteria:\n  - text: x\n    weight: 2\n  - text: ''\n    weight: 1\n", "x.yaml:6: rubric \"a\" criterion 2: empty text"},
		{"prompt_id: a\nprompt: p\ncriteria:\n  - text: x\n    weight: 2\n    check: {name: regex, args: {pattern: '('}}\n", "x.yaml:4:"},
		{"prompt_id: a\nprompt: p\ncriteria:\n  - text: x\n    weight: heavy\n", "line 5"},
		{"prompt: p\ncriteria:\n  - text: x\n    weight: 1\n", "x.yaml:1: rubric has no prompt_id"},
		{"prompt_id: a\npromt: p\n", "x.yaml:2: unknown rubric key \"promt\""},
		{"- prompt_id: a\n  criteria: [{text: x, weight: 1}]\n- prompt_id: a\n  criteria: [{text: y, weight: 1}]\n", "x.yaml:3: prompt_id \"a\" already has a rubric on line 1"},
	}
	for _, c := range cases {
		_, err := DecodeYAML(strings.NewReader(c.doc), "x.yaml")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want it to contain %q", c.doc, err, c.want)
		}
	}
}

func TestJSONLRoundTripAndErrors(t *testing.T) {
	rs, err := ReadJSONL(filepath.Join(fixtures, "rubrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "out.jsonl")
	if err := WriteJSONL(path, rs); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSONL(path)
	if err != nil || !reflect.DeepEqual(back, rs) {
		t.Fatalf("round trip: %v\n%+v\n%+v", err, back, rs)
	}
	cases := []struct{ text, want string }{
		{`{"prompt_id":"a","prompt":"p","criteria":[{"text":"x","weight":1}]}` + "\n\n" + `{"prompt_id":"b","prompt":"p","criteria":[{"text":"x","weight":"high"}]}`, "r.jsonl line 3:"},
		{`{"prompt_id":"a","prompt":"p","criteria":[{"text":"x","weight":1,"colour":2}]}`, `r.jsonl line 1: json: unknown field "colour"`},
		{`{"prompt_id":"a","prompt":"p","criteria":[{"text":"x","weight":0}]}`, "r.jsonl line 1: c1: weight 0"},
		{`{"prompt_id":"a","prompt":"p","criteria":[]}`, "r.jsonl line 1: no criteria"},
		{`{"prompt_id":"a","prompt":"p","criteria":[{"text":"x","weight":1,"check":{"name":"nope"}}]}`, `r.jsonl line 1: c1: check nope: unknown check "nope"`},
	}
	for _, c := range cases {
		_, err := DecodeJSONL(strings.NewReader(c.text), "r.jsonl")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want it to contain %q", err, c.want)
		}
	}
}

func TestImportPaperRegular(t *testing.T) {
	rs, warns, err := ImportPaper(filepath.Join(fixtures, "paper_regular.json"))
	if err != nil || len(warns) != 0 {
		t.Fatalf("err %v, warnings %q", err, warns)
	}
	if len(rs) != 2 || rs[0].PromptID != "gen-0001" || len(rs[0].Criteria) != 4 || rs[0].Criteria[3].Weight != 1 || rs[0].Criteria[3].ID != "c4" {
		t.Fatalf("got %+v", rs[0])
	}
	if !strings.HasPrefix(rs[0].Raw, "1. Identifies") {
		t.Fatalf("original_rubric not kept: %q", rs[0].Raw)
	}
}

func TestImportPaperIrregular(t *testing.T) {
	rs, warns, err := ImportPaper(filepath.Join(fixtures, "paper_irregular.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 3 {
		t.Fatalf("%d records", len(rs))
	}
	// Record 1: numeric id, criteria as a JSON string.
	if rs[0].PromptID != "17" || len(rs[0].Criteria) != 3 || rs[0].Criteria[0].Weight != 3 {
		t.Errorf("record 1: %+v", rs[0])
	}
	// Record 2: {"criterion": weight} map, in file order.
	if len(rs[1].Criteria) != 3 || !strings.HasPrefix(rs[1].Criteria[0].Text, "Explains that sunlight") || rs[1].Criteria[1].Weight != 3 {
		t.Errorf("record 2: %+v", rs[1].Criteria)
	}
	// Record 3: weights "3", "high", "n/a"; no local ids.
	if w := []float64{rs[2].Criteria[0].Weight, rs[2].Criteria[1].Weight, rs[2].Criteria[2].Weight}; !reflect.DeepEqual(w, []float64{3, 3, 1}) {
		t.Errorf("record 3 weights %v", w)
	}
	all := strings.Join(warns, "\n")
	for _, want := range []string{
		"paper_irregular.json:2: record 1 (id 17): criteria given as a JSON string",
		"record 2 (id gen-0107): criteria given as a {text: weight} map",
		`record 3 (id gen-0213): criterion 2: weight "high" is not a number, read as 3`,
		`record 3 (id gen-0213): criterion 3: weight "n/a" is not a number, 1 assumed`,
		"record 3 (id gen-0213): 3 criteria without local_id",
		"record 3 (id gen-0213): total_weight 7 but the weights sum to 7",
	} {
		if want == "record 3 (id gen-0213): total_weight 7 but the weights sum to 7" {
			if strings.Contains(all, want) {
				t.Errorf("spurious warning %q", want)
			}
			continue
		}
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
}

func TestImportPaperErrors(t *testing.T) {
	cases := []struct{ text, want string }{
		{"[\n{\"id\": \"a\", \"prompt\": \"p\", \"criteria\": [{\"criterion\": \"x\", \"weight\": 1}]},\n{\"id\": \"b\", \"criteria\": []}\n]", "in.json:3: record 2 (id b): no prompt"},
		{"{\"prompt\": \"p\", \"criteria\": []}", "in.json:1: record 1: no id"},
		{"{\"id\": \"a\", \"prompt\": \"p\", \"criteria\": \"not json\"}", "criteria given as a string that holds no JSON"},
		{"{\"id\": \"a\", \"prompt\": \"p\", \"criteria\": [{\"criterion\": \"x\", \"weight\": 1}]}\n{\"id\": \"a\", \"prompt\": \"q\", \"criteria\": [{\"criterion\": \"y\", \"weight\": 1}]}", "in.json:2: record 2 (id a): id \"a\" repeats the record on line 1"},
	}
	for _, c := range cases {
		_, _, err := DecodePaper([]byte(c.text), "in.json")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want it to contain %q", err, c.want)
		}
	}
}

// TestPaperRoundTrip: the regular fixture exports to the same records it was
// read from, and every fixture survives import → export → import.
func TestPaperRoundTrip(t *testing.T) {
	src := filepath.Join(fixtures, "paper_regular.json")
	rs, _, err := ImportPaper(src)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.json")
	if _, err := ExportPaper(out, rs); err != nil {
		t.Fatal(err)
	}
	var want, got []map[string]any
	for path, dst := range map[string]*[]map[string]any{src: &want, out: &got} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("export differs from the source records:\n%v\n%v", got, want)
	}
	for _, name := range []string{"paper_regular.json", "paper_irregular.json"} {
		first, _, err := ImportPaper(filepath.Join(fixtures, name))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		recs := make([]PaperRecord, len(first))
		for i, r := range first {
			recs[i], _ = ToPaper(r)
		}
		json.NewEncoder(&buf).Encode(recs)
		second, warns, err := DecodePaper(buf.Bytes(), "exported")
		if err != nil || len(warns) != 0 || !reflect.DeepEqual(second, first) {
			t.Errorf("%s: import → export → import: %v %q", name, err, warns)
		}
	}
}
