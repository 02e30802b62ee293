#!/usr/bin/env python3
"""Golden fixtures for policy/tokenizer, written with Hugging Face `tokenizers`.

For each layout below the script writes testdata/tokenizer/<name>/tokenizer.json
and cases.jsonl: one {"text", "ids", "ids_special", "decoded"} per case, where
ids = encode(text, add_special_tokens=False), ids_special = encode(text) (the
post-processor's template applied) and decoded = decode(ids). The Go test
TestGoldenTokenizers requires the same ids and decoded text.

  gpt2    ByteLevel pre-tokenizer with GPT-2's regex, BpeTrainer, merges written
          as "a b" strings; added tokens with lstrip / rstrip / single_word /
          normalized flags.
  qwen2   NFC, Sequence[Split(Qwen2 regex, Isolated), ByteLevel(use_regex=False)],
          ChatML special tokens.
  llama3  Sequence[Split(Llama-3 regex, digits 1-3), ByteLevel], ignore_merges
          with whole words added to the vocab without merges, merges as pairs,
          TemplateProcessing with <|begin_of_text|>.
  rft     trained by rft itself (`rft tokenizer train`, or the Go test's
          -update flag when the CLI is not built) on corpus.txt.

Everything is deterministic: the corpus comes from a seeded generator, and
BpeTrainer is deterministic for a fixed corpus.

Usage: compat/.venv/bin/python compat/make_tokenizer_fixtures.py
"""
import json
import os
import random
import subprocess
import sys

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "testdata", "tokenizer")

QWEN2 = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
LLAMA3 = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

WORDS = """the of and to in is that for it as was with be by on not he this are or his from at which but have an
they you were her she there been one all we their has would when if so no will can more about what up said out
model token train reward rubric policy gradient sample batch layer attention tokenizer merge vocabulary corpus
don't it's I'm you're we've they'll he'd she's can't won't isn't O'Neil's rock'n'roll""".split()
ACCENTED = "café naïve résumé Zürich São Paulo Ångström crème brûlée façade jalapeño Straße über élève Łódź".split()
CJK = ["中文分词测试", "日本語のテキスト", "한국어 텍스트", "机器学习", "東京都", "강화 학습", "漢字", "ひらがな", "カタカナ"]
OTHER = ["Привет мир", "Γειά σου κόσμε", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "ภาษาไทย", "Tiếng Việt"]
EMOJI = ["🙂", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "❤️", "🚀", "🤖", "✨"]
CODE = [
    "def f(x):\n    return x * 2\n",
    "func main() {\n\tfmt.Println(\"hi\")\n}\n",
    "for i in range(10):\n    print(i, i**2)\n",
    "if (a && b || !c) { return; }",
    "<div class=\"x\">&amp;</div>",
    "SELECT * FROM t WHERE id = 1;",
    "x += 1; y -= 2; z **= 3",
    "https://example.com/a?b=c&d=e#f",
]


def corpus_line(rng):
    kind = rng.random()
    if kind < 0.55:
        n = rng.randint(4, 16)
        words = [rng.choice(WORDS) for _ in range(n)]
        if rng.random() < 0.3:
            words[rng.randrange(n)] = rng.choice(ACCENTED)
        if rng.random() < 0.2:
            words[rng.randrange(n)] = str(rng.choice([rng.randint(0, 99), rng.randint(100, 99999), 2024, 1000000]))
        s = " ".join(words)
        return s[0].upper() + s[1:] + rng.choice([".", "!", "?", ",", ":", "..."])
    if kind < 0.7:
        return rng.choice(CJK) + rng.choice(["。", "，", "", " "]) + rng.choice(CJK)
    if kind < 0.78:
        return rng.choice(OTHER) + " " + rng.choice(EMOJI)
    if kind < 0.9:
        return rng.choice(CODE)
    return "\t".join(str(rng.randint(0, 10 ** rng.randint(1, 8))) for _ in range(rng.randint(2, 5)))


def make_corpus(seed, lines):
    rng = random.Random(seed)
    out = []
    for _ in range(lines):
        line = corpus_line(rng)
        out.append(line + ("\n\n" if rng.random() < 0.1 else "\n"))
    return "".join(out)


