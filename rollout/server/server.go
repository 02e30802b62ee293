package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rft-dev/rft/policy"
	"github.com/rft-dev/rft/policy/tokenizer"
)

// Limits on requests. n follows OpenAI's bound; the engine accepts more, but
// a request for thousands of samples is a mistake, not a workload.
const (
	maxN            = 128
	maxTopLogprobs  = 20
	maxJSONBody     = 16 << 20 // request bodies other than weight uploads
	maxVersionBytes = 128
)

// Options configure a Server.
type Options struct {
	ModelDir string // Hugging Face checkpoint directory with tokenizer.json
	Name     string // served model name; "" means the directory's base name
	APIKey   string // when set, every route but / needs "Authorization: Bearer KEY"
	Version  string // reported by /api/version; "" means "0.0.0"
	Logger   *slog.Logger
}

// Server serves one model over the Ollama and OpenAI HTTP APIs. Its weights
// can be swapped while it runs (Reload, SwapWeights); each response names the
// weight version that produced it.
type Server struct {
	name, dir, apiKey, version string
	log                        *slog.Logger

	engine     *policy.Engine
	cfg        *policy.Config // architecture of the served model; swaps must keep it
	configJSON []byte         // config.json as read, for validating uploads
	tok        *tokenizer.Tokenizer
	tmpl       tokenizer.ChatTemplate
	eos        []int // ids that end a sample: the model's EOS list and the template's end-of-turn token
	params     int   // stored parameter count
	dtype      string
	startedAt  time.Time

	swapMu     sync.Mutex // serialises swaps; version names below
	weights    string     // current weight version
	swaps      int        // weight versions loaded so far (the initial one included)
	modifiedAt time.Time

	handler http.Handler
}

// New loads the model directory and builds the server.
func New(opts Options) (*Server, error) {
	start := time.Now()
	if opts.ModelDir == "" {
		return nil, errors.New("server: no model directory")
	}
	dir := filepath.Clean(opts.ModelDir)
	info, err := policy.Inspect(dir)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if info.TokenizerFile == "" {
		return nil, fmt.Errorf("server: %s: no tokenizer.json", dir)
	}
	tok, err := tokenizer.Load(info.TokenizerFile)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	tmpl, err := tokenizer.LoadChatTemplate(dir)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	configJSON, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	m, err := loadModel(dir)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s := &Server{
		name:       opts.Name,
		dir:        dir,
		apiKey:     opts.APIKey,
		version:    opts.Version,
		log:        opts.Logger,
		cfg:        m.Config,
		configJSON: configJSON,
		tok:        tok,
		tmpl:       tmpl,
		params:     info.Params,
		dtype:      info.DType,
		startedAt:  start,
		weights:    "v1",
		swaps:      1,
		modifiedAt: time.Now(),
	}
	if s.name == "" {
		s.name = filepath.Base(dir)
	}
	if s.version == "" {
		s.version = "0.0.0"
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if tmpl.Warning != "" {
		s.log.Warn(tmpl.Warning)
	}
	s.eos = slices.Clone(m.Config.EOS)
	if id, ok := tok.TokenID(tmpl.EndOfTurnToken()); ok && id < m.Config.VocabSize && !slices.Contains(s.eos, id) {
		s.eos = append(s.eos, id)
	}
	s.engine = policy.NewEngine(m, s.weights)
	s.handler = s.routes()
	return s, nil
}

// Handler is the HTTP handler of every route.
func (s *Server) Handler() http.Handler { return s.handler }

// Name is the served model's name.
func (s *Server) Name() string { return s.name }

// Engine is the generation engine behind the server.
func (s *Server) Engine() *policy.Engine { return s.engine }

// WeightVersion names the weights new requests run on.
func (s *Server) WeightVersion() string {
	s.swapMu.Lock()
	defer s.swapMu.Unlock()
	return s.weights
}

func loadModel(dir string) (*policy.Model[float32], error) {
	_, p, err := policy.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	return policy.NewModel(p)
}

// routes registers every endpoint behind the recover and auth middleware.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	running := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("Ollama is running"))
	}
	mux.HandleFunc("GET /{$}", running)
	mux.HandleFunc("HEAD /{$}", running)

	mux.HandleFunc("GET /api/version", s.ollamaVersion)
	mux.HandleFunc("HEAD /api/version", s.ollamaVersion)
	mux.HandleFunc("GET /api/tags", s.ollamaTags)
	mux.HandleFunc("HEAD /api/tags", s.ollamaTags)
	mux.HandleFunc("POST /api/show", s.ollamaShow)
	mux.HandleFunc("GET /api/ps", s.ollamaPs)
	mux.HandleFunc("POST /api/generate", s.ollamaGenerate)
	mux.HandleFunc("POST /api/chat", s.ollamaChat)

	mux.HandleFunc("GET /v1/models", s.openaiModels)
	mux.HandleFunc("GET /v1/models/{model...}", s.openaiModel)
	mux.HandleFunc("POST /v1/chat/completions", s.openaiChat)
	mux.HandleFunc("POST /v1/completions", s.openaiCompletions)
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		openaiError(w, http.StatusNotFound, fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path), "invalid_request_error", "", nil)
	})

	mux.HandleFunc("GET /rft/weights", s.rftWeightsInfo)
	mux.HandleFunc("POST /rft/reload", s.rftReload)
	mux.HandleFunc("PUT /rft/weights", s.rftUpload)
	return s.recoverer(s.auth(mux))
}

