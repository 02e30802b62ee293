"""PyTorch side of `make bench`: one forward+backward training step of the
demo-size model (DESIGN.md sizes: d=256, 6 layers, 8 heads, 4 KV heads,
SwiGLU 704, vocab 2048, QK-norm as in rft's Qwen3-style preset) on CPU, float32,
over 4 sequences of 128 tokens: the same shapes, batch and thread count as
rft's BenchmarkModelStep. Prints one JSON line per thread count.

    compat/.venv/bin/python compat/bench_torch_step.py --threads 1 2 --steps 5
"""
import argparse
import json
import time

import torch
from transformers import Qwen3Config, Qwen3ForCausalLM


def demo_model(attn):
    cfg = Qwen3Config(
        vocab_size=2048, hidden_size=256, intermediate_size=704, num_hidden_layers=6,
        num_attention_heads=8, num_key_value_heads=4, head_dim=32, max_position_embeddings=512,
        rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=False, attn_implementation=attn,
    )
    torch.manual_seed(0)
    return Qwen3ForCausalLM(cfg).float().train()


def step_time(model, ids, steps):
    for _ in range(2):  # warm-up
        model.zero_grad(set_to_none=True)
        model(input_ids=ids, labels=ids).loss.backward()
    t = time.perf_counter()
    for _ in range(steps):
        model.zero_grad(set_to_none=True)
        model(input_ids=ids, labels=ids).loss.backward()
    return (time.perf_counter() - t) / steps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--attn", default="sdpa", help="sdpa (fastest on CPU) or eager")
    args = ap.parse_args()
    ids = torch.randint(0, 2048, (4, 128), generator=torch.Generator().manual_seed(1))
    for th in args.threads:
        torch.set_num_threads(th)
        model = demo_model(args.attn)
        sec = step_time(model, ids, args.steps)
        print(json.dumps({"impl": "torch-" + args.attn, "torch": torch.__version__, "threads": th,
                          "tokens": ids.numel(), "seconds_per_step": sec, "tokens_per_s": ids.numel() / sec}))


if __name__ == "__main__":
    main()
