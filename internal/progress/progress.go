// Package progress draws a one-line progress bar with rate and ETA on a
// terminal, and falls back to a plain line every few seconds when the output
// is a file or pipe (CI logs), so logs stay readable either way.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Bar reports progress of a job of Total units.
type Bar struct {
	w         io.Writer
	label     string
	total     int
	start     time.Time
	startDone int
	last      time.Time
	tty       bool
	every     time.Duration
}

// New starts a bar at done units out of total (done > 0 when resuming, so
// the rate counts only this session's work). A nil writer disables it.
func New(w io.Writer, label string, done, total int) *Bar {
	b := &Bar{w: w, label: label, total: total, start: time.Now(), startDone: done, every: 5 * time.Second}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			b.tty, b.every = true, 200*time.Millisecond
		}
	}
	return b
}

// Update redraws the bar at done units; extra is appended (e.g. "loss 2.31").
// rateUnit names what rate counts (tokens per second, say) and rate is its value.
func (b *Bar) Update(done int, rate float64, rateUnit, extra string) {
	if b == nil || b.w == nil {
		return
	}
	now := time.Now()
	if done < b.total && now.Sub(b.last) < b.every {
		return
	}
	b.last = now
	frac := float64(done) / float64(max(b.total, 1))
	eta := "?"
	if d := done - b.startDone; d > 0 {
		left := time.Duration(float64(now.Sub(b.start)) / float64(d) * float64(b.total-done))
		eta = left.Round(time.Second).String()
	}
	const width = 24
	fill := int(frac * width)
	bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
	line := fmt.Sprintf("%s %d/%d [%s] %3.0f%% %.0f %s ETA %s %s", b.label, done, b.total, bar, 100*frac, rate, rateUnit, eta, extra)
	if b.tty {
		fmt.Fprintf(b.w, "\r\033[K%s", line)
		if done >= b.total {
			fmt.Fprintln(b.w)
		}
		return
	}
	fmt.Fprintln(b.w, line)
}
