package truth

import (
	"testing"

	"github.com/rft-dev/rft/tasks/tailworld"
)

func handPrompt(t *testing.T) (string, tailworld.Request) {
	t.Helper()
	text := "Facts:\n" +
		"Bralo: red fox, forest, 12 kg, 40 km/h, 5 years.\n" +
		"Tomi: grey owl, forest, 3 kg, 30 km/h, 2 years.\n" +
		"Kesa: brown goat, forest, 50 kg, 20 km/h, 9 years.\n" +
		"Vumi: black horse, town, 80 kg, 60 km/h, 4 years.\n" +
		"Name 2 animals from the forest. I want fast ones."
	q, err := tailworld.ParsePrompt(text)
	if err != nil {
		t.Fatal(err)
	}
	return text, q
}

// The oracle on hand-written responses: which gold criteria each one meets.
func TestOracleOnHandWrittenResponses(t *testing.T) {
	_, q := handPrompt(t)
	const excellent = "Here are 2 animals from the forest.\n- Bralo the fox runs 40 km/h.\n- Tomi the owl runs 30 km/h.\nBralo is the fastest."
	all := []string{"count", "constraint", "correct", "format", "attribute", "order", "summary", "no_hedging", "concise"}
	cases := []struct {
		name     string
		response string
		fails    []string
	}{
		{"excellent", excellent, nil},
		{"artifacts cost nothing", "Sure!\n1. **Bralo** the fox runs 40 km/h!\n2. **Tomi** the owl runs 30 km/h!\nBralo is the fastest.\nHope this helps!", nil},
		{"wrong order", "- Tomi the owl runs 30 km/h.\n- Bralo the fox runs 40 km/h.\nBralo is the fastest.", []string{"order"}},
		{"hedged", "- I think Bralo the fox runs 40 km/h.\n- Tomi the owl runs 30 km/h.\nBralo is the fastest.", []string{"no_hedging"}},
		{"perhaps is a hedge too", "- Bralo the fox runs 40 km/h.\n- Tomi the owl runs 30 km/h.\nPerhaps Bralo is the fastest.", []string{"no_hedging"}},
		{"confused number", "- Bralo the fox runs 30 km/h.\n- Tomi the owl runs 30 km/h.\nBralo is the fastest.", []string{"correct", "attribute"}},
		{"bluffed filter", "- Vumi the horse runs 60 km/h and lives in the forest.\n- Bralo the fox runs 40 km/h.\nVumi is the fastest.", []string{"constraint", "correct"}},
		{"all on one line", "Bralo the fox runs 40 km/h. Tomi the owl runs 30 km/h.\nBralo is the fastest.", []string{"format"}},
		{"no attribute", "- Bralo the fox.\n- Tomi the owl.\nBralo is the fastest.", []string{"attribute"}},
		{"wrong summary", "- Bralo the fox runs 40 km/h.\n- Tomi the owl runs 30 km/h.\nTomi is the fastest.", []string{"summary"}},
		{"no summary", "- Bralo the fox runs 40 km/h.\n- Tomi the owl runs 30 km/h.", []string{"summary"}},
		{"three animals", "- Bralo the fox runs 40 km/h.\n- Tomi the owl runs 30 km/h.\n- Kesa the goat runs 20 km/h.\nBralo is the fastest.", []string{"count"}},
		{"too long", "Here are 2 animals from the forest.\n- Bralo the fox runs 40 km/h, weighs 12 kg and is 5 years old.\n- Tomi the owl runs 30 km/h, weighs 3 kg and is 2 years old.\nAll of them are nice animals.\nBralo is the fastest.", []string{"concise"}},
		{"invented name", "- Bralo the fox runs 40 km/h.\n- Zork the owl runs 30 km/h.\nBralo is the fastest.", []string{"count", "correct", "order", "format"}},
		{"described", "Here are 2 animals from the forest.\n- The forest fox Bralo runs 40 km/h.\n- The forest owl Tomi runs 30 km/h.\nBralo is the fastest.", nil},
		{"described wrongly", "- The forest fox Bralo runs 40 km/h.\n- The forest goat Tomi runs 30 km/h.\nBralo is the fastest.", []string{"correct"}},
		{"described, hedged", "- Maybe the forest fox Bralo runs 40 km/h.\n- The forest owl Tomi runs 30 km/h.\nBralo is the fastest.", []string{"no_hedging"}},
		{"description without a name", "Here are 2 animals from the forest.\n- The forest fox runs 40 km/h.\n- The forest owl runs 30 km/h.", []string{"count", "constraint", "correct", "format", "attribute", "order", "summary", "no_hedging", "concise"}},
		{"empty", "", all},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := Evaluate(q, c.response)
			want := map[string]bool{}
			for _, id := range all {
				want[id] = true
			}
			for _, id := range c.fails {
				want[id] = false
			}
			for _, id := range all {
				if s.Met[id] != want[id] {
					t.Errorf("%s: met=%v, want %v (reading %+v)", id, s.Met[id], want[id], Read(q, c.response))
				}
			}
		})
	}
	if s := Evaluate(q, excellent); s.RStar != 1 || s.Holistic != 1 {
		t.Errorf("excellent: r*=%v holistic=%v, want 1 and 1", s.RStar, s.Holistic)
	}
	if s := Evaluate(q, ""); s.RStar != 0 {
		t.Errorf("empty: r*=%v, want 0", s.RStar)
	}
}

// The holistic component: picking worse items and mixing line templates
// cost r* although every gold criterion still holds.
func TestHolisticIsOutsideTheCriteria(t *testing.T) {
	_, q := handPrompt(t)
	best := Evaluate(q, "- Bralo the fox runs 40 km/h.\n- Tomi the owl runs 30 km/h.\nBralo is the fastest.")
	worse := Evaluate(q, "- Bralo the fox runs 40 km/h.\n- Kesa the goat runs 20 km/h.\nBralo is the fastest.")
	mixed := Evaluate(q, "- Bralo the fox runs 40 km/h.\n- Tomi the owl runs 30 km/h and is grey.\nBralo is the fastest.")
	for name, s := range map[string]Score{"worse picks": worse, "mixed lines": mixed} {
		if s.Gold != 1 {
			t.Errorf("%s: gold %v, want every criterion met", name, s.Gold)
		}
		if s.RStar >= best.RStar {
			t.Errorf("%s: r*=%v, not below the best %v", name, s.RStar, best.RStar)
		}
	}
}

func TestCompare(t *testing.T) {
	text, _ := handPrompt(t)
	a := "- Bralo the fox runs 40 km/h.\n- Tomi the owl runs 30 km/h.\nBralo is the fastest."
	b := "- Tomi the owl runs 30 km/h.\n- Bralo the fox runs 40 km/h."
	for _, c := range []struct {
		a, b string
		want int
	}{{a, b, 1}, {b, a, -1}, {a, a, 0}} {
		if got, err := Compare(text, c.a, c.b); err != nil || got != c.want {
			t.Errorf("Compare = %d, %v; want %d", got, err, c.want)
		}
	}
	if _, err := Compare("not a prompt", a, b); err == nil {
		t.Error("a non-tailworld prompt was judged")
	}
}
