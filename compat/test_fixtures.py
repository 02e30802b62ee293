"""Self-consistency checks for the golden fixtures in testdata/hf/.

Run: compat/.venv/bin/python -m pytest compat/test_fixtures.py -q

Reloads every fixture directory with AutoModelForCausalLM.from_pretrained (the
same files the Go loader reads) and checks that the stored logits, loss,
gradients and temperature log-probs are reproduced, that the safetensors
headers hold exactly the expected tensor names, and a few format facts the Go
side relies on (tied embeddings, EOS lists, llama3 RoPE scaling, 4.x-style
config equivalence).
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import sys

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from transformers import AutoConfig, AutoModelForCausalLM, GenerationConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hf_float64  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent / "testdata" / "hf"
FIXTURES = ["llama", "qwen3", "qwen2_tied"]
LAYERS = 2
TEMPERATURE = 0.7


def expected_names(name: str) -> list[str]:
    """The exact tensor names the Go loader must find in model.safetensors."""
    names = ["model.embed_tokens.weight", "model.norm.weight"]
    if name != "qwen2_tied":
        names.append("lm_head.weight")
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        names += [
            p + "input_layernorm.weight",
            p + "post_attention_layernorm.weight",
            p + "mlp.gate_proj.weight",
            p + "mlp.up_proj.weight",
            p + "mlp.down_proj.weight",
            p + "self_attn.q_proj.weight",
            p + "self_attn.k_proj.weight",
            p + "self_attn.v_proj.weight",
            p + "self_attn.o_proj.weight",
        ]
        if name == "qwen3":
            names += [p + "self_attn.q_norm.weight", p + "self_attn.k_norm.weight"]
        if name == "qwen2_tied":
            names += [p + "self_attn.q_proj.bias", p + "self_attn.k_proj.bias", p + "self_attn.v_proj.bias"]
    return sorted(names)


def read_header(path: Path) -> dict:
    """Parse a safetensors header by hand (8-byte LE length + JSON)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    return header


def load_model(name: str, dtype=torch.float64, config=None):
    """from_pretrained (float32 files) then cast; float64 gets float64 RoPE too."""
    kw = {} if config is None else {"config": config}
    model = AutoModelForCausalLM.from_pretrained(
        str(ROOT / name), dtype=torch.float32, attn_implementation="eager", **kw
    )
    model = model.to(dtype).eval()
    if dtype == torch.float64:
        hf_float64.upgrade_rope(model)
    return model


@pytest.fixture(autouse=True)
def true_float64():
    """The goldens are true float64 (see hf_float64.py); tests run patched."""
    hf_float64.enable()
    yield


@pytest.fixture(scope="module", params=FIXTURES)
def fixture(request):
    name = request.param
    golden = load_file(str(ROOT / name / "golden.safetensors"))
    meta = json.loads((ROOT / name / "golden.json").read_text())
    return name, golden, meta


def test_files_present():
    for name in FIXTURES:
        for f in [
            "config.json",
            "config.legacy.json",
            "generation_config.json",
            "model.safetensors",
            "golden.safetensors",
            "golden.json",
        ]:
            assert (ROOT / name / f).is_file(), f"{name}/{f} missing"
    total = sum(p.stat().st_size for p in ROOT.rglob("*") if p.is_file())
    assert total < 4_500_000, f"testdata/hf is {total} bytes"


def test_model_header_names(fixture):
    name, golden, meta = fixture
    header = read_header(ROOT / name / "model.safetensors")
    assert sorted(header) == expected_names(name)
    assert meta["model_safetensors_names"] == sorted(header)
    for k, v in header.items():
        assert v["dtype"] == "F32", k


def test_golden_header(fixture):
    name, golden, meta = fixture
    header = read_header(ROOT / name / "golden.safetensors")
    model_header = read_header(ROOT / name / "model.safetensors")
    want = {"input_ids", "logits", "loss", "logprobs_t07"} | {f"grad.{n}" for n in model_header}
    assert set(header) == want
    b, t, v = 2, 12, meta["vocab_size"]
    assert header["input_ids"]["dtype"] == "I64" and header["input_ids"]["shape"] == [b, t]
    assert header["logits"]["dtype"] == "F32" and header["logits"]["shape"] == [b, t, v]
    assert header["loss"]["dtype"] == "F64" and header["loss"]["shape"] == [1]
    assert header["logprobs_t07"]["dtype"] == "F64" and header["logprobs_t07"]["shape"] == [b, t - 1]
    for n, info in model_header.items():
        g = header[f"grad.{n}"]
        assert g["dtype"] == "F64" and g["shape"] == info["shape"], n
    ids = golden["input_ids"]
    assert int(ids.min()) >= 0 and int(ids.max()) < v


def test_logits_loss_grads_reproduced(fixture):
    name, golden, meta = fixture
    model = load_model(name, torch.float64)
    ids = golden["input_ids"]
    logits = model(input_ids=ids).logits
    # Same float32 weights, float64 maths: reproduced to float32 rounding.
    torch.testing.assert_close(logits.float(), golden["logits"], rtol=0, atol=1e-6)

    v = logits.shape[-1]
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, v), ids[:, 1:].reshape(-1))
    assert abs(loss.item() - golden["loss"].item()) < 1e-10
    assert math.isclose(meta["loss"], golden["loss"].item(), rel_tol=0, abs_tol=1e-12)
    loss.backward()

    params = dict(model.named_parameters(remove_duplicate=False))
    for key, ref in golden.items():
        if not key.startswith("grad."):
            continue
        g = params[key[len("grad."):]].grad
        assert g is not None, key
        rel = (g - ref).norm() / ref.norm()
        assert rel < 1e-9, f"{key}: relative error {rel}"
        assert ref.norm() > 0, f"{key}: zero gradient"


