#!/usr/bin/env python3
"""Generate the TRL golden fixtures for package grpo under testdata/grpo/.

The loss is TRL's own code: GRPOTrainer._compute_loss is called unbound on a stub object that carries exactly the
attributes it reads (loss_type, epsilon_low/high, beta, importance_sampling_level, args.delta, ...). The stub's
_get_per_token_logps_and_entropies returns a float64 leaf tensor of "new" log-probs instead of running a model, so
torch autograd gives d loss / d logp_new, the gradient package grpo returns. Nothing is re-derived for the loss.

Two pieces of TRL live inline in GRPOTrainer._generate_and_score_completions, which needs a model, a tokenizer and
a generation backend, so they are reproduced here line for line (marked "as in TRL") around trl's own helpers:
the advantage computation (uses trl.trainer.utils.nanstd) and the vLLM importance-sampling ratio. The overlong
penalty is trl.rewards.get_soft_overlong_punishment itself.

Files (deterministic; re-running gives identical bytes):
  testdata/grpo/trl_losses.json      shared padded inputs + one case per (loss type, importance level, beta, option)
  testdata/grpo/trl_advantages.json  rewards -> advantages for scale_rewards group|batch|none; overlong penalties

Run with the compat venv:  compat/.venv/bin/python compat/make_grpo_fixtures.py [--out testdata/grpo]
"""

from __future__ import annotations

import argparse
import json
import math
import os
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

import torch
import trl
from trl.rewards import get_soft_overlong_punishment
from trl.trainer.grpo_trainer import GRPOTrainer
from trl.trainer.utils import nanstd

SEED = 20250
B, T = 6, 7
MAX_COMPLETION_LENGTH = 10  # > T: dr_grpo divides by the configured length, not the padded width
ADV_EPS = 1e-4  # hard-coded in TRL's advantage computation

ROOT = Path(__file__).resolve().parent.parent


def make_inputs() -> dict:
    g = torch.Generator().manual_seed(SEED)
    mask = torch.zeros(B, T, dtype=torch.long)
    for i, n in enumerate([7, 5, 3, 7, 1, 0]):  # right padding; one empty completion
        mask[i, :n] = 1
    mask[3, 2] = 0  # a masked token inside a completion (e.g. tool output)
    old = -0.1 - 2.9 * torch.rand(B, T, generator=g, dtype=torch.float64)
    new = old + 0.35 * torch.randn(B, T, generator=g, dtype=torch.float64)
    new[0, 1] = old[0, 1] + 1.5  # far off-policy tokens: ratio e^1.5 > dual-clip c = 3
    new[1, 3] = old[1, 3] + 1.4
    new[2, 0] = old[2, 0] - 1.2
    new[3, 4] = old[3, 4] + 0.6  # positive advantage above 1 + ε_high: clipped high
    new[3, 5] = old[3, 5] + 0.4
    ref = new + 0.3 * torch.randn(B, T, generator=g, dtype=torch.float64)
    sampling = old + 0.25 * torch.randn(B, T, generator=g, dtype=torch.float64)
    adv = torch.randn(B, generator=g, dtype=torch.float64)
    adv[1] = -abs(adv[1]) - 0.5  # negative advantage on the sequence with the far off-policy token
    adv[0] = -abs(adv[0]) - 0.5
    adv[2] = abs(adv[2]) + 0.3
    adv[3] = abs(adv[3]) + 0.3
    adv[5] = 0.0
    return dict(mask=mask, old=old, new=new, ref=ref, sampling=sampling, adv=adv)


def is_ratio(old, sampling, mask, mode, cmin, cmax):
    """The vLLM importance-sampling ratio, as in TRL GRPOTrainer._generate_and_score_completions."""
    per_token_logps_diff = (old - sampling) * mask
    per_token_logps_diff = torch.nan_to_num(per_token_logps_diff, nan=0.0)
    if mode in ["sequence_mask", "sequence_truncate"]:
        logps_diff = per_token_logps_diff.sum(dim=-1, keepdim=True)
    else:
        logps_diff = per_token_logps_diff
    ratio = torch.exp(logps_diff)
    if mode in ["sequence_truncate", "token_truncate"]:
        ratio = torch.clamp(ratio, min=cmin, max=cmax)
    else:
        min_val = cmin if cmin is not None else -math.inf
        max_val = cmax if cmax is not None else math.inf
        ratio = ratio.masked_fill((ratio < min_val) | (ratio > max_val), value=0.0)
    return ratio


class Accel:
    num_processes = 1

    def gather(self, t):
        return t

    def gather_for_metrics(self, t):
        return t

    def reduce(self, t, reduction="sum"):
        return t


