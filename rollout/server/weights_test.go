package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rft-dev/rft/policy"
	"github.com/rft-dev/rft/policy/safetensors"
)

var greedyChat = map[string]any{"model": "tiny", "max_tokens": 8, "temperature": 0,
	"messages": []any{map[string]any{"role": "user", "content": "Which weights are these?"}}}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestReload(t *testing.T) {
	dirA, dirB := modelDirs(t)
	s := newServer(t, Options{Logger: quiet()})
	h := s.Handler()
	a := postChat(t, s, greedyChat)

	code, body := call(t, h, "POST", "/rft/reload", nil)
	if code != 200 || decode[map[string]any](t, body)["weight_version"] != "v2" {
		t.Fatalf("reload: %d %s", code, body)
	}
	a2 := postChat(t, s, greedyChat)
	if a2.WeightVersion != "v2" || a2.Choices[0].Message.Content != a.Choices[0].Message.Content {
		t.Errorf("after reloading the same weights: %q (%s), before %q", a2.Choices[0].Message.Content, a2.WeightVersion, a.Choices[0].Message.Content)
	}

	code, body = call(t, h, "POST", "/rft/reload", map[string]string{"path": dirB, "version": "step-000010"})
	if code != 200 {
		t.Fatalf("reload %s: %d %s", dirB, code, body)
	}
	b := postChat(t, s, greedyChat)
	if b.WeightVersion != "step-000010" || b.Choices[0].Message.Content == a.Choices[0].Message.Content {
		t.Errorf("after reloading other weights: %q (%s), before %q", b.Choices[0].Message.Content, b.WeightVersion, a.Choices[0].Message.Content)
	}
	var info map[string]any
	_, body = call(t, h, "GET", "/rft/weights", nil)
	if info = decode[map[string]any](t, body); info["weight_version"] != "step-000010" {
		t.Errorf("/rft/weights: %s", body)
	}

	// Bad reloads change nothing.
	for _, bad := range []any{
		map[string]string{"path": filepath.Join(t.TempDir(), "missing")},
		map[string]string{"path": "../../testdata/hf/qwen3"}, // another architecture
		map[string]string{"path": dirA, "version": "has space"},
		`{"path": 7}`,
	} {
		code, body := call(t, h, "POST", "/rft/reload", bad)
		if code != 400 || decode[map[string]string](t, body)["error"] == "" {
			t.Errorf("reload %v: %d %s", bad, code, body)
		}
	}
	if v := s.WeightVersion(); v != "step-000010" {
		t.Errorf("version after bad reloads: %q", v)
	}
	if again := postChat(t, s, greedyChat); again.Choices[0].Message.Content != b.Choices[0].Message.Content {
		t.Error("a bad reload changed the answers")
	}
}

