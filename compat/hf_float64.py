"""Make transformers' Llama/Qwen2/Qwen3 really compute in float64.

Stock transformers (checked on 5.24) silently drops to float32 in three places
even after `model.double()`:

  * RMSNorm.forward does `hidden_states.to(torch.float32)` (meant as an upcast
    from bf16/fp16, a downcast for float64);
  * the rotary embedding builds inv_freq with dtype=torch.float and computes
    the angles and cos/sin in float32;
  * eager_attention_forward runs softmax with dtype=torch.float32.

A "float64" reference made that way is only good to ~1e-7 relative, and its
gradients even change with torch's thread count (the float32 reductions in
RMSNorm are split differently). `enable()` patches those three spots so that
float64 inputs are computed in float64 end to end; float32/bf16/fp16 inputs
take exactly the stock code path (same arithmetic as before). The maths is
unchanged: y = w * x / sqrt(mean(x^2) + eps); cos/sin of pos * inv_freq (inv
freq recomputed in float64 by the same rope formula, default or llama3);
softmax over keys.

`enable()` is idempotent and process-wide. Call `upgrade_rope(model)` after
`model.double()` to replace the float32 inv_freq buffers by float64 ones.
"""

from __future__ import annotations

import contextlib
import math

import torch
from torch import nn

from transformers.models.llama import modeling_llama
from transformers.models.qwen2 import modeling_qwen2
from transformers.models.qwen3 import modeling_qwen3

_MODULES = [
    (modeling_llama, "Llama"),
    (modeling_qwen2, "Qwen2"),
    (modeling_qwen3, "Qwen3"),
]
_enabled = False


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def _rmsnorm_forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
    input_dtype = hidden_states.dtype
    hidden_states = hidden_states.to(_compute_dtype(input_dtype))
    variance = hidden_states.pow(2).mean(-1, keepdim=True)
    hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
    return self.weight * hidden_states.to(input_dtype)


def _make_rotary_forward(orig):
    def forward(self, x, position_ids):
        if x.dtype != torch.float64:
            return orig(self, x, position_ids)
        freqs = position_ids[..., None].to(torch.float64) * self.inv_freq.to(device=x.device, dtype=torch.float64)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos = emb.cos() * self.attention_scaling
        sin = emb.sin() * self.attention_scaling
        return cos, sin

    return forward


def _make_eager_attention(mod):
    repeat_kv = mod.repeat_kv

    def eager_attention_forward(module, query, key, value, attention_mask, scaling, dropout=0.0, **kwargs):
        key_states = repeat_kv(key, module.num_key_value_groups)
        value_states = repeat_kv(value, module.num_key_value_groups)
        attn_weights = torch.matmul(query, key_states.transpose(2, 3)) * scaling
        if attention_mask is not None:
            attn_weights = attn_weights + attention_mask
        attn_weights = nn.functional.softmax(attn_weights, dim=-1, dtype=_compute_dtype(query.dtype)).to(query.dtype)
        attn_weights = nn.functional.dropout(attn_weights, p=dropout, training=module.training)
        attn_output = torch.matmul(attn_weights, value_states)
        attn_output = attn_output.transpose(1, 2).contiguous()
        return attn_output, attn_weights

    return eager_attention_forward


_originals: list = []  # (object, attribute, original value)


def enable() -> None:
    """Patch transformers so float64 models compute in float64 (idempotent)."""
    global _enabled
    if _enabled:
        return
    for mod, prefix in _MODULES:
        norm = getattr(mod, f"{prefix}RMSNorm")
        rot = getattr(mod, f"{prefix}RotaryEmbedding")
        _originals.extend(
            [
                (norm, "forward", norm.forward),
                (rot, "forward", rot.forward),
                (mod, "eager_attention_forward", mod.eager_attention_forward),
            ]
        )
        norm.forward = _rmsnorm_forward
        rot.forward = _make_rotary_forward(rot.forward)
        mod.eager_attention_forward = _make_eager_attention(mod)
    _enabled = True


def disable() -> None:
    """Restore the stock transformers code."""
    global _enabled
    while _originals:
        obj, attr, val = _originals.pop()
        setattr(obj, attr, val)
    _enabled = False


@contextlib.contextmanager
def disabled():
    """Run a block with stock transformers, re-enabling afterwards if it was enabled."""
    was = _enabled
    disable()
    try:
        yield
    finally:
        if was:
            enable()


def inv_freq_f64(config) -> torch.Tensor:
    """RoPE inverse frequencies in float64 (rope types 'default' and 'llama3')."""
    rp = config.rope_parameters
    base = float(rp["rope_theta"])
    dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    dim = int(dim * rp.get("partial_rotary_factor", 1.0))
    inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    rope_type = rp.get("rope_type", "default")
    if rope_type == "default":
        return inv
    if rope_type != "llama3":
        raise NotImplementedError(f"rope_type {rope_type!r}")
    factor = float(rp["factor"])
    low, high = float(rp["low_freq_factor"]), float(rp["high_freq_factor"])
    old_ctx = float(rp["original_max_position_embeddings"])
    low_wavelen, high_wavelen = old_ctx / low, old_ctx / high
    wavelen = 2 * math.pi / inv
    out = torch.where(wavelen > low_wavelen, inv / factor, inv)
    smooth = (old_ctx / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * out / factor + smooth * out
    medium = (wavelen >= high_wavelen) & (wavelen <= low_wavelen)
    return torch.where(medium, smoothed, out)


@torch.no_grad()
def upgrade_rope(model: nn.Module) -> None:
    """Replace float32 inv_freq buffers with float64 ones (after model.double())."""
    for m in model.modules():
        if type(m).__name__.endswith("RotaryEmbedding") and hasattr(m, "inv_freq"):
            assert m.attention_scaling == 1.0
            f64 = inv_freq_f64(m.config).to(m.inv_freq.device)
            # Same formula as transformers' (float32) one.
            torch.testing.assert_close(f64.float(), m.inv_freq.float(), rtol=2e-6, atol=0)
            m.inv_freq = f64
            m.original_inv_freq = f64.clone()
