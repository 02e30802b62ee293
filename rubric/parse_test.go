package rubric

import (
	"errors"
	"strings"
	"testing"
)

func TestExtractJSON(t *testing.T) {
	cases := []struct {
		name, raw, want string
	}{
		{"bare", `{"c1": "yes"}`, `{"c1": "yes"}`},
		{"fence", "Here you go:\n```json\n{\"c1\": \"no\"}\n```\nHope it helps.", `{"c1": "no"}`},
		{"fence without info", "```\n[1, 2]\n```", `[1, 2]`},
		{"prose around", `Sure! The verdicts are {"c1": "yes", "c2": "no"} as requested.`, `{"c1": "yes", "c2": "no"}`},
		{"trailing commas", "{\"criteria\": [{\"criterion\": \"x\", \"weight\": 1,},],}", `{"criteria": [{"criterion": "x", "weight": 1}]}`},
		{"comma inside string kept", `{"a": "x,}"}`, `{"a": "x,}"}`},
		{"braces in prose first", `Use {braces} carefully: {"c1": true}`, `{"c1": true}`},
		{"second fence", "```text\nnot json\n```\n```json\n{\"c2\": \"yes\"}\n```", `{"c2": "yes"}`},
	}
	for _, c := range cases {
		got, err := ExtractJSON(c.raw)
		if err != nil || string(got) != c.want {
			t.Errorf("%s: got %q, %v; want %q", c.name, got, err, c.want)
		}
	}
	for _, raw := range []string{"", "no json here", "{broken", "```json\n{\"a\": \n```"} {
		if _, err := ExtractJSON(raw); !errors.Is(err, ErrNoJSON) {
			t.Errorf("%q: err %v, want ErrNoJSON", raw, err)
		}
	}
}

func TestParseRubricForms(t *testing.T) {
	want := []Criterion{{ID: "c1", Text: "Names the capital.", Weight: 3}, {ID: "c2", Text: "Is brief.", Weight: 1}}
	cases := []struct {
		name, raw string
		warn      bool
	}{
		{"object", `{"criteria": [{"criterion": "Names the capital.", "weight": 3}, {"criterion": "Is brief.", "weight": 1}]}`, false},
		{"bare array, text key, fence", "```json\n[{\"text\": \"Names the capital.\", \"weight\": 3}, {\"text\": \"Is brief.\", \"weight\": 1},]\n```", false},
		{"rubric key, ids ignored", `{"rubric": [{"id": "x9", "criterion": "Names the capital.", "weight": 3}, {"id": "x1", "criterion": "Is brief.", "weight": 1}]}`, false},
		{"criteria as a JSON string", `{"criteria": "[{\"criterion\": \"Names the capital.\", \"weight\": 3}, {\"criterion\": \"Is brief.\", \"weight\": 1}]"}`, true},
		{"map form keeps order", `{"Names the capital.": 3, "Is brief.": 1}`, true},
		{"word and string weights", `[{"criterion": "Names the capital.", "weight": "high"}, {"criterion": "Is brief.", "weight": "1"}]`, true},
	}
	for _, c := range cases {
		got, warns, err := ParseRubric(c.raw)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if len(got) != len(want) {
			t.Errorf("%s: got %+v", c.name, got)
			continue
		}
		for i := range want {
			if got[i].ID != want[i].ID || got[i].Text != want[i].Text || got[i].Weight != want[i].Weight {
				t.Errorf("%s: criterion %d = %+v, want %+v", c.name, i, got[i], want[i])
			}
		}
		if (len(warns) > 0) != c.warn {
			t.Errorf("%s: warnings %q", c.name, warns)
		}
	}
	for _, raw := range []string{`{"criteria": []}`, `{"criteria": [{"weight": 2}]}`, `"just a string"`, `{"criteria": [{"criterion": "x", "weight": 0}]}`, `prose only`} {
		if _, _, err := ParseRubric(raw); err == nil {
			t.Errorf("%q: no error", raw)
		}
	}
}