CASES = [
    "", " ", "  ", "\t", "\n", "\r\n", "Hello, world!", "The quick brown fox jumps over the lazy dog.",
    "a\n\nb", "trailing spaces   ", "   leading spaces", "tabs\tand\t\ttabs", "mixed \t \n  whitespace \r\n end",
    "line1\r\nline2\rline3\n", "a  b   c    d", "x \n y", " \n", "\n ", "word\n\n\n", "   \n   \n", "\n\n\t\n x",
    "café naïve résumé Zürich São Paulo", "e\u0301 composed vs é", "A\u030angstr\u00f6m", "ﬁ ligature ﬀ", "a\u0300\u0301 stacked",
    "中文分词测试", "日本語のテキストです。", "한국어 텍스트", "混合 mixed 文本 text", "Hello世界123abc",
    "🙂", "👍🏽", "👨‍👩‍👧‍👦 family", "🏳️‍🌈 flag", "❤️ heart", "emoji🙂inside🚀words", "🤖🤖🤖",
    "0", "7", "42", "123", "1234", "12345", "12345678901234567890", "3.14159", "1,000,000", "-17", "2024-05-01",
    "v1.2.3", "½ ¼ ² ³ ٣٤٥ ⅷ", "x² + y³", "phone: +1 (555) 010-9999",
    "def f(x):\n    return x * 2\n", "func main() {\n\tfmt.Println(\"hi\")\n}\n", "if (a && b || !c) { return; }",
    "<div class=\"x\">&amp;</div>", "SELECT * FROM t WHERE id = 1;", "path/to/file.go:12:34",
    "https://example.com/a?b=c&d=e#f", "x+=1; y-=2; z**=3", "    indented\n        more\n",
    "I'm", "you're", "we've", "they'll", "he'd", "it's", "don't", "DON'T", "I'M", "You'Re", "WE'VE", "'s", "'S",
    "'ll", "'x", "rock 'n' roll", "O'Neil's", "'ſ", "''", "'''", "it''s",
    "Привет мир", "Γειά σου κόσμε", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "ภาษาไทย", "Tiếng Việt",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math", "ǅ titlecase", "...", "!!!???", "-- --- ----", "\u00a0nbsp\u00a0", "\u3000ideographic space",
    "zero\u200bwidth", "\u2028line separator", "null\u0000byte", "control\u0001\u007f", "\ufeffBOM",
    "The model's reward rose from 0.12 to 0.87 after 1500 steps; it's good.",
    "Multiple   spaces\tand\ttabs,\n\nnewlines  \n and trailing  ",
]

SPECIAL_CASES = {
    "gpt2": [
        "a<|endoftext|>b", "<|endoftext|><|endoftext|>", "text <|endoftext|> more", "<|endoftext",
        "hello <mask> world", "hello<mask>", "hello   <mask>", "<mask>", " <mask> ", "x [[cut]]   y", "[[cut]]\n\nz",
        "foobar", "afoobar", "foobar!", "the foobar is", "FOOBAR", "foobarfoobar", "foobar_x",
    ],
    "qwen2": [
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n",
        "a<|endoftext|>b", "<|im_end|><|im_end|>", "<|im_start", "text <|im_end|> more",
    ],
    "llama3": [
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
        "tokenization", " tokenization", "unbelievable tokenization", " Zürich", "Zürich", " 2024", "2024",
        "a<|eot_id|>b", "<|eot_id|><|eot_id|>",
    ],
    "rft": [
        "<|user|>\nHi!<|end|>\n<|assistant|>\nHello.<|end|>\n", "a<|endoftext|>b", "<|end|><|end|>", "<|end",
    ],
}


# Adversarial strings: random draws from a soup of the characters and pieces
# where the regexes, contractions, whitespace rules and added-token flags
# have edges.
SOUP = list("aAbBsStTdDmMlLrReEvV'’ \t\n\r0123456789!?.,;:-_()[]{}<>/\\\"&|+*=#@$%^~`") + list(
    "éüßçñøå中文日本語한국어Привет🙂👍🏽\u200d\u00a0\u3000\u2028\u0301ſ²½٣") + [
    "<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<|end|>", "<mask>", "[[cut]]", "foobar", "  ", "\n\n", "'s", "'LL", " 'x"]


