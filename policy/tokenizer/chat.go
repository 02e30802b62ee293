package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Message is one turn of a conversation.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// The special tokens of rft's plain chat template (registered by Train
// through DefaultSpecials).
const (
	EndOfText = "<|endoftext|>" // ends a document
	EndOfTurn = "<|end|>"       // ends a chat turn
)

// Chat template families.
const (
	FamilyPlain  = "plain"
	FamilyChatML = "chatml" // Qwen and other ChatML models
	FamilyLlama3 = "llama3"
)

// ChatTemplate renders conversations the way a model family was trained on
// them. It recognises templates by their markers; it is not a Jinja engine.
//
// The plain template, rft's own, puts each turn between a role token and
// <|end|>, each followed by a newline:
//
//	<|system|>\n{content}<|end|>\n
//	<|user|>\n{content}<|end|>\n
//	<|assistant|>\n{content}<|end|>\n
//
// and the generation prompt is "<|assistant|>\n". Roles other than system
// and assistant render as user.
//
// ChatML (Qwen): "<|im_start|>{role}\n{content}<|im_end|>\n" per turn, a
// default system turn first when the template has one (Qwen2's "You are a
// helpful assistant.") and the conversation has none; generation prompt
// "<|im_start|>assistant\n".
//
// Llama-3: "<|begin_of_text|>" once, then
// "<|start_header_id|>{role}<|end_header_id|>\n\n{content, trimmed}<|eot_id|>"
// per turn; generation prompt "<|start_header_id|>assistant<|end_header_id|>\n\n".
// Llama-3.1's date and tool preamble is not reproduced.
type ChatTemplate struct {
	Family        string
	DefaultSystem string // ChatML: the system turn added when there is none
	BOS           string // Llama-3: the template's bos_token
	// Warning is set when the directory had a chat template that was not
	// recognised, so the plain template is used instead.
	Warning string
}

// Plain is rft's own template.
var Plain = ChatTemplate{Family: FamilyPlain}

// EndOfTurnToken is the token that ends an assistant turn, the stop token of
// generation in this template.
func (c ChatTemplate) EndOfTurnToken() string {
	switch c.Family {
	case FamilyChatML:
		return "<|im_end|>"
	case FamilyLlama3:
		return "<|eot_id|>"
	}
	return EndOfTurn
}

