package tokenizer

import "unicode/utf8"

// The GPT-2 byte-level alphabet: every byte maps to one printable Unicode
// character, so that a BPE vocabulary of strings can hold arbitrary bytes.
// Printable Latin-1 bytes map to themselves; the other 68 bytes (controls,
// space, soft hyphen) map to U+0100 upwards in byte order. Byte-level token
// strings in tokenizer.json are written in this alphabet ("Ġ" is a space).
var (
	byteToRune [256]rune
	runeToByte = map[rune]byte{}
	// byteOrder lists the bytes in the order GPT-2, Qwen and Train give them
	// ids 0..255: the self-mapped bytes first, then the shifted ones.
	byteOrder [256]byte
)

func init() {
	n := 0
	var self [256]bool
	for _, r := range [][2]int{{'!', '~'}, {0xA1, 0xAC}, {0xAE, 0xFF}} {
		for b := r[0]; b <= r[1]; b++ {
			self[b] = true
			byteToRune[b] = rune(b)
			byteOrder[n] = byte(b)
			n++
		}
	}
	shift := 0
	for b := 0; b < 256; b++ {
		if !self[b] {
			byteToRune[b] = rune(256 + shift)
			shift++
			byteOrder[n] = byte(b)
			n++
		}
	}
	for b, r := range byteToRune {
		runeToByte[r] = byte(b)
	}
}

// byteLevelString maps raw bytes to their byte-level token string.
func byteLevelString(raw string) string {
	buf := make([]byte, 0, 2*len(raw))
	for i := 0; i < len(raw); i++ {
		buf = utf8.AppendRune(buf, byteToRune[raw[i]])
	}
	return string(buf)
}

// rawBytes maps a byte-level token string back to raw bytes; ok is false when
// the string holds a character outside the alphabet (as added tokens such as
// "<|im_end|> " may), in which case Hugging Face's ByteLevel decoder, and
// Decode, use the token's own UTF-8 bytes instead.
func rawBytes(tok string) (string, bool) {
	buf := make([]byte, 0, len(tok))
	for _, r := range tok {
		b, ok := runeToByte[r]
		if !ok {
			return tok, false
		}
		buf = append(buf, b)
	}
	return string(buf), true
}
