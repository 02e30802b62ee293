package pretrain

import "math"

// Trigram is an interpolated Kneser-Ney trigram model over token ids
// (Chen & Goodman, 1998, with one discount per order): the baseline the
// pretrained model's held-out loss is compared with. Unseen contexts back off
// to the bigram, then to continuation counts, then to uniform.
type Trigram struct {
	V            int
	D            float64
	tri          map[[3]int]float64
	ctx2, types2 map[[2]int]float64 // c(a,b,·) and N1+(a,b,·)
	bi           map[[2]int]float64 // continuation counts N1+(·,b,c)
	ctx1, types1 map[int]float64    // Σ_c N1+(·,b,c) and N1+(b,·) over those
	uni          map[int]float64    // N1+(·,c): distinct left neighbours of c
	uniTotal     float64            // N1+(·,·): bigram types
	uniTypes     float64            // tokens with uni > 0
}

// start marks positions before a sequence's first token.
const start = -1

// FitTrigram counts trigrams in the sequences (each restarts its context).
func FitTrigram(seqs [][]int, vocab int) *Trigram {
	m := &Trigram{V: vocab, D: 0.75, tri: map[[3]int]float64{}, ctx2: map[[2]int]float64{}, types2: map[[2]int]float64{},
		bi: map[[2]int]float64{}, ctx1: map[int]float64{}, types1: map[int]float64{}, uni: map[int]float64{}}
	for _, s := range seqs {
		a, b := start, start
		for _, c := range s {
			k := [3]int{a, b, c}
			if m.tri[k] == 0 {
				m.types2[[2]int{a, b}]++
				if m.bi[[2]int{b, c}] == 0 {
					m.types1[b]++
					if m.uni[c] == 0 {
						m.uniTypes++
					}
					m.uni[c]++
					m.uniTotal++
				}
				m.bi[[2]int{b, c}]++
				m.ctx1[b]++
			}
			m.tri[k]++
			m.ctx2[[2]int{a, b}]++
			a, b = b, c
		}
	}
	return m
}

// Prob is P(c | a, b).
func (m *Trigram) Prob(a, b, c int) float64 {
	// The unigram level interpolates with uniform the same way, so that no
	// token has probability 0.
	p := 1 / float64(m.V)
	if m.uniTotal > 0 {
		p = math.Max(m.uni[c]-m.D, 0)/m.uniTotal + m.D*m.uniTypes/m.uniTotal*p
	}
	if n := m.ctx1[b]; n > 0 {
		p = math.Max(m.bi[[2]int{b, c}]-m.D, 0)/n + m.D*m.types1[b]/n*p
	}
	if n := m.ctx2[[2]int{a, b}]; n > 0 {
		p = math.Max(m.tri[[3]int{a, b, c}]-m.D, 0)/n + m.D*m.types2[[2]int{a, b}]/n*p
	}
	return p
}

// Loss is the mean negative log-likelihood (nats per token) of every target
// of the sequences, predicting token i from tokens i−2 and i−1 of its own
// sequence, exactly the positions the transformer's eval loss covers.
func (m *Trigram) Loss(seqs [][]int, targets [][]int) float64 {
	sum, n := 0.0, 0
	for si, s := range seqs {
		for i, t := range targets[si] {
			if t < 0 {
				continue
			}
			a, b := start, s[i]
			if i > 0 {
				a = s[i-1]
			}
			sum -= math.Log(m.Prob(a, b, t))
			n++
		}
	}
	return sum / float64(max(n, 1))
}
