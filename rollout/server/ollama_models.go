package server

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"
)

func (s *Server) ollamaVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"version": s.version})
}

type ollamaDetails struct {
	ParentModel       string   `json:"parent_model"`
	Format            string   `json:"format"`
	Family            string   `json:"family"`
	Families          []string `json:"families"`
	ParameterSize     string   `json:"parameter_size"`
	QuantizationLevel string   `json:"quantization_level"`
}

// family is the Ollama/GGUF architecture name of the served model.
func (s *Server) family() string {
	switch s.cfg.Architecture {
	case "LlamaForCausalLM":
		return "llama"
	case "Qwen2ForCausalLM":
		return "qwen2"
	case "Qwen3ForCausalLM":
		return "qwen3"
	}
	return strings.ToLower(strings.TrimSuffix(s.cfg.Architecture, "ForCausalLM"))
}

func (s *Server) details() ollamaDetails {
	f := s.family()
	return ollamaDetails{Format: "safetensors", Family: f, Families: []string{f},
		ParameterSize: humanParams(s.params), QuantizationLevel: "F32"}
}

// digest identifies the served model and weight version.
func (s *Server) digest(version string) string {
	h := sha256.New()
	h.Write(s.configJSON)
	h.Write([]byte(version))
	return hex.EncodeToString(h.Sum(nil))
}

func (s *Server) snapshot() (version string, modified time.Time) {
	s.swapMu.Lock()
	defer s.swapMu.Unlock()
	return s.weights, s.modifiedAt
}

func (s *Server) ollamaTags(w http.ResponseWriter, r *http.Request) {
	version, modified := s.snapshot()
	writeJSON(w, http.StatusOK, map[string]any{"models": []any{map[string]any{
		"name": s.ollamaName(), "model": s.ollamaName(), "modified_at": modified,
		"size": int64(s.params) * 4, "digest": s.digest(version), "details": s.details(),
		"weight_version": version,
	}}})
}

func (s *Server) ollamaPs(w http.ResponseWriter, r *http.Request) {
	version, _ := s.snapshot()
	writeJSON(w, http.StatusOK, map[string]any{"models": []any{map[string]any{
		"name": s.ollamaName(), "model": s.ollamaName(), "size": int64(s.params) * 4,
		"digest": s.digest(version), "details": s.details(),
		// Loaded for as long as the server runs.
		"expires_at": time.Now().Add(100 * 365 * 24 * time.Hour).UTC().Truncate(time.Second),
		"size_vram":  0, "context_length": s.cfg.MaxPositions, "weight_version": version,
	}}})
}

func (s *Server) ollamaShow(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model string `json:"model"`
		Name  string `json:"name"`
	}
	if e := readJSON(w, r, &req); e != nil {
		ollamaError(w, e.status, e.msg)
		return
	}
	if req.Model == "" {
		req.Model = req.Name
	}
	if req.Model == "" {
		ollamaError(w, http.StatusBadRequest, "model is required")
		return
	}
	if !s.modelMatches(req.Model) {
		ollamaError(w, http.StatusNotFound, fmt.Sprintf("model '%s' not found", req.Model))
		return
	}
	version, modified := s.snapshot()
	c, f := s.cfg, s.family()
	info := map[string]any{
		"general.architecture":                  f,
		"general.parameter_count":               s.params,
		f + ".context_length":                   c.MaxPositions,
		f + ".embedding_length":                 c.Hidden,
		f + ".block_count":                      c.Layers,
		f + ".feed_forward_length":              c.Intermediate,
		f + ".attention.head_count":             c.Heads,
		f + ".attention.head_count_kv":          c.KVHeads,
		f + ".attention.key_length":             c.HeadDim,
		f + ".attention.value_length":           c.HeadDim,
		f + ".attention.layer_norm_rms_epsilon": c.RMSNormEps,
		f + ".rope.freq_base":                   c.RopeTheta,
		f + ".vocab_size":                       c.VocabSize,
	}
	stop := s.tmpl.EndOfTurnToken()
	params := fmt.Sprintf("stop %q\ntemperature %g\ntop_k %d\ntop_p %g", stop, ollamaTemperature, ollamaTopK, ollamaTopP)
	writeJSON(w, http.StatusOK, map[string]any{
		"modelfile":      fmt.Sprintf("# Served by rft from %s\nFROM %s\n%s\n", s.dir, s.dir, strings.ReplaceAll("PARAMETER "+params, "\n", "\nPARAMETER ")),
		"parameters":     params,
		"template":       "{{ .Prompt }}",
		"details":        s.details(),
		"model_info":     info,
		"capabilities":   []string{"completion"},
		"modified_at":    modified,
		"weight_version": version,
	})
}

// humanParams writes a parameter count as Ollama does ("8.0B", "5.1M").
func humanParams(n int) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}
