package reward

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// The wire format of external rewards, over HTTP and through a command:
//
//	request:  {"samples": [{"prompt_id": "...", "prompt": "...", "completion": "...", "reference": "..."}]}
//	response: {"scores": [0.5, {"value": 0.8, "components": {"format": 1}}, {"error": "..."}]}
//
// one score per sample, in order: a number, or an object with a value,
// optional components, or an error for that sample alone.

type wireSample struct {
	PromptID   string `json:"prompt_id"`
	Prompt     string `json:"prompt"`
	Completion string `json:"completion"`
	Reference  string `json:"reference,omitempty"`
}

type wireScore struct {
	Value      *float64           `json:"value"`
	Components map[string]float64 `json:"components,omitempty"`
	Error      string             `json:"error,omitempty"`
}

func encodeBatch(batch []Sample) ([]byte, error) {
	req := struct {
		Samples []wireSample `json:"samples"`
	}{Samples: make([]wireSample, len(batch))}
	for i, s := range batch {
		req.Samples[i] = wireSample{s.PromptID, s.Prompt, s.Completion, s.Reference}
	}
	return json.Marshal(req)
}

func decodeScores(body []byte, n int) ([]Score, error) {
	var resp struct {
		Scores []json.RawMessage `json:"scores"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("answer is not {\"scores\": [...]}: %w (body %q)", err, tail(body, 200))
	}
	if len(resp.Scores) != n {
		return nil, fmt.Errorf("%d scores for %d samples", len(resp.Scores), n)
	}
	out := make([]Score, n)
	for i, raw := range resp.Scores {
		var v float64
		if json.Unmarshal(raw, &v) == nil {
			out[i] = Score{Value: v}
			continue
		}
		var ws wireScore
		if err := json.Unmarshal(raw, &ws); err != nil {
			return nil, fmt.Errorf("score %d: want a number or {\"value\": ...}, got %s", i, tail(raw, 100))
		}
		switch {
		case ws.Error != "":
			out[i] = Score{Err: errors.New(ws.Error)}
		case ws.Value == nil:
			return nil, fmt.Errorf("score %d: no value and no error", i)
		default:
			out[i] = Score{Value: *ws.Value, Components: ws.Components}
		}
	}
	return out, nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// HTTP is an external reward served over HTTP: the batch is POSTed as JSON
// and the scores come back as JSON. 429 (honouring Retry-After), 5xx,
// transport errors and timeouts are retried with exponential backoff;
// errors name the endpoint.
type HTTP struct {
	URL     string
	Header  http.Header   // extra headers, e.g. Authorization
	Timeout time.Duration // per attempt; 0 is 60 s
	Retries int           // attempts after the first
	Backoff time.Duration // first wait, doubled each retry; 0 is 500 ms
	Client  *http.Client  // nil: a default client
}

// NewHTTP returns an HTTP reward with three retries.
func NewHTTP(url string) *HTTP { return &HTTP{URL: url, Retries: 3} }

// Score posts the batch.
func (h *HTTP) Score(ctx context.Context, batch []Sample) ([]Score, error) {
	body, err := encodeBatch(batch)
	if err != nil {
		return nil, err
	}
	client := h.Client
	if client == nil {
		client = http.DefaultClient
	}
	timeout, backoff := h.Timeout, h.Backoff
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	if backoff <= 0 {
		backoff = 500 * time.Millisecond
	}
	var lastErr error
	for attempt := 0; attempt <= h.Retries; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, backoff); err != nil {
				return nil, fmt.Errorf("reward http %s: %w (last: %v)", h.URL, err, lastErr)
			}
			backoff *= 2
		}
		scores, wait, retry, err := h.once(ctx, client, timeout, body, len(batch))
		if err == nil {
			return scores, nil
		}
		lastErr = err
		if !retry || ctx.Err() != nil {
			break
		}
		backoff = max(backoff, wait)
	}
	return nil, fmt.Errorf("reward http %s: %w", h.URL, lastErr)
}

// once makes one attempt: the scores, or the error with whether to retry
// and the least wait the server asked for.
func (h *HTTP) once(ctx context.Context, client *http.Client, timeout time.Duration, body []byte, n int) ([]Score, time.Duration, bool, error) {
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return nil, 0, false, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, vs := range h.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() == nil && actx.Err() != nil {
			return nil, 0, true, fmt.Errorf("timed out after %v", timeout)
		}
		return nil, 0, true, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, 0, true, err
	}
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(tail(data, 300)))
		retry := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout
		var wait time.Duration
		if s, e := strconv.ParseFloat(strings.TrimSpace(resp.Header.Get("Retry-After")), 64); e == nil && s > 0 && s < 3600 {
			wait = time.Duration(s * float64(time.Second))
		}
		return nil, wait, retry, err
	}
	scores, err := decodeScores(data, n)
	return scores, 0, false, err
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Command is an external reward computed by a program: the batch goes to its
// standard input as JSON and the scores come back on its standard output.
// A non-zero exit is an error carrying the tail of its standard error.
type Command struct {
	Argv    []string
	Dir     string
	Env     []string      // added to the environment
	Timeout time.Duration // 0: none beyond ctx
}

// Score runs the command once for the batch.
func (c *Command) Score(ctx context.Context, batch []Sample) ([]Score, error) {
	if len(c.Argv) == 0 {
		return nil, errors.New("reward command: no command")
	}
	name := strings.Join(c.Argv, " ")
	body, err := encodeBatch(batch)
	if err != nil {
		return nil, err
	}
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, c.Argv[0], c.Argv[1:]...)
	cmd.Dir = c.Dir
	if len(c.Env) > 0 {
		cmd.Env = append(cmd.Environ(), c.Env...)
	}
	cmd.Stdin = bytes.NewReader(body)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("reward command %q: %w", name, ctx.Err())
		}
		return nil, fmt.Errorf("reward command %q: %w; stderr: %s", name, err, strings.TrimSpace(tail(stderr.Bytes(), 1000)))
	}
	scores, err := decodeScores(stdout.Bytes(), len(batch))
	if err != nil {
		return nil, fmt.Errorf("reward command %q: %w", name, err)
	}
	return scores, nil
}
