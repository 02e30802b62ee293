package replicate

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/rft-dev/rft/internal/atomicfile"
)

// Files of a replicate run directory.
const (
	FrozenFile = "frozen.json"   // the manifest: config, arms, seeds, simulator, claims
	HashFile   = "frozen.sha256" // sha256 of frozen.json, in sha256sum's format
	doneFile   = "done.json"     // in an arm's seed directory: the arm finished
	curveFile  = "curve.jsonl"   // held-out evaluations of an arm
	probeFile  = "probe.json"    // the reward-accuracy probe of an arm's reward
	artFile    = "artifacts.json"
)

// Manifest is what a run freezes before any arm runs: what will be run and
// what it will be judged by. The report reads it, never the live config.
type Manifest struct {
	Config    string         `json:"config"` // the resolved job, as config.yaml holds it
	Arms      []string       `json:"arms"`
	Seeds     []uint64       `json:"seeds"`
	Simulator map[string]any `json:"simulator"` // the simulator's parameters and a fingerprint of its output
	Claims    []Claim        `json:"claims"`
}

// encode is the manifest's canonical bytes (encoding/json sorts map keys).
func (m *Manifest) encode() ([]byte, error) {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return append(data, '\n'), nil
}

// Hash is the manifest's sha256, hex.
func (m *Manifest) Hash() (string, error) {
	data, err := m.encode()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// ErrFrozenDiffers means a run directory was frozen with another manifest.
var ErrFrozenDiffers = errors.New("the run directory was frozen with another config, simulator or claims")

// Freeze writes the manifest and its hash into dir, or, when dir already
// holds a frozen run (a resume), checks that it is the same manifest and
// that frozen.json still has the hash it was frozen with. It returns the
// hash.
func Freeze(dir string, m *Manifest) (string, error) {
	data, err := m.encode()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:])
	_, h, err := readFrozen(dir)
	switch {
	case err == nil:
		// The stored bytes are compared, not a re-encoding of what was read
		// back: JSON numbers and maps do not round-trip byte for byte.
		if h != hash {
			return "", fmt.Errorf("%s: %w (frozen %s, now %s); resume with the same config or choose another --out", filepath.Join(dir, FrozenFile), ErrFrozenDiffers, short(h), short(hash))
		}
		return hash, nil
	case !errors.Is(err, os.ErrNotExist):
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, FrozenFile), data, 0o444); err != nil {
		return "", err
	}
	line := fmt.Sprintf("%s  %s\n", hash, FrozenFile)
	if err := atomicfile.WriteBytes(filepath.Join(dir, HashFile), []byte(line), 0o444); err != nil {
		return "", err
	}
	return hash, nil
}

// ReadFrozen reads dir's manifest and checks it against its hash file.
func ReadFrozen(dir string) (*Manifest, error) {
	m, _, err := readFrozen(dir)
	return m, err
}

func readFrozen(dir string) (*Manifest, string, error) {
	path := filepath.Join(dir, FrozenFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	line, err := os.ReadFile(filepath.Join(dir, HashFile))
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	want, _, _ := strings.Cut(strings.TrimSpace(string(line)), " ")
	sum := sha256.Sum256(data)
	got := hex.EncodeToString(sum[:])
	if got != want {
		return nil, "", fmt.Errorf("%s: sha256 %s, but %s says %s: the frozen manifest was edited", path, short(got), HashFile, short(want))
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return &m, got, nil
}

func short(h string) string { return h[:min(12, len(h))] }
