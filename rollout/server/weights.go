package server

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/rft-dev/rft/policy"
)

// Reload loads the weights of dir ("" means the served model directory) and
// swaps them in. version names them; "" gives the next "vN". Requests
// already running finish on the old weights. The tokenizer and chat template
// stay those of the model directory.
func (s *Server) Reload(dir, version string) (string, error) {
	if dir == "" {
		dir = s.dir
	}
	if version != "" {
		if err := validVersion(version); err != nil {
			return "", err
		}
	}
	_, p, err := policy.LoadDir(dir)
	if err != nil {
		return "", err
	}
	return s.install(p, version)
}

// install checks p against the served architecture and swaps it in.
func (s *Server) install(p *policy.Params[float32], version string) (string, error) {
	if err := sameArchitecture(s.cfg, p.Config); err != nil {
		return "", err
	}
	for _, t := range p.Tensors {
		for _, v := range p.Data[t.Offset : t.Offset+t.Size] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return "", fmt.Errorf("tensor %s: holds %g", t.Name, v)
			}
		}
	}
	m, err := policy.NewModel(p)
	if err != nil {
		return "", err
	}
	s.swapMu.Lock()
	defer s.swapMu.Unlock()
	if version == "" {
		version = fmt.Sprintf("v%d", s.swaps+1)
	}
	if err := s.engine.Swap(m, version); err != nil {
		return "", err
	}
	s.swaps++
	s.weights, s.modifiedAt = version, time.Now()
	s.log.Info("server: weights swapped", "weight_version", version)
	return version, nil
}

// sameArchitecture requires new weights to fit the served model exactly:
// shapes, and everything else the forward pass reads from the config. The
// EOS list may differ (the server keeps the one it started with).
func sameArchitecture(have, got *policy.Config) error {
	a, b := *have, *got
	a.EOS, b.EOS, a.BOS, b.BOS = nil, nil, 0, 0
	if !reflect.DeepEqual(a, b) {
		return fmt.Errorf("the new weights' config.json describes another architecture than the served model (%s, d=%d, %d layers, vocab %d; got %s, d=%d, %d layers, vocab %d)",
			have.Architecture, have.Hidden, have.Layers, have.VocabSize, got.Architecture, got.Hidden, got.Layers, got.VocabSize)
	}
	return nil
}

func (s *Server) rftWeightsInfo(w http.ResponseWriter, r *http.Request) {
	version, modified := s.snapshot()
	writeJSON(w, http.StatusOK, map[string]any{"model": s.name, "weight_version": version, "modified_at": modified, "model_dir": s.dir})
}

// rftReload: POST /rft/reload with an optional body {"path": DIR,
// "version": NAME}.
func (s *Server) rftReload(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Path    string `json:"path"`
		Version string `json:"version"`
	}
	if r.ContentLength != 0 {
		if e := readJSON(w, r, &req); e != nil && e.msg != "missing request body" {
			ollamaError(w, e.status, e.msg)
			return
		}
	}
	start := time.Now()
	version, err := s.Reload(req.Path, req.Version)
	if err != nil {
		ollamaError(w, http.StatusBadRequest, "reload: "+err.Error())
		return
	}
	path := req.Path
	if path == "" {
		path = s.dir
	}
	writeJSON(w, http.StatusOK, map[string]any{"weight_version": version, "path": path, "load_duration": time.Since(start)})
}

// rftUpload: PUT /rft/weights with a model.safetensors body (the served
// architecture, every tensor, finite values). The version comes from the
// X-Weight-Version header or ?version=. Nothing changes unless the whole
// upload is valid.
func (s *Server) rftUpload(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	version := r.Header.Get("X-Weight-Version")
	if version == "" {
		version = r.URL.Query().Get("version")
	}
	if version != "" {
		if err := validVersion(version); err != nil {
			ollamaError(w, http.StatusBadRequest, "upload: "+err.Error())
			return
		}
	}
	// F64 is the widest dtype LoadDir converts; the header is small.
	limit := int64(s.params)*8 + 64<<20
	tmp, err := os.MkdirTemp("", "rft-upload-")
	if err != nil {
		ollamaError(w, http.StatusInternalServerError, err.Error())
		return
	}
	defer os.RemoveAll(tmp)
	if err := os.WriteFile(filepath.Join(tmp, "config.json"), s.configJSON, 0o644); err != nil {
		ollamaError(w, http.StatusInternalServerError, err.Error())
		return
	}
	f, err := os.Create(filepath.Join(tmp, "model.safetensors"))
	if err != nil {
		ollamaError(w, http.StatusInternalServerError, err.Error())
		return
	}
	n, err := io.Copy(f, http.MaxBytesReader(w, r.Body, limit))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			ollamaError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("upload: body exceeds %d bytes, more than the served model's weights can take", limit))
			return
		}
		ollamaError(w, http.StatusBadRequest, "upload: reading the body: "+err.Error())
		return
	}
	if n == 0 {
		ollamaError(w, http.StatusBadRequest, "upload: empty body; send model.safetensors")
		return
	}
	_, p, err := policy.LoadDir(tmp)
	if err != nil {
		ollamaError(w, http.StatusBadRequest, "upload: "+strings.ReplaceAll(err.Error(), tmp+string(filepath.Separator), ""))
		return
	}
	version, err = s.install(p, version)
	if err != nil {
		ollamaError(w, http.StatusBadRequest, "upload: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"weight_version": version, "bytes": n, "load_duration": time.Since(start)})
}