def test_stock_transformers_float32_within_go_tolerance(fixture):
    """Unpatched transformers in float32 is within the 1e-4 logits tolerance the Go tests use."""
    name, golden, meta = fixture
    with hf_float64.disabled():
        model = AutoModelForCausalLM.from_pretrained(str(ROOT / name), dtype=torch.float32, attn_implementation="eager")
        with torch.no_grad():
            logits = model(input_ids=golden["input_ids"]).logits
    assert logits.dtype == torch.float32
    assert (logits - golden["logits"]).abs().max().item() < 1e-5


def test_stock_transformers_float64_grads_close(fixture):
    """Unpatched transformers (float32 RMSNorm/RoPE/softmax inside) agrees to ~1e-7."""
    name, golden, meta = fixture
    with hf_float64.disabled():
        model = AutoModelForCausalLM.from_pretrained(str(ROOT / name), dtype=torch.float32, attn_implementation="eager")
        model = model.double().eval()
        ids = golden["input_ids"]
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
    assert abs(loss.item() - golden["loss"].item()) < 1e-5
    params = dict(model.named_parameters(remove_duplicate=False))
    for key, ref in golden.items():
        if key.startswith("grad."):
            g = params[key[len("grad."):]].grad
            rel = ((g - ref).norm() / ref.norm()).item()
            assert rel < 1e-5, f"{key}: relative error {rel}"


def test_logprobs_t07(fixture):
    name, golden, meta = fixture
    logits = golden["logits"].double()
    ids = golden["input_ids"]
    lp = F.log_softmax(logits / TEMPERATURE, dim=-1)[:, :-1].gather(-1, ids[:, 1:, None]).squeeze(-1)
    torch.testing.assert_close(lp, golden["logprobs_t07"], rtol=0, atol=1e-5)
    assert (golden["logprobs_t07"] < 0).all()


def test_not_trivial(fixture):
    """Norm weights and biases are perturbed and softmaxes are not saturated."""
    name, golden, meta = fixture
    w = load_file(str(ROOT / name / "model.safetensors"))
    for k, t in w.items():
        if "norm" in k:
            assert (t - 1).abs().max() > 0.05, k
        if k.endswith(".bias"):
            assert t.abs().max() > 0.05, k
    p = torch.softmax(golden["logits"].double(), -1)
    assert p.max() < 0.9
    assert golden["logits"].std() > 0.3


def test_tied_embeddings():
    cfg = json.loads((ROOT / "qwen2_tied" / "config.json").read_text())
    assert cfg["tie_word_embeddings"] is True
    assert "lm_head.weight" not in read_header(ROOT / "qwen2_tied" / "model.safetensors")
    model = load_model("qwen2_tied", torch.float32)
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    for name in ["llama", "qwen3"]:
        assert json.loads((ROOT / name / "config.json").read_text())["tie_word_embeddings"] is False


def test_generation_config_eos():
    gc = GenerationConfig.from_pretrained(str(ROOT / "qwen3"))
    assert list(gc.eos_token_id) == [1, 2]
    raw = json.loads((ROOT / "qwen3" / "generation_config.json").read_text())
    assert raw["eos_token_id"] == [1, 2]
    assert json.loads((ROOT / "llama" / "generation_config.json").read_text())["eos_token_id"] == 2


def test_llama3_rope_scaling_changes_frequencies():
    model = load_model("llama", torch.float64)
    cfg = model.config
    rp = cfg.rope_parameters
    assert rp["rope_type"] == "llama3"
    dim = cfg.head_dim
    base = rp["rope_theta"]
    plain = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    inv = model.model.rotary_emb.inv_freq.double()
    ratio = (inv / plain).tolist()
    # i=0: high frequency, unchanged; i=1: interpolated; i>=2: divided by factor.
    assert abs(ratio[0] - 1) < 1e-6
    assert 1 / rp["factor"] + 1e-3 < ratio[1] < 1 - 1e-3
    for r in ratio[2:]:
        assert abs(r - 1 / rp["factor"]) < 1e-6


@pytest.mark.parametrize("name", FIXTURES)
def test_legacy_config_equivalent(name, tmp_path):
    """config.legacy.json (4.x key layout) describes the same model."""
    legacy = json.loads((ROOT / name / "config.legacy.json").read_text())
    assert "rope_parameters" not in legacy and "rope_theta" in legacy and "torch_dtype" in legacy
    (tmp_path / "config.json").write_text(json.dumps(legacy))
    cfg = AutoConfig.from_pretrained(str(tmp_path))
    cur = AutoConfig.from_pretrained(str(ROOT / name))
    assert cfg.rope_parameters == cur.rope_parameters
    golden = load_file(str(ROOT / name / "golden.safetensors"))
    model = load_model(name, torch.float64, config=cfg)
    with torch.no_grad():
        logits = model(input_ids=golden["input_ids"]).logits
    torch.testing.assert_close(logits.float(), golden["logits"], rtol=0, atol=1e-6)
