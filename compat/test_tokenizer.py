"""The committed tokenizer fixtures still agree with Hugging Face tokenizers.

testdata/tokenizer/<name>/cases.jsonl holds the ids HF produced when
make_tokenizer_fixtures.py ran; this re-encodes every case with the installed
`tokenizers` so that a version bump that changes ids is noticed. The Go side
(TestGoldenTokenizers) holds rft to the same ids.
"""
import json
import os

import pytest
from tokenizers import Tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "testdata", "tokenizer")
NAMES = ["gpt2", "qwen2", "llama3", "rft"]


@pytest.mark.parametrize("name", NAMES)
def test_cases_match_hf(name):
    tok = Tokenizer.from_file(os.path.join(FIXTURES, name, "tokenizer.json"))
    with open(os.path.join(FIXTURES, name, "cases.jsonl"), encoding="utf-8") as f:
        cases = [json.loads(line) for line in f]
    assert len(cases) >= 100
    for c in cases:
        ids = tok.encode(c["text"], add_special_tokens=False).ids
        assert ids == c["ids"], c["text"]
        assert tok.encode(c["text"]).ids == c["ids_special"], c["text"]
        assert tok.decode(ids, skip_special_tokens=False) == c["decoded"], c["text"]
