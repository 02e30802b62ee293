"""The committed GRPO fixtures in testdata/grpo/ are current with the installed TRL.

Re-runs compat/make_grpo_fixtures.py in memory (TRL GRPOTrainer._compute_loss on the stub trainer, torch autograd)
and requires the committed JSON to hold the same inputs, losses, gradients and metrics, and the installed TRL
version. The Go side (TestTRLGolden, TestTRLAdvantagesGolden in package grpo) holds rft to the committed numbers.

Run: compat/.venv/bin/python -m pytest -q compat/test_grpo.py
"""
import json
import math
import os
import sys

import pytest
import trl

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_grpo_fixtures  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "testdata", "grpo")


@pytest.fixture(scope="module")
def fresh():
    return make_grpo_fixtures.generate()


def same(a, b, path="$"):
    """Exact for structure, strings and ints; 1e-12 relative for floats (a new torch may move the last bit)."""
    if isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, (int, float)) and isinstance(b, (int, float)), path
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15), f"{path}: committed {a!r}, TRL now {b!r}"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and sorted(a) == sorted(b), f"{path}: keys {sorted(a)} vs {sorted(b)}"
        for k in a:
            same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{path}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: committed {a!r}, now {b!r}"


@pytest.mark.parametrize("name", ["trl_losses.json", "trl_advantages.json"])
def test_fixture_is_current(fresh, name):
    with open(os.path.join(ROOT, name)) as f:
        committed = json.load(f)
    assert committed["versions"]["trl"] == trl.__version__, "fixtures were made with another TRL: regenerate them"
    same(committed, json.loads(make_grpo_fixtures.dumps(fresh[name])))


def test_cases_cover_every_loss_type(fresh):
    cases = fresh["trl_losses.json"]["cases"]
    seen = {(c["loss_type"], c["importance_sampling_level"], c["beta"] > 0) for c in cases}
    for lt in ["grpo", "bnpo", "dr_grpo", "dapo"]:
        for level in ["token", "sequence"]:
            for kl in [False, True]:
                assert (lt, level, kl) in seen
    for c in cases:
        assert all(math.isfinite(v) for v in c["trl"]["loss"]), c["name"]
        assert any(g != 0 for row in c["trl"]["grad"] for g in row), c["name"]


def test_regeneration_is_byte_identical(fresh):
    again = make_grpo_fixtures.generate()
    for name, obj in fresh.items():
        assert make_grpo_fixtures.dumps(again[name]) == make_grpo_fixtures.dumps(obj), name
