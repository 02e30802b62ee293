package pretrain

import (
	"fmt"
	"strings"
)

// Sequence is one training row: tokens and, per position, the target the
// loss asks it to predict (-1: none).
type Sequence struct {
	Tokens  []int
	Targets []int
}

// Encoding is what sequence building needs from a tokenizer and its chat
// template.
type Encoding struct {
	Encode func(text string) []int
	// Render formats a conversation; with addGenerationPrompt it ends with the
	// assistant header, ready for the reply.
	Render func(msgs []Message, addGenerationPrompt bool) string
	EOS    int
	// PromptLoss learns every token of SFT examples, not only the
	// completion or the assistant turns.
	PromptLoss bool
}

// BuildSequences tokenises examples into rows of at most seqLen tokens.
// Plain text is a stream: documents joined by EOS and cut into windows, every
// token a target. Prompt/completion pairs and chats are one row each (cut at
// seqLen), with targets only on the completion or the assistant turns and
// the EOS that ends them.
func BuildSequences(exs []Example, enc Encoding, seqLen int) ([]Sequence, error) {
	var seqs []Sequence
	var stream []int
	for _, ex := range exs {
		switch {
		case ex.Messages != nil:
			toks, learn, err := chatTokens(ex, enc)
			if err != nil {
				return nil, err
			}
			seqs = appendRow(seqs, toks, learn, seqLen)
		case ex.Prompt != "" || ex.Completion != "":
			p, c := enc.Encode(ex.Prompt), append(enc.Encode(ex.Completion), enc.EOS)
			learn := make([]bool, len(p)+len(c))
			for i := range learn {
				learn[i] = enc.PromptLoss || i >= len(p)
			}
			seqs = appendRow(seqs, append(p, c...), learn, seqLen)
		default:
			stream = append(append(stream, enc.Encode(ex.Text)...), enc.EOS)
		}
	}
	// Windows overlap by one token so that every stream token but the first
	// is a target exactly once.
	for lo := 0; lo+1 < len(stream); lo += seqLen - 1 {
		hi := min(lo+seqLen, len(stream))
		toks := stream[lo:hi]
		learn := make([]bool, len(toks))
		for i := 1; i < len(learn); i++ {
			learn[i] = true
		}
		seqs = appendRow(seqs, toks, learn, seqLen)
	}
	if len(seqs) == 0 {
		return nil, fmt.Errorf("data: no sequence with a target token")
	}
	return seqs, nil
}

// appendRow turns (tokens, learn) into a row whose position i targets token
// i+1 when that token is learned. Rows with no target are dropped.
func appendRow(seqs []Sequence, toks []int, learn []bool, seqLen int) []Sequence {
	if len(toks) > seqLen {
		toks, learn = toks[:seqLen], learn[:seqLen]
	}
	targets := make([]int, len(toks))
	any := false
	for i := range targets {
		targets[i] = -1
		if i+1 < len(toks) && learn[i+1] {
			targets[i] = toks[i+1]
			any = true
		}
	}
	if !any {
		return seqs
	}
	return append(seqs, Sequence{Tokens: append([]int(nil), toks...), Targets: targets})
}

// chatTokens renders a conversation turn by turn. Each assistant turn's
// header comes from the generation prompt (not learned); its content and end
// marker are learned. Rendering is prefix-stable for the supported
// templates, so the pieces concatenate to the whole conversation.
func chatTokens(ex Example, enc Encoding) ([]int, []bool, error) {
	var toks []int
	var learn []bool
	prev := ""
	for i, m := range ex.Messages {
		var head string
		if m.Role == "assistant" {
			head = enc.Render(ex.Messages[:i], true)
		} else {
			head = enc.Render(ex.Messages[:i+1], false)
		}
		full := enc.Render(ex.Messages[:i+1], false)
		if !strings.HasPrefix(head, prev) || !strings.HasPrefix(full, head) {
			return nil, nil, fmt.Errorf("%s: the chat template does not render turn %d as an extension of the previous turns", ex.Source, i)
		}
		h := enc.Encode(head[len(prev):])
		toks = append(toks, h...)
		for range h {
			learn = append(learn, enc.PromptLoss)
		}
		if m.Role == "assistant" {
			body := enc.Encode(full[len(head):])
			toks = append(toks, body...)
			for range body {
				learn = append(learn, true)
			}
		}
		prev = full
	}
	return toks, learn, nil
}