// isOpenAI tells which error shape a path's API uses.
func isOpenAI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/v1/") }

// writeAPIError writes err in the shape of the request's API.
func writeAPIError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if isOpenAI(r) {
		typ := "invalid_request_error"
		if status >= 500 {
			typ = "server_error"
		}
		openaiError(w, status, msg, typ, "", nil)
		return
	}
	ollamaError(w, status, msg)
}

// recoverer turns a panic in a handler into a 500 in the API's error shape,
// so that one bad request cannot take the server down.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &trackingWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v) // net/http's way to abort a response silently
			}
			s.log.Error("server: panic in handler", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			if !tw.wrote {
				writeAPIError(tw, r, http.StatusInternalServerError, fmt.Sprintf("internal error: %v", v))
			}
		}()
		next.ServeHTTP(tw, r)
	})
}

// trackingWriter records whether a response has started, so the recoverer
// does not write a second status line.
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (t *trackingWriter) WriteHeader(code int) {
	t.wrote = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackingWriter) Write(b []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(b)
}

// Flush lets streaming handlers flush through the wrapper.
func (t *trackingWriter) Flush() {
	if f, ok := t.ResponseWriter.(http.Flusher); ok {
		t.wrote = true
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// auth checks "Authorization: Bearer KEY" on every route except "/", which
// health checks and Ollama clients probe without credentials.
func (s *Server) auth(next http.Handler) http.Handler {
	if s.apiKey == "" {
		return next
	}
	key := []byte(s.apiKey)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			next.ServeHTTP(w, r)
			return
		}
		h := r.Header.Get("Authorization")
		got, ok := strings.CutPrefix(h, "Bearer ")
		if ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), key) == 1 {
			next.ServeHTTP(w, r)
			return
		}
		if isOpenAI(r) {
			msg := "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
			var code any
			if h != "" {
				msg, code = "Incorrect API key provided.", "invalid_api_key"
			}
			openaiError(w, http.StatusUnauthorized, msg, "invalid_request_error", "", code)
			return
		}
		ollamaError(w, http.StatusUnauthorized, "unauthorized")
	})
}

// modelMatches reports whether a requested name means the served model.
// Ollama clients add the default tag ":latest"; either spelling matches.
func (s *Server) modelMatches(name string) bool {
	trim := func(n string) string { return strings.TrimSuffix(n, ":latest") }
	return name != "" && trim(name) == trim(s.name)
}

// ollamaName is the served name as Ollama lists it, with a tag.
func (s *Server) ollamaName() string {
	if strings.Contains(s.name, ":") {
		return s.name
	}
	return s.name + ":latest"
}

// Serve answers requests on ln until ctx ends, then shuts down gracefully:
// it stops accepting connections and lets requests in flight finish for up
// to grace, after which it closes the remaining connections (their
// generations are cancelled).
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := hs.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("server: requests still running at the end of the grace period; closing their connections", "grace", grace)
		err = hs.Close()
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