def trl_stub(c: dict) -> SimpleNamespace:
    """The attributes GRPOTrainer._compute_loss reads, for one case."""
    stub = SimpleNamespace(
        loss_type=c["loss_type"],
        epsilon_low=c["epsilon_low"],
        epsilon_high=c["epsilon_high"],
        beta=c["beta"],
        importance_sampling_level=c["importance_sampling_level"],
        max_completion_length=MAX_COMPLETION_LENGTH,
        top_entropy_quantile=1.0,
        off_policy_mask_threshold=None,
        use_vllm=c["is_mode"] is not None,
        vllm_importance_sampling_correction=c["is_mode"] is not None,
        current_gradient_accumulation_steps=c["gradient_accumulation_steps"],
        model=SimpleNamespace(training=True),
        accelerator=Accel(),
        aux_loss_enabled=False,
        _entropy_bonus_enabled=False,
        _metrics=defaultdict(lambda: defaultdict(list)),
        args=SimpleNamespace(
            delta=c["delta"],
            use_bias_correction_kl=c["use_bias_correction_kl"],
            steps_per_generation=c["gradient_accumulation_steps"],
        ),
    )
    return stub


def run_trl(c: dict, x: dict) -> dict:
    """Calls TRL's loss on each micro-batch; returns the losses, the summed gradient and TRL's logged metrics."""
    new = x["new"].clone().requires_grad_(True)
    micro = c["micro_batches"] or [[0, B]]
    num_items = x["mask"].sum()  # TRL: loss_mask.sum() over the whole generation batch
    losses, metrics = [], []
    for lo, hi in micro:
        stub = trl_stub(c)
        logp = new[lo:hi]

        def fake_logps(model, input_ids, attention_mask, logits_to_keep, compute_entropy=False, **kw):
            assert logits_to_keep == T
            return logp, torch.zeros_like(logp), None

        stub._get_per_token_logps_and_entropies = fake_logps
        mask = x["mask"][lo:hi]
        inputs = {
            "prompt_ids": torch.zeros(hi - lo, 2, dtype=torch.long),
            "prompt_mask": torch.ones(hi - lo, 2, dtype=torch.long),
            "completion_ids": torch.zeros(hi - lo, T, dtype=torch.long),
            "completion_mask": mask,
            "advantages": x["adv"][lo:hi],
            "old_per_token_logps": None if c["on_policy"] else x["old"][lo:hi],
            "num_items_in_batch": num_items,
        }
        if c["beta"] != 0.0:
            inputs["ref_per_token_logps"] = x["ref"][lo:hi]
        if c["is_mode"] is not None:
            inputs["importance_sampling_ratio"] = is_ratio(
                x["old"][lo:hi], x["sampling"][lo:hi], mask, c["is_mode"], c["is_min"], c["is_max"]
            )
        loss = GRPOTrainer._compute_loss(stub, None, inputs)
        loss.backward()
        losses.append(loss.item())
        metrics.append({k: v for k, v in stub._metrics["train"].items()})
    grad = new.grad.clone()
    out = {"loss": losses, "grad": grad.tolist()}
    m = metrics[0] if len(metrics) == 1 else {}
    for key in ["clip_ratio/low_mean", "clip_ratio/high_mean", "kl"]:
        if key in m:
            out[key.replace("clip_ratio/", "clip_")] = m[key][0]
    if c["is_mode"] is not None:
        out["importance_sampling_ratio"] = is_ratio(
            x["old"], x["sampling"], x["mask"], c["is_mode"], c["is_min"], c["is_max"]
        ).expand(B, T).tolist()
    return out


def cases() -> list[dict]:
    base = dict(
        delta=None, use_bias_correction_kl=False, on_policy=False, is_mode=None, is_min=None, is_max=None,
        gradient_accumulation_steps=1, micro_batches=None,
    )
    out = []

    def add(name, **kw):
        c = dict(base)
        c.update(kw)
        c["name"] = name
        out.append(c)

    for lt in ["grpo", "bnpo", "dr_grpo", "dapo"]:
        for level in ["token", "sequence"]:
            # GSPO's own ε (3e-4 / 4e-4) at sequence level; DAPO clip-higher (0.2 / 0.28) at token level.
            el, eh = (3e-4, 4e-4) if level == "sequence" else (0.2, 0.28)
            for beta in [0.0, 0.04]:
                add(f"{lt}_{level}_beta{beta:g}", loss_type=lt, importance_sampling_level=level,
                    epsilon_low=el, epsilon_high=eh, beta=beta)
    tok = dict(importance_sampling_level="token", epsilon_low=0.2, epsilon_high=0.28, beta=0.04)
    add("grpo_token_dualclip3", loss_type="grpo", delta=3.0, **tok)
    add("dapo_token_dualclip3_beta0", loss_type="dapo", delta=3.0, **{**tok, "beta": 0.0})
    add("grpo_token_kl_is_weighted", loss_type="grpo", use_bias_correction_kl=True, **tok)
    add("dapo_sequence_kl_is_weighted", loss_type="dapo", use_bias_correction_kl=True,
        importance_sampling_level="sequence", epsilon_low=3e-4, epsilon_high=4e-4, beta=0.04)
    add("grpo_token_on_policy", loss_type="grpo", on_policy=True, **tok)
    add("grpo_sequence_on_policy", loss_type="grpo", on_policy=True,
        importance_sampling_level="sequence", epsilon_low=3e-4, epsilon_high=4e-4, beta=0.04)
    for mode, lo, hi in [("token_truncate", 0.8, 1.25), ("token_mask", 0.8, 1.25),
                         ("sequence_truncate", 0.5, 2.0), ("sequence_mask", 0.5, 2.0)]:
        add(f"grpo_token_is_{mode}", loss_type="grpo", is_mode=mode, is_min=lo, is_max=hi, **tok)
    add("dapo_sequence_is_token_truncate_nomin", loss_type="dapo", is_mode="token_truncate", is_max=1.25,
        importance_sampling_level="sequence", epsilon_low=3e-4, epsilon_high=4e-4, beta=0.04)
    # Gradient accumulation: two micro-batches of 3 sequences, TRL's gradient_accumulation_steps = 2.
    for lt in ["grpo", "bnpo", "dr_grpo", "dapo"]:
        add(f"{lt}_token_two_micro_batches", loss_type=lt, gradient_accumulation_steps=2,
            micro_batches=[[0, 3], [3, 6]], **tok)
    return out


