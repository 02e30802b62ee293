package pretrain

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// SyntheticDocs generates the built-in "facts" corpus: short biographies of
// invented people, each followed by questions about that same document.
// Names, places, pets and trades are drawn afresh per document from a large
// syllable-made pool, so the answer to a question is predictable only by
// reading it earlier in the document — a dependency a trigram model cannot
// see and a transformer learns to copy — while the surrounding sentences
// follow a small grammar any model learns. Same seed and index, same
// document; train and eval use disjoint index ranges.
func SyntheticDocs(kind string, seed uint64, from, count int) ([]string, error) {
	if kind != "facts" {
		return nil, fmt.Errorf("data.train: synthetic corpus %q is not known (want synthetic:facts)", kind)
	}
	docs := make([]string, count)
	for i := range docs {
		docs[i] = factsDoc(rand.New(rand.NewPCG(seed, uint64(from+i))))
	}
	return docs, nil
}

var (
	onsets = []string{"b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "st", "tr", "gl", "kl"}
	nuclei = []string{"a", "e", "i", "o", "u", "ai", "ou", "ea"}
	codas  = []string{"", "", "n", "r", "s", "l", "th", "m"}
	trades = []string{"baker", "weaver", "smith", "farmer", "sailor", "teacher", "potter", "miner", "healer", "singer"}
	pets   = []string{"cat", "dog", "goat", "owl", "horse", "crow", "toad", "fox"}
	colors = []string{"red", "grey", "white", "black", "brown", "golden", "spotted", "small"}
	foods  = []string{"bread", "apples", "fish", "soup", "cheese", "plums", "rice", "honey"}
)

func pick(r *rand.Rand, xs []string) string { return xs[r.IntN(len(xs))] }

func word(r *rand.Rand, syllables int) string {
	var b strings.Builder
	for range syllables {
		b.WriteString(pick(r, onsets) + pick(r, nuclei) + pick(r, codas))
	}
	s := b.String()
	return strings.ToUpper(s[:1]) + s[1:]
}

func factsDoc(r *rand.Rand) string {
	name, town, pet := word(r, 2), word(r, 2+r.IntN(2)), word(r, 1+r.IntN(2))
	trade, kind, color, food := pick(r, trades), pick(r, pets), pick(r, colors), pick(r, foods)
	age := 18 + r.IntN(60)
	facts := []string{
		fmt.Sprintf("%s is a %s from %s.", name, trade, town),
		fmt.Sprintf("%s has a %s %s named %s.", name, color, kind, pet),
		fmt.Sprintf("Every morning %s eats %s.", name, food),
		fmt.Sprintf("%s is %d years old.", name, age),
	}
	r.Shuffle(len(facts)-1, func(i, j int) { facts[i+1], facts[j+1] = facts[j+1], facts[i+1] })
	qa := [][2]string{
		{fmt.Sprintf("Where is %s from?", name), fmt.Sprintf("%s is from %s.", name, town)},
		{fmt.Sprintf("What does %s do?", name), fmt.Sprintf("%s is a %s.", name, trade)},
		{fmt.Sprintf("What is the name of the %s?", kind), fmt.Sprintf("The %s is named %s.", kind, pet)},
		{fmt.Sprintf("What does %s eat?", name), fmt.Sprintf("%s eats %s.", name, food)},
		{fmt.Sprintf("How old is %s?", name), fmt.Sprintf("%s is %d.", name, age)},
	}
	r.Shuffle(len(qa), func(i, j int) { qa[i], qa[j] = qa[j], qa[i] })
	var b strings.Builder
	b.WriteString(strings.Join(facts, " "))
	for _, p := range qa[:3] {
		b.WriteString("\nQ: " + p[0] + "\nA: " + p[1])
	}
	return b.String()
}
