package sim

import (
	"testing"

	"github.com/rft-dev/rft/tasks/tailworld"
)

func TestEveryKeyRoundTrips(t *testing.T) {
	w := tailworld.NewWorld(1, 60)
	for i := range 20 {
		p := w.Prompt(tailworld.Train, i)
		keys := []Key{"count", "filter", "facts", "filter_strict", "facts_strict", "list", "wish", "detailed", "no_hedge", "max_words:35", "kind", "intro", "remark",
			"sure", "welcome", "offer_help", "numbered", "no_exclaim", "bold"}
		for name := range attrWords {
			keys = append(keys, Key("attr:"+name))
		}
		for _, in := range tailworld.Intents {
			keys = append(keys, Key("summary:"+in.Superlative()), Key("order:"+in.Attr.String()+":desc"), Key("order:"+in.Attr.String()+":asc"))
		}
		for _, k := range keys {
			s := Sentence(k, p.Request)
			if got, ok := KeyOf(s); !ok || got != k {
				t.Errorf("prompt %d: key %q: sentence %q reads back as %q, %v", i, k, s, got, ok)
			}
		}
	}
}
