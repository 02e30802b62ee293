package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/rft-dev/rft/policy"
	"github.com/rft-dev/rft/policy/tokenizer"
)

// The test model: the tiny preset with rft's test tokenizer, random weights.
// Its answers are noise, but deterministic noise, which is what the
// protocol tests need.
var (
	fixtureOnce sync.Once
	fixtureRoot string
	fixtureErr  error
)

const tokenizerFixture = "../../testdata/tokenizer/rft/tokenizer.json"

// writeModel writes a tiny model directory with weights drawn from seed.
func writeModel(dir string, seed uint64) error {
	tok, err := tokenizer.Load(tokenizerFixture)
	if err != nil {
		return err
	}
	c, err := policy.Preset("tiny")
	if err != nil {
		return err
	}
	c.VocabSize = tok.VocabSize()
	if id, ok := tok.TokenID(tokenizer.EndOfText); ok {
		c.EOS = []int{id}
	}
	if err := policy.SaveDir(dir, policy.InitParams[float32](c, seed), nil); err != nil {
		return err
	}
	raw, err := os.ReadFile(tokenizerFixture)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "tokenizer.json"), raw, 0o644)
}

// modelDirs returns the shared fixture directories: "tiny" (seed 1) and
// "tiny-b" (the same architecture, seed 2).
func modelDirs(t testing.TB) (a, b string) {
	t.Helper()
	fixtureOnce.Do(func() {
		fixtureRoot, fixtureErr = os.MkdirTemp("", "rft-server-test-")
		if fixtureErr != nil {
			return
		}
		if fixtureErr = writeModel(filepath.Join(fixtureRoot, "tiny"), 1); fixtureErr != nil {
			return
		}
		fixtureErr = writeModel(filepath.Join(fixtureRoot, "tiny-b"), 2)
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return filepath.Join(fixtureRoot, "tiny"), filepath.Join(fixtureRoot, "tiny-b")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureRoot != "" {
		os.RemoveAll(fixtureRoot)
	}
	os.Exit(code)
}

// newServer builds a server over the shared model directory: every test gets its
// own Server (own engine and weight versions).
func newServer(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.ModelDir == "" {
		opts.ModelDir, _ = modelDirs(t)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// listen serves s on a real loopback listener and returns its base URL.
func listen(t testing.TB, s *Server) string {
	t.Helper()
	ts := httptest.NewUnstartedServer(s.Handler())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.Listener.Close()
	ts.Listener = ln
	ts.Start()
	t.Cleanup(ts.Close)
	return ts.URL
}

// call sends one request to the handler directly and returns status and body.
func call(t testing.TB, h http.Handler, method, path string, body any, header ...string) (int, []byte) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = bytes.NewBufferString(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, r)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// decode unmarshals a JSON body or fails.
func decode[T any](t testing.TB, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	return v
}
