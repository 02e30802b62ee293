package rubric

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Cache is the verification cache: one append-only JSONL file in a directory,
// shared by every run and process that opens the same directory.
//
// Crash safety: each entry is one write(2) of one line to a file opened with
// O_APPEND, so concurrent appenders (goroutines or processes) never interleave
// within a line; a crash can only tear the last line, which readers skip and
// the next writer terminates before appending. Entries are fsynced by a
// background flush every SyncInterval and on Close: a crash loses at most the
// last interval's entries, which only costs their calls again.
//
// Sharing: a miss first reads whatever other processes appended since the
// last read, so concurrent jobs profit from each other's verdicts.
type Cache struct {
	path string
	f    *os.File

	mu      sync.Mutex
	m       map[string]CacheEntry
	readOff int64 // bytes of the file consumed into m
	torn    int   // unparsable lines skipped
	needNL  bool  // the file ends in a torn line: terminate it first
	dirty   bool
	closed  bool

	hits, misses atomic.Int64
	stop         chan struct{}
	done         chan struct{}
}

// CacheEntry is one cached answer: a criterion's verdict, or a holistic score.
type CacheEntry struct {
	Key   string   `json:"k"`
	Met   *bool    `json:"met,omitempty"`
	Score *float64 `json:"score,omitempty"`
	Raw   string   `json:"raw,omitempty"`
}

// CacheStats reports a cache's use since it was opened.
type CacheStats struct {
	Entries int     `json:"entries"`
	Hits    int64   `json:"hits"`
	Misses  int64   `json:"misses"`
	HitRate float64 `json:"hit_rate"`
	Torn    int     `json:"torn_lines"`
}

// SyncInterval is how often a cache with new entries is fsynced.
var SyncInterval = 200 * time.Millisecond

// OpenCache opens (creating) the cache in dir.
func OpenCache(dir string) (*Cache, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("verification cache: %w", err)
	}
	path := filepath.Join(dir, "verdicts.jsonl")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("verification cache: %w", err)
	}
	c := &Cache{path: path, f: f, m: map[string]CacheEntry{}, stop: make(chan struct{}), done: make(chan struct{})}
	c.mu.Lock()
	err = c.refreshLocked()
	if err == nil {
		// A last line without its newline was torn by a crash.
		var size int64
		if st, e := f.Stat(); e == nil {
			size = st.Size()
		}
		if size > 0 {
			b := make([]byte, 1)
			if _, e := f.ReadAt(b, size-1); e == nil && b[0] != '\n' {
				c.needNL = true
			}
		}
	}
	c.mu.Unlock()
	if err != nil {
		f.Close()
		return nil, err
	}
	go c.syncLoop()
	return c, nil
}

// refreshLocked reads complete lines appended since the last read.
func (c *Cache) refreshLocked() error {
	st, err := c.f.Stat()
	if err != nil {
		return fmt.Errorf("verification cache: %w", err)
	}
	if st.Size() <= c.readOff {
		return nil
	}
	buf := make([]byte, st.Size()-c.readOff)
	n, err := c.f.ReadAt(buf, c.readOff)
	if err != nil && err != io.EOF {
		return fmt.Errorf("verification cache: %w", err)
	}
	buf = buf[:n]
	last := bytes.LastIndexByte(buf, '\n')
	if last < 0 {
		return nil // only a partial line so far
	}
	for _, line := range bytes.Split(buf[:last], []byte{'\n'}) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e CacheEntry
		if json.Unmarshal(line, &e) != nil || e.Key == "" {
			c.torn++
			continue
		}
		c.m[e.Key] = e
	}
	c.readOff += int64(last + 1)
	return nil
}

// Get looks a key up, counting the hit or miss.
func (c *Cache) Get(key string) (CacheEntry, bool) {
	c.mu.Lock()
	e, ok := c.m[key]
	if !ok && !c.closed {
		_ = c.refreshLocked() // another process may have answered it
		e, ok = c.m[key]
	}
	c.mu.Unlock()
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return e, ok
}

// Put appends an entry (one write of one line).
func (c *Cache) Put(e CacheEntry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("verification cache: closed")
	}
	if c.needNL {
		line = append([]byte{'\n'}, line...)
		c.needNL = false
	}
	if _, err := c.f.Write(line); err != nil {
		return fmt.Errorf("verification cache: %w", err)
	}
	c.m[e.Key] = e
	c.dirty = true
	return nil
}

func (c *Cache) syncLoop() {
	defer close(c.done)
	t := time.NewTicker(SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.Sync()
		}
	}
}

// Sync fsyncs the entries written so far.
func (c *Cache) Sync() error {
	c.mu.Lock()
	dirty := c.dirty && !c.closed
	c.dirty = false
	c.mu.Unlock()
	if !dirty {
		return nil
	}
	return c.f.Sync()
}

// Close fsyncs and closes the cache.
func (c *Cache) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	close(c.stop)
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	err := c.f.Sync()
	if cerr := c.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Stats reports entries, hits, misses and torn lines skipped.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	s := CacheStats{Entries: len(c.m), Torn: c.torn}
	c.mu.Unlock()
	s.Hits, s.Misses = c.hits.Load(), c.misses.Load()
	if s.Hits+s.Misses > 0 {
		s.HitRate = float64(s.Hits) / float64(s.Hits+s.Misses)
	}
	return s
}

// keyHasher builds cache keys from length-prefixed fields, so that no two
// different field lists hash alike.
type keyHasher struct{ b []byte }

func (k *keyHasher) add(fields ...string) *keyHasher {
	for _, f := range fields {
		k.b = strconv.AppendInt(k.b, int64(len(f)), 10)
		k.b = append(k.b, ':')
		k.b = append(k.b, f...)
	}
	return k
}

func (k *keyHasher) addCriterion(c *Criterion) *keyHasher {
	return k.add(c.ID, c.Text, strconv.FormatFloat(c.Weight, 'g', -1, 64))
}

func (k *keyHasher) sum() string {
	h := sha256.Sum256(k.b)
	return hex.EncodeToString(h[:])
}

// VerdictKey is the cache key of one criterion's verdict: everything that can
// change it. The verifier's fingerprint (model, parameters, templates), the
// mode, the prompt, the response and the criterion; in batched and chunk
// modes the other criteria are in the same call, so the whole rubric too.
func VerdictKey(fingerprint string, mode Mode, prompt, response string, r *Rubric, c *Criterion) string {
	k := (&keyHasher{}).add("verdict/v1", fingerprint, string(mode), prompt, response).addCriterion(c)
	if mode != ModePerCriterion {
		for i := range r.Criteria {
			k.addCriterion(&r.Criteria[i])
		}
	}
	return k.sum()
}

// ScoreKey is the cache key of a holistic (implicit) score.
func ScoreKey(fingerprint, prompt, response string, r *Rubric) string {
	k := (&keyHasher{}).add("score/v1", fingerprint, prompt, response)
	for i := range r.Criteria {
		k.addCriterion(&r.Criteria[i])
	}
	return k.sum()
}