func TestParseVerdicts(t *testing.T) {
	ids := []string{"c1", "c2", "c3"}
	cases := []struct {
		raw  string
		want map[string]bool
	}{
		{`{"c1": "yes", "c2": "no", "c3": "Yes."}`, map[string]bool{"c1": true, "c2": false, "c3": true}},
		{"```json\n{\"c1\": true, \"c2\": 0, \"c3\": {\"verdict\": \"no\"}}\n```", map[string]bool{"c1": true, "c2": false, "c3": false}},
		{`{"c1": "yes", "c3": "maybe"}`, map[string]bool{"c1": true}}, // partial: c2 missing, c3 unreadable
		{`{"C2": "NO", "extra": "yes"}`, map[string]bool{"c2": false}},
	}
	for _, c := range cases {
		got, err := ParseVerdicts(c.raw, ids)
		if err != nil || len(got) != len(c.want) {
			t.Errorf("%q: got %v, %v; want %v", c.raw, got, err, c.want)
			continue
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("%q: %s = %v, want %v", c.raw, k, got[k], v)
			}
		}
	}
	for _, raw := range []string{`not json`, `{"c9": "yes"}`, `["yes"]`, `{"c1": "perhaps"}`} {
		if _, err := ParseVerdicts(raw, ids); err == nil {
			t.Errorf("%q: no error", raw)
		}
	}
	// One criterion: HealthBench's field, and a bare word.
	if got, err := ParseVerdicts(`{"explanation": "ok", "criteria_met": true}`, []string{"c4"}); err != nil || !got["c4"] {
		t.Errorf("criteria_met: %v %v", got, err)
	}
	if got, err := ParseVerdicts("No, it does not.", []string{"c4"}); err != nil || got["c4"] {
		t.Errorf("bare word: %v %v", got, err)
	}
}

func TestParseHolisticScore(t *testing.T) {
	for raw, want := range map[string]float64{`{"score": 10}`: 1, `{"score": 1}`: 0, "```json\n{\"score\": \"4\"}\n```": 1.0 / 3, "7": 6.0 / 9} {
		got, err := ParseHolisticScore(raw)
		if err != nil || got != want {
			t.Errorf("%q: %v %v, want %v", raw, got, err, want)
		}
	}
	for _, raw := range []string{`{"score": 11}`, `{"rating": 0}`, `{"grade": 5}`, `great`} {
		if _, err := ParseHolisticScore(raw); err == nil {
			t.Errorf("%q: no error", raw)
		}
	}
}

func TestChecks(t *testing.T) {
	cases := []struct {
		check Check
		resp  string
		want  bool
	}{
		{Check{"regex", map[string]any{"pattern": `\d{4}`}}, "in 1969", true},
		{Check{"regex", map[string]any{"pattern": `\d{4}`, "match": false}}, "in 1969", false},
		{Check{"contains", map[string]any{"text": "Paris"}}, "the capital is paris", true},
		{Check{"contains", map[string]any{"text": "Paris", "case_sensitive": true}}, "the capital is paris", false},
		{Check{"contains", map[string]any{"any": []any{"rome", "paris"}}}, "Paris!", true},
		{Check{"not_contains", map[string]any{"text": "as an AI"}}, "As an AI, I", false},
		{Check{"not_contains", map[string]any{"text": "as an AI"}}, "Sure.", true},
		{Check{"word_count", map[string]any{"min": 2, "max": 3.0}}, "one two three", true},
		{Check{"word_count", map[string]any{"max": 2}}, "one two three", false},
		{Check{"valid_json", nil}, "```json\n{\"a\": 1}\n```", true},
		{Check{"valid_json", nil}, "{a: 1}", false},
	}
	for _, c := range cases {
		got, err := RunCheck(&c.check, c.resp)
		if err != nil || got != c.want {
			t.Errorf("%s %v on %q: %v %v, want %v", c.check.Name, c.check.Args, c.resp, got, err, c.want)
		}
	}
	for _, c := range []Check{{"regex", map[string]any{"pattern": "("}}, {"word_count", nil}, {"contains", nil}, {"nope", nil}, {"word_count", map[string]any{"min": 5, "max": 2}}} {
		if err := ValidateCheck(&c); err == nil {
			t.Errorf("%s %v: no error", c.Name, c.Args)
		}
	}
}

func TestRegisterCheck(t *testing.T) {
	RegisterCheck("test_starts_with_yes", func(resp string, args map[string]any) (bool, error) {
		return strings.HasPrefix(resp, "Yes"), nil
	})
	if ok, err := RunCheck(&Check{Name: "test_starts_with_yes"}, "Yes, it is."); !ok || err != nil {
		t.Fatalf("registered check: %v %v", ok, err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("registering a name twice did not panic")
		}
	}()
	RegisterCheck("regex", checkRegex)
}