func TestUpload(t *testing.T) {
	_, dirB := modelDirs(t)
	s := newServer(t, Options{APIKey: "k", Logger: quiet()})
	h := s.Handler()
	auth := []string{"Authorization", "Bearer k"}
	a := postChatAuth(t, s, greedyChat)
	good, err := os.ReadFile(filepath.Join(dirB, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := os.ReadFile("../../testdata/hf/qwen3/model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	// The same tensors with one NaN.
	_, pB, err := policy.LoadDir(dirB)
	if err != nil {
		t.Fatal(err)
	}
	pB.Data[len(pB.Data)/2] = float32(math.NaN())
	var ts []*safetensors.Tensor
	for _, tn := range pB.Tensors {
		ts = append(ts, safetensors.F32Tensor(tn.Name, tn.Shape, pB.Data[tn.Offset:tn.Offset+tn.Size]))
	}
	nanPath := filepath.Join(t.TempDir(), "nan.safetensors")
	if err := safetensors.Write(nanPath, ts, nil); err != nil {
		t.Fatal(err)
	}
	withNaN, _ := os.ReadFile(nanPath)

	for name, bad := range map[string][]byte{
		"empty":              {},
		"garbage":            []byte("not a safetensors file"),
		"truncated":          good[:len(good)-100],
		"other architecture": other,
		"NaN":                withNaN,
	} {
		code, body := call(t, h, "PUT", "/rft/weights", bad, auth...)
		if code != 400 || decode[map[string]string](t, body)["error"] == "" {
			t.Errorf("%s upload: %d %s", name, code, body)
		}
	}
	if v := s.WeightVersion(); v != "v1" {
		t.Fatalf("bad uploads changed the version to %q", v)
	}
	if again := postChatAuth(t, s, greedyChat); again.Choices[0].Message.Content != a.Choices[0].Message.Content {
		t.Fatal("bad uploads changed the answers")
	}
	code, body := call(t, h, "PUT", "/rft/weights?version=x%20y", good, auth...)
	if code != 400 {
		t.Errorf("bad version name: %d %s", code, body)
	}

	code, body = call(t, h, "PUT", "/rft/weights", good, append(auth, "X-Weight-Version", "step-000020")...)
	if code != 200 || decode[map[string]any](t, body)["weight_version"] != "step-000020" {
		t.Fatalf("upload: %d %s", code, body)
	}
	b := postChatAuth(t, s, greedyChat)
	ref := newServer(t, Options{ModelDir: dirB, Name: "tiny"})
	want := postChat(t, ref, greedyChat)
	if b.WeightVersion != "step-000020" || b.Choices[0].Message.Content != want.Choices[0].Message.Content {
		t.Errorf("after upload: %q (%s); served from the directory: %q", b.Choices[0].Message.Content, b.WeightVersion, want.Choices[0].Message.Content)
	}
	code, _ = call(t, h, "PUT", "/rft/weights", good, append(auth, "X-Weight-Version", "")...)
	if code != 200 || s.WeightVersion() != "v3" {
		t.Errorf("unnamed upload: %d, version %q", code, s.WeightVersion())
	}
}

func postChatAuth(t testing.TB, s *Server, body any) extChat {
	t.Helper()
	code, out := call(t, s.Handler(), "POST", "/v1/chat/completions", body, "Authorization", "Bearer k")
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, out)
	}
	return decode[extChat](t, out)
}

// streamChat opens a streaming chat on a real listener and returns a reader
// of its SSE lines.
func streamChat(t testing.TB, base string, body map[string]any) (*bufio.Reader, func()) {
	t.Helper()
	body["stream"] = true
	raw, _ := json.Marshal(body)
	resp, err := http.Post(base+"/v1/chat/completions", "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	return bufio.NewReader(resp.Body), func() { resp.Body.Close() }
}

// readStream reads SSE chunks to [DONE]: the text, the final chunk's
// weight version, and whether [DONE] came.
func readStream(t testing.TB, r *bufio.Reader) (text, version string, done bool) {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return text, version, false
		}
		data, ok := strings.CutPrefix(strings.TrimSpace(line), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			return text, version, true
		}
		var c sseChunk
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatalf("chunk %q: %v", data, err)
		}
		for _, ch := range c.Choices {
			text += ch.Delta.Content
		}
		if c.WeightVersion != "" {
			version = c.WeightVersion
		}
	}
}

// TestSwapInFlight: a request running during a swap finishes on the weights
// it started with, and says so.
func TestSwapInFlight(t *testing.T) {
	_, dirB := modelDirs(t)
	s := newServer(t, Options{Logger: quiet()})
	body := func() map[string]any {
		return map[string]any{"model": "tiny", "max_tokens": 120, "temperature": 0,
			"messages": []any{map[string]any{"role": "user", "content": "Write a long story."}}}
	}
	alone := postChat(t, s, body())
	base := listen(t, s)
	r, closeBody := streamChat(t, base, body())
	defer closeBody()
	if _, err := r.ReadString('\n'); err != nil { // the first chunk: the request runs
		t.Fatal(err)
	}
	if _, err := s.Reload(dirB, "new"); err != nil {
		t.Fatal(err)
	}
	text, version, done := readStream(t, r)
	first := alone.Choices[0].Message.Content
	if !done || version != "v1" || !strings.HasSuffix(first, text) || len(text) == 0 {
		t.Errorf("in flight across a swap: done %v, version %q, text %q; alone on v1: %q", done, version, text, first)
	}
	if after := postChat(t, s, body()); after.WeightVersion != "new" {
		t.Errorf("a request after the swap ran on %q", after.WeightVersion)
	}
}

// TestGracefulShutdown: cancelling Serve lets a running request finish and
// then refuses connections.
func TestGracefulShutdown(t *testing.T) {
	s := newServer(t, Options{Logger: quiet()})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln, 20*time.Second) }()

	r, closeBody := streamChat(t, base, map[string]any{"model": "tiny", "max_tokens": 60, "temperature": 0,
		"messages": []any{map[string]any{"role": "user", "content": "Keep talking."}}})
	defer closeBody()
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	cancel()
	_, _, done := readStream(t, r)
	if !done {
		t.Error("the request in flight did not finish")
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	if _, err := http.Get(base + "/"); err == nil {
		t.Error("the server still accepts connections")
	}
}