def soup_cases(seed, n):
    rng = random.Random(seed)
    return ["".join(rng.choice(SOUP) for _ in range(rng.randint(1, 25))) for _ in range(n)]


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


B2U = bytes_to_unicode()


def byte_level(s):
    return "".join(B2U[b] for b in s.encode("utf-8"))


def train(tok, corpus, vocab_size, specials):
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(corpus.splitlines(keepends=True), trainer=trainer)
    return tok


def reload(doc):
    return Tokenizer.from_str(json.dumps(doc, ensure_ascii=False))


def build_gpt2(corpus):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=True)
    train(tok, corpus, 1000, ["<|endoftext|>"])
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, normalized=False, special=True)])
    tok.add_tokens([
        AddedToken("[[cut]]", rstrip=True, normalized=False),
        AddedToken("foobar", single_word=True, normalized=True),
    ])
    doc = json.loads(tok.to_str())
    # GPT-2's own file writes merges as "a b" strings; exercise that form here.
    doc["model"]["merges"] = [m if isinstance(m, str) else " ".join(m) for m in doc["model"]["merges"]]
    return doc


def build_qwen2(corpus):
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    train(tok, corpus, 1200, [])
    tok.add_special_tokens(["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    return json.loads(tok.to_str())


def build_llama3(corpus):
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    train(tok, corpus, 1200, [])
    doc = json.loads(tok.to_str())
    # Whole words in the vocab that no merge builds: with ignore_merges they
    # are found by the vocab lookup alone, as in Llama-3's real file.
    vocab = doc["model"]["vocab"]
    for w in [" tokenization", "unbelievable", " Zürich", " Straße"]:
        bl = byte_level(w)
        if bl not in vocab:
            vocab[bl] = len(vocab)
    tok = reload(doc)
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
    tok.add_special_tokens(specials)
    doc = json.loads(tok.to_str())
    bos = next(t["id"] for t in doc["added_tokens"] if t["content"] == "<|begin_of_text|>")
    doc["post_processor"] = {
        "type": "Sequence",
        "processors": [
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
            {
                "type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [
                    {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                    {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}},
                ],
                "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [bos], "tokens": ["<|begin_of_text|>"]}},
            },
        ],
    }
    assert all(isinstance(m, list) for m in doc["model"]["merges"]), "merges should be pairs"
    return doc


def train_rft(corpus):
    d = os.path.join(OUT, "rft")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "corpus.txt")
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(corpus)
    out = os.path.join(d, "tokenizer.json")
    cli = ["go", "run", "./cmd/rft", "tokenizer", "train", "--corpus", path, "--vocab-size", "1000", "--out", out]
    if subprocess.run(cli, cwd=ROOT).returncode != 0:
        print("rft tokenizer train unavailable; using the Go test's -update", file=sys.stderr)
        subprocess.run(["go", "test", "./policy/tokenizer/", "-run", "^TestTrainedFixture$", "-update"], cwd=ROOT, check=True)
    with open(out, encoding="utf-8") as f:
        return json.load(f)


def write(name, doc, cases):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    tok = reload(doc)
    if name != "rft":  # rft's file is written by rft and must stay byte for byte
        with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False, indent=1)
            f.write("\n")
    with open(os.path.join(d, "cases.jsonl"), "w", encoding="utf-8") as f:
        for text in cases:
            ids = tok.encode(text, add_special_tokens=False).ids
            rec = {
                "text": text,
                "ids": ids,
                "ids_special": tok.encode(text).ids,
                "decoded": tok.decode(ids, skip_special_tokens=False),
            }
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(f"{name}: {len(cases)} cases, vocab {tok.get_vocab_size()}")


def main():
    corpus = make_corpus(1, 3000)
    sample = make_corpus(2, 60).splitlines()
    base = CASES + [s for s in sample if s] + soup_cases(4, 300)
    write("gpt2", build_gpt2(corpus), base + SPECIAL_CASES["gpt2"])
    write("qwen2", build_qwen2(corpus), base + SPECIAL_CASES["qwen2"])
    write("llama3", build_llama3(corpus), base + SPECIAL_CASES["llama3"])
    write("rft", train_rft(make_corpus(3, 2000)), base + SPECIAL_CASES["rft"])


if __name__ == "__main__":
    main()
