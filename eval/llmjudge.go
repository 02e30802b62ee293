package eval

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"

	"github.com/rft-dev/rft/rollout"
)

// LLMJudge compares two responses with a language model at temperature 0,
// asking twice with the order swapped (position bias cancels): the verdict
// stands only when both orders agree, disagreement is a tie. <think>
// blocks are stripped before parsing; an unparsable answer is retried once
// and then counts as a tie, and is counted in ParseFailures.
type LLMJudge struct {
	LLM   rollout.LLM
	Model string
	// Template has %[1]s for the prompt, %[2]s and %[3]s for responses A
	// and B; the answer must contain "A", "B" or "TIE" as its verdict.
	Template      string
	ParseFailures atomic.Int64
	Calls         atomic.Int64
}

// DefaultJudgeTemplate asks for a pairwise preference in the paper's style.
const DefaultJudgeTemplate = `You are an impartial judge. Compare two responses to the user's request and decide which is better overall: more correct, complete and helpful, following every instruction of the request. Do not let length or position sway you.

[Request]
%[1]s

[Response A]
%[2]s

[Response B]
%[3]s

Answer with one line: "Verdict: A", "Verdict: B" or "Verdict: TIE".`

var (
	thinkBlock = regexp.MustCompile(`(?s)<think>.*?</think>`)
	verdictRe  = regexp.MustCompile(`(?i)verdict\s*[:=]\s*\**\s*(A|B|TIE)\b`)
	bareRe     = regexp.MustCompile(`(?i)^\W*(A|B|TIE)\W*$`)
)

// parseVerdict reads "A", "B" or "TIE" from an answer.
func parseVerdict(answer string) (string, bool) {
	s := strings.TrimSpace(thinkBlock.ReplaceAllString(answer, ""))
	if m := verdictRe.FindAllStringSubmatch(s, -1); len(m) > 0 {
		return strings.ToUpper(m[len(m)-1][1]), true
	}
	if m := bareRe.FindStringSubmatch(s); m != nil {
		return strings.ToUpper(m[1]), true
	}
	return "", false
}

// ask gets one ordered verdict: +1 first better, −1 second, 0 tie.
func (j *LLMJudge) ask(ctx context.Context, prompt, first, second string) (int, error) {
	tmpl := j.Template
	if tmpl == "" {
		tmpl = DefaultJudgeTemplate
	}
	req := rollout.ChatRequest{Model: j.Model, Messages: []rollout.Message{{Role: "user", Content: fmt.Sprintf(tmpl, prompt, first, second)}},
		Temperature: 0, MaxTokens: 512}
	for attempt := 0; attempt < 2; attempt++ {
		j.Calls.Add(1)
		resp, err := j.LLM.Chat(ctx, req)
		if err != nil {
			return 0, err
		}
		if len(resp.Choices) == 0 {
			return 0, fmt.Errorf("judge: empty answer")
		}
		if v, ok := parseVerdict(resp.Choices[0].Text); ok {
			switch v {
			case "A":
				return 1, nil
			case "B":
				return -1, nil
			}
			return 0, nil
		}
		req.Temperature = 1 // a different draw for the retry
	}
	j.ParseFailures.Add(1)
	return 0, nil
}

// Compare asks in both orders.
func (j *LLMJudge) Compare(ctx context.Context, prompt, a, b string) (Verdict, error) {
	ab, err := j.ask(ctx, prompt, a, b)
	if err != nil {
		return Tie, err
	}
	ba, err := j.ask(ctx, prompt, b, a)
	if err != nil {
		return Tie, err
	}
	switch {
	case ab == 1 && ba == -1:
		return Win, nil
	case ab == -1 && ba == 1:
		return Loss, nil
	}
	return Tie, nil
}
