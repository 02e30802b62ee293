"""The official openai and ollama Python clients against a running `rft serve`.

The test writes a tiny random Qwen3 model directory (vocabulary of rft's test
tokenizer, testdata/tokenizer/rft), builds bin/rft's source into a temporary
binary (or uses $RFT_BIN), starts `rft serve` on a free loopback port with an
API key, and talks to it through both clients: chat, generate, streaming,
n > 1, seed determinism, log-probabilities, the token-id extension fields,
errors, model listing and a weight reload.

    compat/.venv/bin/python -m pytest -q compat/test_server_clients.py
"""

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import numpy as np
import ollama
import openai
import pytest
from safetensors.numpy import save_file

ROOT = Path(__file__).resolve().parent.parent
TOKENIZER = ROOT / "testdata" / "tokenizer" / "rft" / "tokenizer.json"
KEY = "compat-key"
MODEL = "tiny"


def write_model(d: Path, seed: int = 1) -> None:
    """A tiny Qwen3 checkpoint with random weights in Hugging Face layout."""
    tok = json.loads(TOKENIZER.read_text())
    vocab = max([*tok["model"]["vocab"].values(), *(a["id"] for a in tok["added_tokens"])]) + 1
    eos = next(a["id"] for a in tok["added_tokens"] if a["content"] == "<|endoftext|>")
    hidden, layers, heads, kv, head_dim, inter = 64, 2, 4, 2, 16, 176
    cfg = {
        "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "vocab_size": vocab,
        "hidden_size": hidden, "intermediate_size": inter, "num_hidden_layers": layers,
        "num_attention_heads": heads, "num_key_value_heads": kv, "head_dim": head_dim,
        "max_position_embeddings": 256, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
        "tie_word_embeddings": False, "attention_bias": False, "hidden_act": "silu",
        "bos_token_id": None, "eos_token_id": eos, "torch_dtype": "float32",
    }
    rng = np.random.default_rng(seed)
    w = lambda *shape: (rng.standard_normal(shape) * 0.02).astype(np.float32)
    ones = lambda n: np.ones(n, dtype=np.float32)
    t = {"model.embed_tokens.weight": w(vocab, hidden), "model.norm.weight": ones(hidden),
         "lm_head.weight": w(vocab, hidden)}
    for i in range(layers):
        p = f"model.layers.{i}."
        t |= {
            p + "input_layernorm.weight": ones(hidden),
            p + "post_attention_layernorm.weight": ones(hidden),
            p + "self_attn.q_proj.weight": w(heads * head_dim, hidden),
            p + "self_attn.k_proj.weight": w(kv * head_dim, hidden),
            p + "self_attn.v_proj.weight": w(kv * head_dim, hidden),
            p + "self_attn.o_proj.weight": w(hidden, heads * head_dim),
            p + "self_attn.q_norm.weight": ones(head_dim),
            p + "self_attn.k_norm.weight": ones(head_dim),
            p + "mlp.gate_proj.weight": w(inter, hidden),
            p + "mlp.up_proj.weight": w(inter, hidden),
            p + "mlp.down_proj.weight": w(hidden, inter),
        }
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.json").write_text(json.dumps(cfg, indent=2))
    save_file(t, str(d / "model.safetensors"), metadata={"format": "pt"})
    shutil.copy(TOKENIZER, d / "tokenizer.json")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    model = tmp / MODEL
    write_model(model, seed=1)
    write_model(tmp / "other", seed=2)
    binary = os.environ.get("RFT_BIN")
    if not binary:
        binary = str(tmp / "rft")
        subprocess.run(["go", "build", "-o", binary, "./cmd/rft"], cwd=ROOT, check=True)
    if subprocess.run([binary, "serve", "--help"], capture_output=True).returncode != 0:
        pytest.skip(f"{binary} has no serve command")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(tmp / "serve.log", "w")
    proc = subprocess.Popen([binary, "serve", "--model", str(model), "--addr", f"127.0.0.1:{port}",
                             "--api-key", KEY], stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(200):
            try:
                if httpx.get(base + "/").text == "Ollama is running":
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                raise RuntimeError((tmp / "serve.log").read_text())
            time.sleep(0.05)
        else:
            raise RuntimeError("rft serve did not start: " + (tmp / "serve.log").read_text())
        yield {"base": base, "other": str(tmp / "other")}
    finally:
        proc.terminate()  # SIGTERM: graceful shutdown
        assert proc.wait(timeout=30) == 0, (tmp / "serve.log").read_text()
        log.close()


@pytest.fixture
def oai(server):
    return openai.OpenAI(base_url=server["base"] + "/v1", api_key=KEY, max_retries=0)


@pytest.fixture
def oll(server):
    return ollama.Client(host=server["base"], headers={"Authorization": f"Bearer {KEY}"})


MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a river."}]


def test_openai_models(oai):
    assert [m.id for m in oai.models.list().data] == [MODEL]


def test_openai_chat_n_seed_logprobs(oai):
    kw = dict(model=MODEL, messages=MESSAGES, n=3, seed=5, max_tokens=8, temperature=1.0,
              logprobs=True, top_logprobs=2)
    a, b = oai.chat.completions.create(**kw), oai.chat.completions.create(**kw)
    assert len(a.choices) == 3
    assert [c.message.content for c in a.choices] == [c.message.content for c in b.choices]
    assert len({c.message.content for c in a.choices}) > 1
    extra = a.model_extra
    assert extra["weight_version"] == a.system_fingerprint
    assert len(extra["prompt_token_ids"]) == a.usage.prompt_tokens
    total = 0
    for c in a.choices:
        ids = c.model_extra["token_ids"]
        total += len(ids)
        assert c.finish_reason in ("stop", "length")
        assert len(c.logprobs.content) == len(ids)
        for lp in c.logprobs.content:
            assert lp.logprob <= 0 and len(lp.top_logprobs) == 2
            assert lp.top_logprobs[0].logprob >= lp.top_logprobs[1].logprob
    assert total == a.usage.completion_tokens


def test_openai_stream_matches(oai):
    kw = dict(model=MODEL, messages=MESSAGES, max_tokens=10, temperature=0, n=2)
    whole = oai.chat.completions.create(**kw)
    text = ["", ""]
    finish = [None, None]
    for chunk in oai.chat.completions.create(stream=True, **kw):
        for c in chunk.choices:
            text[c.index] += c.delta.content or ""
            finish[c.index] = c.finish_reason or finish[c.index]
    assert text == [c.message.content for c in whole.choices]
    assert finish == [c.finish_reason for c in whole.choices]


def test_openai_completions(oai):
    r = oai.completions.create(model=MODEL, prompt="Once upon a time", max_tokens=6, seed=1, logprobs=2)
    c = r.choices[0]
    assert r.object == "text_completion" and r.usage.completion_tokens <= 6
    assert len(c.logprobs.tokens) == len(c.logprobs.token_logprobs) == len(c.model_extra["token_ids"])


def test_openai_errors(server, oai):
    with pytest.raises(openai.NotFoundError) as e:
        oai.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert e.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as e:
        oai.chat.completions.create(model=MODEL, messages=MESSAGES, n=1000)
    assert e.value.param == "n"
    with pytest.raises(openai.BadRequestError) as e:
        oai.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "word " * 400}])
    assert e.value.code == "context_length_exceeded"
    bad = openai.OpenAI(base_url=server["base"] + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()


def test_ollama_chat(oll):
    opts = {"num_predict": 8, "seed": 3, "temperature": 0.9}
    a = oll.chat(model=MODEL, messages=MESSAGES, options=opts)
    b = oll.chat(model=MODEL, messages=MESSAGES, options=opts)
    assert a.message.content == b.message.content and a.message.role == "assistant"
    assert a.done and a.done_reason in ("stop", "length")
    assert a.eval_count > 0 and a.prompt_eval_count > 0 and a.total_duration > 0
    streamed = list(oll.chat(model=MODEL, messages=MESSAGES, options=opts, stream=True))
    assert "".join(p.message.content for p in streamed) == a.message.content
    assert streamed[-1].done and streamed[-1].eval_count == a.eval_count


def test_ollama_generate_logprobs(oll):
    opts = {"num_predict": 6, "seed": 2}
    r = oll.generate(model=MODEL, prompt="Count to three.", options=opts, logprobs=True, top_logprobs=3)
    assert len(r.logprobs) == r.eval_count
    assert all(len(lp.top_logprobs) == 3 for lp in r.logprobs)
    assert len(r.context) == r.prompt_eval_count + r.eval_count
    raw = oll.generate(model=MODEL, prompt="Count to three.", options=opts, raw=True)
    assert raw.prompt_eval_count < r.prompt_eval_count


def test_ollama_models(oll):
    assert [m.model for m in oll.list().models] == [MODEL + ":latest"]
    assert oll.show(MODEL).modelinfo["general.architecture"] == "qwen3"
    assert oll.ps().models[0].context_length == 256
    with pytest.raises(ollama.ResponseError) as e:
        oll.chat(model="llama3", messages=MESSAGES)
    assert e.value.status_code == 404
    with pytest.raises(ollama.ResponseError) as e:
        ollama.Client(host=str(oll._client.base_url)).list()  # no key
    assert e.value.status_code == 401


def test_token_id_extensions(server):
    h = {"Authorization": f"Bearer {KEY}"}
    r = httpx.post(server["base"] + "/api/chat", headers=h, json={
        "model": MODEL, "messages": MESSAGES, "stream": False, "options": {"num_predict": 5}}).json()
    assert r["weight_version"] and len(r["prompt_token_ids"]) == r["prompt_eval_count"]
    assert len(r["token_ids"]) == r["eval_count"]


def test_reload(server, oai):
    h = {"Authorization": f"Bearer {KEY}"}
    kw = dict(model=MODEL, messages=MESSAGES, max_tokens=8, temperature=0)
    before = oai.chat.completions.create(**kw)
    r = httpx.post(server["base"] + "/rft/reload", headers=h, json={"path": server["other"], "version": "step-1"})
    assert r.status_code == 200 and r.json()["weight_version"] == "step-1"
    after = oai.chat.completions.create(**kw)
    assert after.model_extra["weight_version"] == "step-1"
    assert after.choices[0].message.content != before.choices[0].message.content
    bad = httpx.put(server["base"] + "/rft/weights", headers=h, content=b"not safetensors")
    assert bad.status_code == 400
    assert oai.chat.completions.create(**kw).model_extra["weight_version"] == "step-1"
