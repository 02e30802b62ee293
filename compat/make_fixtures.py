#!/usr/bin/env python3
"""Generate the Hugging Face golden fixtures under testdata/hf/.

For each tiny, randomly initialised model this writes testdata/hf/<name>/:

  config.json, generation_config.json, model.safetensors
      exactly what `model.save_pretrained(dir, safe_serialization=True)` writes
      (float32 weights).
  golden.safetensors
      reference tensors computed by transformers + torch in float64 (see NOTES).
  config.legacy.json
      the same config in the transformers 4.x key layout (rope_theta,
      rope_scaling, torch_dtype), for testing the Go config parser.
  golden.json
      versions, seed, shapes, loss value and a description of every tensor.

Everything is deterministic (fixed seeds, CPU, float64 reference maths); nothing
is downloaded. Run with the compat venv:

    compat/.venv/bin/python compat/make_fixtures.py [--out testdata/hf]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import transformers
import safetensors
from safetensors import safe_open
from safetensors.torch import save_file
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_float64  # noqa: E402
from transformers import (  # noqa: E402
    LlamaConfig,
    LlamaForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen3Config,
    Qwen3ForCausalLM,
)

SEED = 1234
BATCH = 2
SEQ = 12
TEMPERATURE = 0.7

# Shared tiny sizes.
VOCAB = 96
HIDDEN = 64
LAYERS = 2
HEADS = 4
KV_HEADS = 2
HEAD_DIM = 16
INTERMEDIATE = 176
MAX_POS = 128
RMS_EPS = 1e-5

# Perturbation scales (see perturb()).
NORM_STD = 0.1  # norm weights ~ 1 + NORM_STD * N(0,1)
BIAS_STD = 0.1  # biases ~ BIAS_STD * N(0,1)
WEIGHT_STD = 0.1  # matrices / embeddings ~ WEIGHT_STD * N(0,1)

NOTES = {
    "input_ids": "int64 [B, T]: random token ids, every sequence full length, no padding, no attention mask "
    "(plain causal attention, positions 0..T-1).",
    "logits": "float32 [B, T, vocab]: model(input_ids).logits computed with the model cast to float64 "
    "(model.double()), then cast to float32.",
    "loss": "float64 [1]: mean next-token cross-entropy over all B*(T-1) positions: "
    "cross_entropy(logits[:, :-1], input_ids[:, 1:]) in float64 (same as HF labels=input_ids).",
    "grad.<name>": "float64, same shape as <name> in model.safetensors: d loss / d <name> from torch autograd "
    "with the model in float64. One entry per tensor in model.safetensors. For tied embeddings "
    "(lm_head.weight absent from the file) grad.model.embed_tokens.weight includes both the "
    "embedding and the output-projection uses.",
    "logprobs_t07": "float64 [B, T-1]: log_softmax(logits64 / 0.7)[b, t, input_ids[b, t+1]] for t = 0..T-2, "
    "i.e. log-probability of the actual next token at temperature 0.7 (from the float64 logits).",
}


def model_specs():
    """Returns [(name, config, model_class, generation overrides)]."""
    common = dict(
        vocab_size=VOCAB,
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        num_key_value_heads=KV_HEADS,
        intermediate_size=INTERMEDIATE,
        max_position_embeddings=MAX_POS,
        rms_norm_eps=RMS_EPS,
        hidden_act="silu",
        attn_implementation="eager",
    )
    # llama3 rope scaling, chosen so all three regimes occur for head_dim 16 / theta 1e4:
    # wavelengths 2*pi*1e4^(i/8) = 6.3, 19.9, 62.8, ... ; high_freq_wavelen = 32/4 = 8,
    # low_freq_wavelen = 32/1 = 32  ->  i=0 unchanged, i=1 smoothly interpolated, i>=2 divided by 8.
    llama = LlamaConfig(
        **common,
        head_dim=HEAD_DIM,
        tie_word_embeddings=False,
        attention_bias=False,
        mlp_bias=False,
        bos_token_id=1,
        eos_token_id=2,
        rope_parameters={
            "rope_type": "llama3",
            "rope_theta": 10000.0,
            "factor": 8.0,
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
            "original_max_position_embeddings": 32,
        },
    )
    qwen3 = Qwen3Config(
        **common,
        head_dim=HEAD_DIM,
        tie_word_embeddings=False,
        attention_bias=False,
        bos_token_id=0,
        eos_token_id=[1, 2],  # EOS list, also copied into generation_config.json
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
    )
    qwen2 = Qwen2Config(
        **common,
        tie_word_embeddings=True,
        bos_token_id=0,
        eos_token_id=2,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
    )
    return [
        ("llama", llama, LlamaForCausalLM),
        ("qwen3", qwen3, Qwen3ForCausalLM),
        ("qwen2_tied", qwen2, Qwen2ForCausalLM),
    ]


@torch.no_grad()
def perturb(model: torch.nn.Module, gen: torch.Generator) -> None:
    """Overwrite every parameter with non-trivial values.

    The default init (norm weights = 1, biases = 0) would hide bugs such as a
    missing norm weight or bias, so: norm weights ~ 1 + 0.1 N(0,1), biases ~
    0.1 N(0,1), all matrices and embeddings ~ 0.1 N(0,1) (logits are O(1),
    softmaxes far from saturated). Parameters are visited in a fixed order.
    """
    seen = set()
    for name, p in model.named_parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
        if "norm" in name:
            assert p.dim() == 1, name
            p.copy_(1.0 + NORM_STD * noise)
        elif name.endswith(".bias"):
            p.copy_(BIAS_STD * noise)
        else:
            assert p.dim() == 2, name
            p.copy_(WEIGHT_STD * noise)


def safetensors_names(path: Path) -> list[str]:
    with safe_open(str(path), framework="pt") as f:
        return list(f.keys())


def compute_golden(model: torch.nn.Module, input_ids: torch.Tensor, names: list[str]) -> dict:
    """Float64 forward/backward; converts `model` to float64 in place.

    hf_float64.enable() must have been called: stock transformers computes
    RMSNorm, RoPE and the attention softmax in float32 even for float64 models.
    """
    m = model.double()
    hf_float64.upgrade_rope(m)
    m.eval()
    m.zero_grad(set_to_none=True)
    with torch.enable_grad():
        logits = m(input_ids=input_ids).logits  # [B, T, V] float64
        assert logits.dtype == torch.float64
        v = logits.shape[-1]
        loss = F.cross_entropy(
            logits[:, :-1].reshape(-1, v), input_ids[:, 1:].reshape(-1), reduction="mean"
        )
        # Cross-check against transformers' own loss with labels (HF upcasts
        # logits to float32 inside its loss, hence the loose tolerance).
        hf_loss = m(input_ids=input_ids, labels=input_ids).loss
        assert abs(loss.item() - hf_loss.item()) < 1e-5, (loss.item(), hf_loss.item())
        loss.backward()

    params = dict(m.named_parameters(remove_duplicate=False))
    out = {
        "input_ids": input_ids.clone().to(torch.int64),
        "logits": logits.detach().to(torch.float32).contiguous(),
        "loss": loss.detach().reshape(1).to(torch.float64),
    }
    for n in names:
        p = params[n]
        assert p.grad is not None, n
        out[f"grad.{n}"] = p.grad.detach().to(torch.float64).clone().contiguous()

    with torch.no_grad():
        lp = F.log_softmax(logits.detach() / TEMPERATURE, dim=-1)
        tgt = input_ids[:, 1:]
        out["logprobs_t07"] = lp[:, :-1].gather(-1, tgt.unsqueeze(-1)).squeeze(-1).contiguous()
    return out, logits.detach()


def stock_differences(out_dir: Path, golden: dict) -> dict:
    """How far unpatched transformers (float32 and float64 casts) is from the golden."""
    res = {}
    ids = golden["input_ids"]
    for label, dtype in [("float32", torch.float32), ("float64_stock", torch.float64)]:
        with hf_float64.disabled():
            m = transformers.AutoModelForCausalLM.from_pretrained(
                str(out_dir), dtype=torch.float32, attn_implementation="eager"
            ).to(dtype)
            m.eval()
            with torch.no_grad():
                logits = m(input_ids=ids).logits.double()
        res[f"{label}_logits_max_abs_diff"] = float((logits - golden["logits"].double()).abs().max())
    return res


def make_one(name: str, config, cls, out_root: Path, index: int) -> dict:
    out_dir = out_root / name
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.iterdir():
        if stale.is_file():
            stale.unlink()

    torch.manual_seed(SEED + index)
    model = cls(config).to(torch.float32)
    gen = torch.Generator().manual_seed(SEED + 100 + index)
    perturb(model, gen)
    model.eval()
    model.save_pretrained(str(out_dir), safe_serialization=True)

    names = safetensors_names(out_dir / "model.safetensors")
    ids_gen = torch.Generator().manual_seed(SEED + 200 + index)
    input_ids = torch.randint(0, config.vocab_size, (BATCH, SEQ), generator=ids_gen, dtype=torch.int64)

    golden, logits64 = compute_golden(model, input_ids, names)
    # Only one metadata key: safetensors writes metadata in hash order, so more
    # than one would make the file bytes differ from run to run.
    save_file(golden, str(out_dir / "golden.safetensors"), metadata={"format": "pt"})
    stock = stock_differences(out_dir, golden)

    probs = torch.softmax(logits64, dim=-1)
    stats = {
        "logits_std": float(logits64.std()),
        "logits_absmax": float(logits64.abs().max()),
        "max_token_prob": float(probs.max()),
        "mean_max_token_prob": float(probs.max(-1).values.mean()),
    }
    meta = {
        "fixture": name,
        "model_class": cls.__name__,
        "versions": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "safetensors": safetensors.__version__,
            "numpy": np.__version__,
        },
        "seed": {
            "torch.manual_seed": SEED + index,
            "weights_generator": SEED + 100 + index,
            "input_ids_generator": SEED + 200 + index,
        },
        "init": {
            "norm_weights": f"1 + {NORM_STD} * N(0,1)",
            "biases": f"{BIAS_STD} * N(0,1)",
            "matrices_and_embeddings": f"{WEIGHT_STD} * N(0,1)",
        },
        "batch": BATCH,
        "seq_len": SEQ,
        "vocab_size": config.vocab_size,
        "temperature": TEMPERATURE,
        "attn_implementation": "eager",
        "float64_note": "golden tensors are computed in true float64: compat/hf_float64.py patches transformers' "
        "RMSNorm, RoPE and eager-softmax, which otherwise run in float32 even for float64 models.",
        "tie_word_embeddings": bool(config.tie_word_embeddings),
        "loss": float(golden["loss"].item()),
        "logit_stats": stats,
        "stock_transformers_vs_golden": stock,
        "model_safetensors_names": names,
        "tensors": {
            k: {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape)}
            for k, t in golden.items()
        },
        "notes": NOTES,
        "tolerances_for_go": {
            "logits_max_abs": 1e-4,
            "grads": "relative: ||g_go - g_ref|| / ||g_ref|| per tensor",
        },
    }
    (out_dir / "golden.json").write_text(json.dumps(meta, indent=2) + "\n")
    write_legacy_config(out_dir)
    for f in out_dir.iterdir():  # save_pretrained/save_file create some files 0600
        f.chmod(0o644)
    return meta


def write_legacy_config(out_dir: Path) -> None:
    """Write config.legacy.json: the same config in the transformers 4.x layout.

    transformers 5 writes `rope_parameters` (with rope_theta inside) and `dtype`;
    most checkpoints in the wild were written by 4.x and carry top-level
    `rope_theta`, an optional `rope_scaling` dict and `torch_dtype`. The Go
    loader must accept both; test_fixtures.py checks transformers reads this
    file into an identical model.
    """
    cfg = json.loads((out_dir / "config.json").read_text())
    rope = dict(cfg.pop("rope_parameters"))
    legacy = {}
    for k, v in cfg.items():
        if k == "dtype":
            legacy["torch_dtype"] = v
        else:
            legacy[k] = v
    legacy["rope_theta"] = rope.pop("rope_theta")
    if rope.get("rope_type", "default") == "default":
        legacy["rope_scaling"] = None
    else:
        legacy["rope_scaling"] = rope
    legacy["transformers_version"] = "4.x-style (hand-converted by compat/make_fixtures.py)"
    (out_dir / "config.legacy.json").write_text(json.dumps(legacy, indent=2, sort_keys=True) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    repo = Path(__file__).resolve().parent.parent
    ap.add_argument("--out", default=str(repo / "testdata" / "hf"), help="output root (default testdata/hf)")
    args = ap.parse_args()

    torch.set_num_threads(1)  # fewest sources of nondeterminism
    hf_float64.enable()
    out_root = Path(args.out)
    out_root.mkdir(parents=True, exist_ok=True)
    for i, (name, config, cls) in enumerate(model_specs()):
        meta = make_one(name, config, cls, out_root, i)
        s = meta["logit_stats"]
        print(
            f"{name:11s} loss={meta['loss']:.6f} logits std={s['logits_std']:.3f} "
            f"absmax={s['logits_absmax']:.3f} max p={s['max_token_prob']:.3f} "
            f"tensors={len(meta['model_safetensors_names'])}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