def advantages_fixture() -> dict:
    g = torch.Generator().manual_seed(SEED + 1)
    G = 4
    rewards = torch.rand(3 * G, generator=g, dtype=torch.float64)
    rewards[G : 2 * G] = 0.5  # a group whose rewards are all equal (zero std)
    rewards[2 * G] = 1.0
    out = {
        "about": "advantages: as in TRL GRPOTrainer._generate_and_score_completions with trl's nanstd (unbiased; its "
        "Bessel factor count/(count-1) is computed in float32, ~1.5e-8 relative off an exact float64 std). "
        "Group 1 has all rewards equal. overlong: trl.rewards.get_soft_overlong_punishment.",
        "group_size": G,
        "epsilon": ADV_EPS,
        "rewards": rewards.tolist(),
        "advantages": {},
    }
    for scale in ["group", "batch", "none"]:
        # as in TRL GRPOTrainer._generate_and_score_completions (multi_objective_aggregation="sum_then_normalize")
        mean_grouped_rewards = torch.nanmean(rewards.view(-1, G), dim=1).repeat_interleave(G, dim=0)
        if scale in ["group", "none"]:
            std_rewards = nanstd(rewards.view(-1, G), dim=1).repeat_interleave(G, dim=0)
        else:
            std_rewards = nanstd(rewards).expand_as(rewards)
        advantages = rewards - mean_grouped_rewards
        if scale != "none":
            advantages = advantages / (std_rewards + ADV_EPS)
        out["advantages"][scale] = torch.nan_to_num(advantages, nan=0.0).tolist()
    max_len, cache = 10, 4
    punish = get_soft_overlong_punishment(max_completion_len=max_len, soft_punish_cache=cache)
    lengths = list(range(0, 13))
    out["overlong"] = {
        "max_completion_len": max_len,
        "soft_punish_cache": cache,
        "lengths": lengths,
        "penalty": punish([[1] * n for n in lengths]),
    }
    return out


def generate() -> dict[str, dict]:
    torch.use_deterministic_algorithms(True)
    x = make_inputs()
    versions = {"trl": trl.__version__, "torch": torch.__version__.split("+")[0]}
    losses = {
        "versions": versions,
        "about": "Inputs are padded [B][T] with completion_mask; every case runs TRL GRPOTrainer._compute_loss on "
        "float64 tensors (see compat/make_grpo_fixtures.py). loss: one value per micro-batch; grad: d(sum of "
        "micro-batch losses)/d new_logps. delta is TRL's two-sided clipping (= dual-clip c); is_*: vLLM "
        "importance-sampling correction; use_bias_correction_kl multiplies the KL by the ratio.",
        "max_completion_length": MAX_COMPLETION_LENGTH,
        "inputs": {
            "completion_mask": x["mask"].tolist(),
            "new_logps": x["new"].tolist(),
            "old_logps": x["old"].tolist(),
            "ref_logps": x["ref"].tolist(),
            "sampling_logps": x["sampling"].tolist(),
            "advantages": x["adv"].tolist(),
        },
        "cases": [],
    }
    for c in cases():
        losses["cases"].append({**c, "trl": run_trl(c, x)})
    adv = {"versions": versions, **advantages_fixture()}
    return {"trl_losses.json": losses, "trl_advantages.json": adv}


def dumps(obj) -> str:
    return json.dumps(obj, indent=1, sort_keys=False) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "testdata" / "grpo"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name, obj in generate().items():
        with open(os.path.join(args.out, name), "w") as f:
            f.write(dumps(obj))
        print("wrote", os.path.join(args.out, name))


if __name__ == "__main__":
    main()