// StopIDs are the ids that end a completion: the model's EOS ids, then the
// template's end-of-turn token and the end-of-document token where tok has
// them (as a Hugging Face generation_config lists both for chat models).
// The trainer and every in-process backend use it, so a policy stops where
// it was trained to stop.
func StopIDs(modelEOS []int, tok *Tokenizer, tmpl ChatTemplate) []int {
	ids := slices.Clone(modelEOS)
	for _, name := range []string{tmpl.EndOfTurnToken(), EndOfText} {
		if id, ok := tok.TokenID(name); ok && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// Render writes msgs in the template; addGenerationPrompt appends the header
// of the assistant's next turn.
func (c ChatTemplate) Render(msgs []Message, addGenerationPrompt bool) string {
	var b strings.Builder
	switch c.Family {
	case FamilyChatML:
		if c.DefaultSystem != "" && (len(msgs) == 0 || msgs[0].Role != "system") {
			b.WriteString("<|im_start|>system\n" + c.DefaultSystem + "<|im_end|>\n")
		}
		for _, m := range msgs {
			b.WriteString("<|im_start|>" + m.Role + "\n" + m.Content + "<|im_end|>\n")
		}
		if addGenerationPrompt {
			b.WriteString("<|im_start|>assistant\n")
		}
	case FamilyLlama3:
		bos := c.BOS
		if bos == "" {
			bos = "<|begin_of_text|>"
		}
		b.WriteString(bos)
		for _, m := range msgs {
			b.WriteString("<|start_header_id|>" + m.Role + "<|end_header_id|>\n\n" + strings.TrimSpace(m.Content) + "<|eot_id|>")
		}
		if addGenerationPrompt {
			b.WriteString("<|start_header_id|>assistant<|end_header_id|>\n\n")
		}
	default:
		for _, m := range msgs {
			role := m.Role
			if role != "system" && role != "assistant" {
				role = "user"
			}
			b.WriteString("<|" + role + "|>\n" + m.Content + EndOfTurn + "\n")
		}
		if addGenerationPrompt {
			b.WriteString("<|assistant|>\n")
		}
	}
	return b.String()
}

// chatMLSystem finds a ChatML template's default system turn, written as a
// Jinja string literal.
var chatMLSystem = regexp.MustCompile(`'<\|im_start\|>system\\n([^'{}\\]*)<\|im_end\|>\\n'`)

// DetectChatTemplate classifies a Jinja chat template by its markers.
func DetectChatTemplate(src string) (ChatTemplate, bool) {
	switch {
	case strings.Contains(src, "<|im_start|>") && strings.Contains(src, "<|im_end|>"):
		c := ChatTemplate{Family: FamilyChatML}
		if m := chatMLSystem.FindStringSubmatch(src); m != nil {
			c.DefaultSystem = m[1]
		}
		return c, true
	case strings.Contains(src, "<|start_header_id|>") && strings.Contains(src, "<|end_header_id|>") && strings.Contains(src, "<|eot_id|>"):
		return ChatTemplate{Family: FamilyLlama3}, true
	case strings.Contains(src, "<|user|>") && strings.Contains(src, "<|assistant|>") && strings.Contains(src, EndOfTurn):
		return Plain, true
	}
	return Plain, false
}

// LoadChatTemplate reads the chat template of a model directory: the
// chat_template of tokenizer_config.json (a string, or a list of {name,
// template} where "default" wins), else chat_template.jinja. A directory
// without a template (rft's own models, or dir == "") gets Plain; an
// unrecognised template gets Plain with Warning set. Only unreadable or
// malformed files are errors.
func LoadChatTemplate(dir string) (ChatTemplate, error) {
	if dir == "" {
		return Plain, nil
	}
	cfgPath := filepath.Join(dir, "tokenizer_config.json")
	var cfg struct {
		ChatTemplate json.RawMessage `json:"chat_template"`
		BOSToken     json.RawMessage `json:"bos_token"`
	}
	data, err := os.ReadFile(cfgPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return Plain, fmt.Errorf("tokenizer: %w", err)
	default:
		if err := json.Unmarshal(data, &cfg); err != nil {
			return Plain, fmt.Errorf("tokenizer: %s: %w", cfgPath, jsonErr(data, err))
		}
	}
	src, err := templateSource(cfg.ChatTemplate)
	if err != nil {
		return Plain, fmt.Errorf("tokenizer: %s: chat_template: %w", cfgPath, err)
	}
	if src == "" {
		jinja, err := os.ReadFile(filepath.Join(dir, "chat_template.jinja"))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return Plain, nil
		case err != nil:
			return Plain, fmt.Errorf("tokenizer: %w", err)
		}
		src = string(jinja)
	}
	c, ok := DetectChatTemplate(src)
	if !ok {
		c.Warning = fmt.Sprintf("%s: chat template not recognised (neither ChatML nor Llama-3); using rft's plain template", dir)
		return c, nil
	}
	if c.Family == FamilyLlama3 {
		c.BOS = tokenContent(cfg.BOSToken)
	}
	return c, nil
}

func templateSource(raw json.RawMessage) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var named []struct{ Name, Template string }
	if err := json.Unmarshal(raw, &named); err != nil {
		return "", errors.New("neither a string nor a list of {name, template}")
	}
	for _, n := range named {
		if n.Name == "default" {
			return n.Template, nil
		}
	}
	if len(named) > 0 {
		return named[0].Template, nil
	}
	return "", nil
}

// tokenContent reads a token written as a string or as an AddedToken object.
func tokenContent(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var obj struct{ Content string }
	json.Unmarshal(raw, &obj)
	return obj.Content
}
