package tokenizer

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The pre-tokenisation patterns of the byte-level families, exactly as they
// appear in tokenizer.json files. Hugging Face runs them with Oniguruma;
// Go's regexp has no look-ahead (`\s+(?!\S)`), so each is a hand-written
// scanner below that reproduces the regex's leftmost-first alternation.
const (
	// GPT-2's, built into the ByteLevel pre-tokenizer (use_regex: true).
	PatternGPT2 = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
	// Llama-3's (tiktoken cl100k without possessive quantifiers): digit groups of 1–3.
	PatternLlama3 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// Qwen2's: Llama-3's with single digits. rft's own tokenizers use it.
	PatternQwen2 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// splitFunc cuts s into consecutive non-empty pieces that cover it.
type splitFunc func(s string, emit func(piece string))

// matchFunc is a hand-written scanner: the length of the pattern's match at
// the start of s (never 0 for non-empty s: the patterns cover every string).
type matchFunc func(s string) int

func llama3Match(s string) int { return llamaMatch(s, 3) }
func qwen2Match(s string) int  { return llamaMatch(s, 1) }

var scanners = map[string]matchFunc{PatternGPT2: gpt2Match, PatternLlama3: llama3Match, PatternQwen2: qwen2Match}

// splitterFor returns the scanner of a Split pattern: hand-written for the
// known patterns, Go's regexp (with Oniguruma's \s) for look-ahead-free ones.
func splitterFor(pattern string) (splitFunc, error) {
	if m, ok := scanners[pattern]; ok {
		return scanWith(m), nil
	}
	for _, look := range []string{"(?=", "(?!", "(?<=", "(?<!", "?+", "*+", "++"} {
		if strings.Contains(pattern, look) {
			return nil, fmt.Errorf("regex %q is not supported (look-around or possessive quantifier; only the GPT-2, Llama-3 and Qwen2 patterns are hand-written)", pattern)
		}
	}
	src, err := onigSpaces(pattern)
	if err != nil {
		return nil, fmt.Errorf("regex %q: %w", pattern, err)
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, fmt.Errorf("regex %q is not supported: %w", pattern, err)
	}
	return func(s string, emit func(string)) { isolate(s, re.FindAllStringIndex(s, -1), emit) }, nil
}

// literalSplitter splits around occurrences of a literal (Split with
// pattern {"String": ...}), keeping them as pieces (behavior Isolated).
func literalSplitter(lit string) splitFunc {
	return func(s string, emit func(string)) {
		var locs [][]int
		for off := 0; lit != ""; {
			i := strings.Index(s[off:], lit)
			if i < 0 {
				break
			}
			locs = append(locs, []int{off + i, off + i + len(lit)})
			off += i + len(lit)
		}
		isolate(s, locs, emit)
	}
}

// isolate emits matches and the gaps between them as separate pieces.
func isolate(s string, locs [][]int, emit func(string)) {
	prev := 0
	for _, l := range locs {
		if l[0] > prev {
			emit(s[prev:l[0]])
		}
		if l[1] > l[0] {
			emit(s[l[0]:l[1]])
		}
		prev = l[1]
	}
	if prev < len(s) {
		emit(s[prev:])
	}
}

// whiteSpace is Oniguruma's (and Rust's, and Go's unicode.IsSpace) \s: the
// Unicode White_Space property. Go's regexp \s is ASCII only.
const whiteSpace = `\t\n\v\f\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}`

// onigSpaces rewrites \s and \S to the Unicode whitespace set.
func onigSpaces(p string) (string, error) {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			n := p[i+1]
			i++
			switch {
			case n == 's' && inClass:
				b.WriteString(whiteSpace)
			case n == 's':
				b.WriteString("[" + whiteSpace + "]")
			case n == 'S' && inClass:
				return "", fmt.Errorf(`\S inside a character class is not supported`)
			case n == 'S':
				b.WriteString("[^" + whiteSpace + "]")
			default:
				b.WriteByte(c)
				b.WriteByte(n)
			}
			continue
		case c == '[':
			inClass = true
		case c == ']':
			inClass = false
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

func scanWith(match func(s string) int) splitFunc {
	return func(s string, emit func(string)) {
		for len(s) > 0 {
			n := match(s)
			emit(s[:n])
			s = s[n:]
		}
	}
}

type class uint8

const (
	other class = iota // [^\s\p{L}\p{N}]; also invalid UTF-8 bytes
	letter
	number
	space
)

var asciiClass [128]class

func init() {
	for r := 0; r < 128; r++ {
		asciiClass[r] = slowClass(rune(r))
	}
}

func slowClass(r rune) class {
	switch {
	case unicode.IsLetter(r):
		return letter
	case unicode.IsNumber(r):
		return number
	case unicode.IsSpace(r): // the White_Space property, as Oniguruma's \s
		return space
	}
	return other
}

// next decodes the first character of s and its class.
func next(s string) (rune, int, class) {
	if c := s[0]; c < utf8.RuneSelf {
		return rune(c), 1, asciiClass[c]
	}
	r, w := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && w == 1 {
		return r, 1, other
	}
	return r, w, slowClass(r)
}

// run is the byte length of the longest prefix of s whose characters are all of class c.
func run(s string, c class) int {
	n := 0
	for n < len(s) {
		_, w, k := next(s[n:])
		if k != c {
			break
		}
		n += w
	}
	return n
}

// contraction matches 's|'t|'re|'ve|'m|'ll|'d at the start of s (which
// starts with '), case-insensitively under (?i:...).
func contraction(s string, fold bool) int {
	if len(s) < 2 {
		return 0
	}
	lower := func(i int) (byte, int) {
		c := s[i]
		if fold {
			if 'A' <= c && c <= 'Z' {
				return c + 'a' - 'A', 1
			}
			if strings.HasPrefix(s[i:], "ſ") { // U+017F case-folds to s
				return 's', len("ſ")
			}
		}
		return c, 1
	}
	c1, w1 := lower(1)
	switch c1 {
	case 's', 't', 'm', 'd':
		return 1 + w1
	}
	if len(s) < 3 {
		return 0
	}
	c2, w2 := lower(2)
	switch string([]byte{c1, c2}) {
	case "re", "ve", "ll":
		return 1 + w1 + w2
	}
	return 0
}

// spaceMatch matches \s+(?!\S)|\s+ at the start of s (which starts with
// whitespace): a whitespace run followed by a non-space keeps its last
// character for the next piece (" word"), unless the run is one character.
func spaceMatch(s string) int {
	n, last, count := 0, 0, 0
	for n < len(s) {
		_, w, k := next(s[n:])
		if k != space {
			break
		}
		n, last, count = n+w, w, count+1
	}
	if n < len(s) && count > 1 {
		return n - last
	}
	return n
}

// gpt2Match is the length of PatternGPT2's match at the start of s.
func gpt2Match(s string) int {
	r, _, c := next(s)
	if r == '\'' {
		if n := contraction(s, false); n > 0 {
			return n
		}
	}
	if r == ' ' && len(s) > 1 {
		if _, _, c2 := next(s[1:]); c2 != space {
			return 1 + run(s[1:], c2) // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`
		}
	}
	if c != space {
		return run(s, c)
	}
	return spaceMatch(s)
}

// llamaMatch is the length of the Llama-3 / Qwen2 pattern's match at the
// start of s, with \p{N}{1,maxDigits}.
func llamaMatch(s string, maxDigits int) int {
	r, w, c := next(s)
	if r == '\'' {
		if n := contraction(s, true); n > 0 {
			return n
		}
	}
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if c == letter {
		return run(s, letter)
	}
	if c != number && r != '\r' && r != '\n' && w < len(s) {
		if _, _, c2 := next(s[w:]); c2 == letter {
			return w + run(s[w:], letter)
		}
	}
	// \p{N}{1,maxDigits}
	if c == number {
		n := 0
		for d := 0; d < maxDigits && n < len(s); d++ {
			_, w, k := next(s[n:])
			if k != number {
				break
			}
			n += w
		}
		return n
	}
	// ` ?[^\s\p{L}\p{N}]+[\r\n]*`
	if r == ' ' && len(s) > 1 {
		if _, _, c2 := next(s[1:]); c2 == other {
			n := 1 + run(s[1:], other)
			return n + newlines(s[n:])
		}
	}
	if c == other {
		n := run(s, other)
		return n + newlines(s[n:])
	}
	// \s*[\r\n]+ : the whitespace run up to and including its last \r or \n.
	n, end := 0, 0
	for n < len(s) {
		r, w, k := next(s[n:])
		if k != space {
			break
		}
		n += w
		if r == '\r' || r == '\n' {
			end = n
		}
	}
	if end > 0 {
		return end
	}
	return spaceMatch(s)
}

func newlines(s string) int {
	n := 0
	for n < len(s) && (s[n] == '\r' || s[n] == '\n') {
		n++
	}
	return n
}
