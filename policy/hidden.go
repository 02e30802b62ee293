package policy

// The backbone API: the decoder without its LM head, for models that put
// their own head on the final hidden states (the Bradley-Terry reward model
// of reward/bt, value heads). Hidden and BackwardHidden are Forward and
// Backward with the head cut off, so everything they share (kernels,
// workspace, recompute) stays one implementation.

// Hidden runs the decoder over a packed batch without the LM head and returns
// the final-norm hidden states [n, d] (the input the LM head would read): a
// view into ws, valid until its next use. It keeps what BackwardHidden needs.
// b.Targets is not read.
func (m *Model[T]) Hidden(ws *Workspace[T], b Batch) ([]T, error) {
	c, p := m.Config, m.Params
	b.Targets = nil
	if err := b.Check(c); err != nil {
		return nil, err
	}
	n, d := len(b.Tokens), c.Hidden
	ws.ensure(c, n, b.Lens)
	ws.tokens, ws.lens, ws.targets = b.Tokens, b.Lens, nil
	embeddingForward(ws.resid[0][:n*d], p.Embed, b.Tokens, d)
	for l := range c.Layers {
		m.layerForward(ws, l)
	}
	hf := ws.hf[:n*d]
	rmsnormForward(hf, ws.rstdF[:n], ws.resid[c.Layers][:n*d], p.FinalNorm, n, d, c.RMSNormEps)
	return hf, nil
}

// BackwardHidden accumulates into grads the gradient of L = Σ dhidden·hidden
// over the hidden states that the last Hidden call returned (dhidden is
// [n, d]). The LM head receives no gradient; with tied embeddings the
// embedding still does, through the input lookup.
func (m *Model[T]) BackwardHidden(ws *Workspace[T], dhidden []T, grads *Params[T]) {
	c, p := m.Config, m.Params
	n, d := ws.n, c.Hidden
	dh := ws.dh[:n*d]
	clear(dh)
	rmsnormBackward(dh, grads.FinalNorm, dhidden[:n*d], ws.resid[c.Layers][:n*d], p.FinalNorm, ws.rstdF[:n], n, d)
	for l := c.Layers - 1; l >= 0; l-- {
		// The shared slot still holds the last layer from Hidden.
		if ws.recompute && l != c.Layers-1 {
			m.layerForward(ws, l)
		}
		m.layerBackward(ws, l, grads)
	}
	embeddingBackward(grads.Embed, dh, ws.tokens, d)
}
