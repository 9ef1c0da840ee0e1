#!/usr/bin/env python3
"""Builds the tiny SentencePiece Unigram fixtures for UnigramTokenizer (Swift) and their expected outputs.

The real T5 / Flan-T5 spiece.model cannot be downloaded here, so a small unigram model is trained with the
`sentencepiece` package on generated English-like text (plus accents, other scripts, emoji, Python's own
module docstrings), the way T5's was: `model_type=unigram`, `normalization_rule_name=nmt_nfkc` (so the model
carries the Precompiled charsmap), pad 0, eos 1, unk 2, no bos, no byte fallback. Then:

* tiny-unigram-spiece/: spiece.model + a minimal tokenizer_config.json (`tokenizer_class: T5Tokenizer`).
  transformers 5's AutoTokenizer refuses a directory holding spiece.model alone (it cannot pick a class
  and the generic backend looks for tokenizer.model), so the config names the class; the script checks
  that `T5Tokenizer.from_pretrained(dir with spiece.model only)` gives the same results.
* tiny-unigram/: what `save_pretrained` of that tokenizer writes (tokenizer.json + tokenizer_config.json):
  Unigram vocab = the spm pieces then `<extra_id_99>` … `<extra_id_0>`, normalizer Precompiled,
  pre-tokenizer Sequence[WhitespaceSplit, Metaspace(always)], decoder Metaspace(always),
  TemplateProcessing `$A </s>`.
* expected.json (in tiny-unigram/): for every corpus string the ids of `AutoTokenizer(dir)(text)` and the
  decodes with and without skip_special_tokens; decodes of random id lists; and "variants", each stored as
  the entries where it differs from the base:
  - spiece: AutoTokenizer on tiny-unigram-spiece/ (expected: no difference);
  - rawFile: `tokenizers.Tokenizer.from_file(tiny-unigram/tokenizer.json)` (no difference);
  - cleanup: tokenizer_config.json with clean_up_tokenization_spaces true (transformers 5 applies it to
    Unigram models; only decodes differ);
  - legacyFalse: tokenizer_config.json with legacy false (transformers 5's T5Tokenizer ignores it);
  - patched tokenizer.json files run by `Tokenizer.from_file` (the patch is stored; `"$CHARSMAP"` stands
    for the fixture's Precompiled normalizer): the pipeline transformers' SpmConverter / T5Converter
    writes (Sequence[Precompiled, Strip(right), Replace(" {2,}", "▁")], Metaspace with prepend_scheme
    "always" = legacy true, "first" = legacy false), the old t5-small layout (Metaspace add_prefix_space),
    and an NFKC + Lowercase normalizer;
  - byteFallback: a small hand-made tokenizer.json (stored whole) with byte pieces and the Llama-style
    Prepend/Replace normalizer and Replace/ByteFallback/Fuse/Strip decoder.
  The last two are checked on a subset of the corpus ("indices") to keep the fixture small.

Usage: python3 scripts/make_unigram_fixtures.py [--out Tests/BLIPTests/Fixtures]
"""

import argparse
import base64
import codecs
import contextlib
import copy
import importlib
import io
import json
import os
import random
import shutil
import tempfile

import sentencepiece as spm
import tokenizers
import transformers
from tokenizers import Tokenizer
from transformers import AutoTokenizer, T5Tokenizer

SEED = 20240612
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VOCAB_SIZE = 1000
# The nfkcLowercase and byteFallback variants differ almost everywhere: only a subset of the corpus is kept.
VARIANT_SUBSET = 200

# --------------------------------------------------------------------------------------------------
# Training text

WORDS = """the of and to in is was for on that with as by at from his her it an are be this which or
have had not but one all were they their there been has when who will more no if out so said what up its
about into than them can only other new some could time these two may then do first any my now such like
our over man me even most made after also did many before must through back years where much your way well
down should because each just those people how too little state good very make world still own see men work
long get here between both life being under never day same another know while last might us great old year
dog cat car bus train tree house street road city park beach river mountain sky cloud water food table chair
bed window door picture photo image camera woman child girl boy person group player team ball game field
grass flower bird horse cow sheep elephant giraffe zebra bear pizza sandwich cake banana apple orange bowl
plate cup glass bottle phone laptop keyboard computer television kitchen room clock vase book umbrella bag
kite snow boat plane sign light red blue green yellow white black brown gray pink small large big tall young
happy sitting standing walking running riding holding playing eating looking wearing question answer color
number kind shirt hat helmet jacket dress shoes hair face hand head eye eyes mouth smile""".split()

NAMES = "Alice Bob Carol David Emma Frank Grace Henry London Paris Tokyo Berlin Madrid T5 BLIP Flan".split()
ACCENTED = ("café naïve résumé Zürich São Paulo Ångström Straße Größe über façade déjà vu señor niño año "
            "crème brûlée piñata Kraków Łódź Dvořák fiancée coöperate Ærøskøbing Þórr Việt Nam tiếng").split()
OTHER_SCRIPTS = ["привет мир", "Москва", "καλημέρα κόσμε", "中文", "中国的城市", "日本語のテキスト", "東京タワー",
                 "한국어 문장", "서울", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีครับ"]
EMOJI = ["😀", "👍", "❤️", "🎉", "🐶", "🍕"]
QUESTIONS = ["what is this", "what color is the car", "how many people are there", "where is the cat",
             "what is the man holding", "is it raining", "what kind of dog is this", "who is in the picture"]
ANSWERS = ["a dog", "red", "two", "on the bed", "an umbrella", "yes", "no", "pizza"]
CONTRACTIONS = ["it's", "don't", "can't", "we're", "they've", "I'm", "you'll", "isn't", "that's"]
DOC_MODULES = ["os", "re", "json", "collections", "itertools", "functools", "textwrap", "string", "typing",
               "dataclasses", "enum", "pathlib", "argparse", "logging", "decimal", "fractions", "statistics",
               "heapq", "bisect", "datetime", "calendar", "inspect", "difflib", "csv", "zipfile", "shutil",
               "glob", "tempfile", "pickle", "copy", "pprint", "contextlib", "hashlib", "base64", "struct",
               "codecs", "unicodedata", "random", "math"]


def training_lines(rng, n=5000):
    with contextlib.redirect_stdout(io.StringIO()):
        import this  # noqa: F401 (its text is rot13 in this.s)
    lines = codecs.decode(this.s, "rot13").splitlines()
    for name in DOC_MODULES:
        module = importlib.import_module(name)
        for obj in [module] + [getattr(module, a) for a in sorted(dir(module)) if not a.startswith("_")][:60]:
            doc = getattr(obj, "__doc__", None)
            if isinstance(doc, str):
                lines += [line.strip() for line in doc.splitlines() if line.strip()]
    for _ in range(n):
        kind = rng.random()
        if kind < 0.12:
            q, a = rng.choice(QUESTIONS), rng.choice(ANSWERS)
            lines.append(f"Question: {q}? Answer: {a}" if rng.random() < 0.7 else f"Question: {q}? Answer:")
            continue
        words = []
        for _ in range(rng.randint(3, 16)):
            r = rng.random()
            if r < 0.7:
                words.append(rng.choice(WORDS))
            elif r < 0.77:
                words.append(rng.choice(NAMES))
            elif r < 0.83:
                words.append(rng.choice(CONTRACTIONS))
            elif r < 0.88:
                words.append(str(rng.choice([rng.randint(0, 100), rng.randint(100, 10000), 2024])))
            elif r < 0.94:
                words.append(rng.choice(ACCENTED))
            elif r < 0.985:
                words.append(rng.choice(OTHER_SCRIPTS))
            else:
                words.append(rng.choice(EMOJI))
        lines.append(" ".join(words) + rng.choice([".", ".", "!", "?", ",", "", "..."]))
    return lines


# --------------------------------------------------------------------------------------------------
# Test corpus

def test_corpus(rng):
    fixed = [
        "", " ", "  ", "\t", "\n", "\r\n", " \t \n ", "\n\n\n", "a", " a", "a ", "  a", "\ta", "a\n\nb",
        "a \n b", "hello world", "Hello world", " Hello world", "Hello  world", "Hello   world ",
        "trailing spaces   ", "   leading spaces", "tabs\tand\tmore\ttabs", "line one\nline two\nline three",
        "windows\r\nline\r\nends", "mixed \t\n whitespace \t run", "end with newline\n", "a\u00a0b",
        "no\u00a0break\u00a0space", "em\u2003space", "line\u2028separator", "next\u0085line", "vt\x0bff\x0c",
        "zero\u200bwidth", "bom\ufeffinside", "\ufeffbom first", "ideographic\u3000space", "\u3000", "\u3000x",
        "\u200b", "\u200bstart", "x \u200b y",
        "it's", "don't", "we're", "I've", "I'm", "DON'T", "'s", "'", "rock'n'roll", "it’s curly",
        "hello , world . it 's", "do n't", "he said ' hi ' to me", " ?", "what ? really !", "a . b , c ! d ?",
        "123", "3.14159", "1,000,000", "2024-01-01", " 42", "4 2", "007", "١٢٣", "½", "¼ cup", "²³", "x²",
        "Ⅻ", "ⅷ", "①②", "⑳", "⒈", "a1b2c3", "v2.0.1", "+1 (555) 123-4567", "100%", "$19.99", "1e-10",
        "10:30am", "１２３", "１２３abc", "Ｈｅｌｌｏ", "ｆｕｌｌｗｉｄｔｈ　ｓｐａｃｅ", "！？", "（括弧）", "＜tag＞",
        "Hello, world!", "...", "…", "?!?!", "(a)[b]{c}", "--", "@user #tag", "a/b\\c", "<tag>", "C++",
        "e.g. i.e.", "\"quoted\"", "‘single’", "“double”", "«guillemets»", "—dash—", "a - b", "foo_bar",
        "__init__", "CamelCaseName", "http://example.com/path?q=1&r=2", "user@example.com", "::", "~`^",
        "€100", "£5", "¥1000", "©®™", "™", "℃", "㎞", "㍻", "ℌ", "ℕ", "ﬁne", "ﬀ", "Ⓐⓑ", "𝐀𝐁𝐂", "𝔘𝔫𝔦",
        "café", "cafe\u0301", "naïve résumé", "nai\u0308ve", "Zürich", "Zu\u0308rich", "São Paulo",
        "A\u030angstro\u0308m", "Ångström", "\u212bngstr\u00f6m", "Straße", "ÉCOLE", "E\u0301COLE", "ñandú",
        "n\u0303", "Crème Brûlée", "Dvořák", "Ærøskøbing", "Þórr", "ǅemal", "ʰʲ", "Tiếng Việt",
        "Tie\u0302\u0301ng Vie\u0323\u0302t", "ệ", "e\u0323\u0302", "e\u0302\u0323", "Ａ\u0301", "①\u0301",
        "ｶﾞ", "ｶ\uff9e", "Ａ\uff9f\u0301", "Y\uff9e\u0323\u0323e", "ﾊﾟﾝ", "ｱｲｳｴｵ", "ガ", "カ\u3099", "が", "か\u3099",
        "中文字符", "日本語のテキスト", "한국어 문장", "한", "\u1112\u1161\u11ab", "中文 English 混合",
        "全角　スペース", "東京タワーに行きました。", "我爱北京天安门", "北京是中国的首都。", "引き出し", "鬱",
        "привет мир", "Привет, мир!", "καλημέρα κόσμε", "ΑΘΗΝΑ", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया",
        "क्षत्रिय", "स्त्री", "สวัสดีครับ", "ქართული", "Հայերեն", "ﷺ", "ﻻ",
        "😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "❤️", "❤", "🇫🇷", "🇯🇵🇺🇸", "I ❤️ NY", "👩🏾‍💻 coding", "😀😀😀",
        " 😀", "😀 ", "a😀b", "🐶🍕🚗", "✨new✨", "👋🏻👋🏼", "☺︎", "#️⃣", "1️⃣", "🫠",
        "\x00", "a\x00b", "\x01\x02\x03", "\x7f", "\x1b[31mred\x1b[0m", "bell\x07", "\x08", "a\x0cb",
        "\u0301", " \u0301", "a\u0301\u0302", "\u0300abc", "\u0301\u0301\u0301", "e\u0301 \u0301e",
        "\ue000", "\uffff", "\ufffd", "\u0378", "\U0010ffff", "\u2060", "\u00ad", "soft\u00adhyphen", "\ufe0f",
        "supercalifragilisticexpialidocious", "pneumonoultramicroscopicsilicovolcanoconiosis",
        "ab" * 150, "z" * 257, "x" * 300, "Mississippi", "bookkeeper", "aaaaaaaaaaaaaaaa",
        "</s>", "a</s>b", " </s> ", "</s></s>", "</s>Hello", "Hello</s>", "Hello </s> world", "\t</s>\n",
        "<pad>", "<unk>", "<pad><pad>", "<s>", "<extra_id_0>", "<extra_id_3>", "<extra_id_99>", "<extra_id_100>",
        "<extra_id_>", "<extra_id_3", "extra_id_3>", "<EXTRA_ID_3>", "< extra_id_3 >",
        "The <extra_id_0> walks in <extra_id_1> park", "<extra_id_0> cute dog <extra_id_1> the <extra_id_2>",
        "x<extra_id_5>y", "<extra_id_5><extra_id_6>", "  <extra_id_7>  ", "<extra_id_8>\n</s>",
        "</s> <pad> <unk> <extra_id_9>", "<unk>nown", "a<pad>b", "<extra_id_12>é", "é<extra_id_12>",
        "Question: what is in the picture? Answer:", "Question: what is this? Answer:",
        "Question: how many dogs are there? Answer:", "Question: What color is the car? Answer: red",
        "Question: what is the man holding? Answer: an umbrella", "a photo of", "a photo of a dog",
        "A picture of two cats sitting on a couch.", "Question: is it raining? Answer: no. Question: why? Answer:",
        "Answer:", "Question:", "Question:what is this?Answer:", "question: WHAT IS THIS? answer:",
        "translate English to German: The house is wonderful.", "summarize: the quick brown fox",
        "▁", "▁▁", "a▁b", "▁hello", "hello▁", " ▁ ", "__", "▁\u0301",
        # Added tokens of the byteFallback variant (normalized, lstrip / rstrip, single_word, non-special).
        "hello world", "say hello world!", "HELLO world", "a <mask> b", "a   <mask>   b", "<mask><mask>", "\t<mask>",
        "zq", "a zq b", "azq", "zqa", "zq.", "é zq", "Ünï", "xÜnïy", "Ünï <mask> zq hello world",
    ]
    generated = list(training_lines_random(random.Random(rng.random()), 50))
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    pool = (list(letters) + list("0123456789") + list(" \t\n.,!?'\"-_()[]") +
            ["é", "ü", "ß", "中", "文", "😀", "👍🏽", "\u0301", "\u0308", "\u00a0", "ñ", "Ａ", "１", "ｶ", "\uff9e",
             "\u3000", "①", "ﬁ", "▁", "</s>", "<extra_id_4>", "\u200b", "한", "क्ष"])
    for _ in range(45):
        generated.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 40))))
    for _ in range(15):
        generated.append("".join(rng.choice(letters) for _ in range(rng.randint(15, 60))))
    for _ in range(20):
        ws = rng.choice([" ", "  ", "\t", "\n", " \n", "\n ", "   ", "\r\n", " \t", "\u3000", "\u00a0"])
        generated.append(ws.join(rng.choice(WORDS) for _ in range(rng.randint(2, 8))) + rng.choice(["", " ", ws]))
    for _ in range(15):
        parts = [rng.choice(WORDS) for _ in range(rng.randint(1, 5))]
        for _ in range(rng.randint(1, 3)):
            parts.insert(rng.randint(0, len(parts)),
                         rng.choice(["</s>", "<pad>", "<unk>", f"<extra_id_{rng.randint(0, 99)}>", " </s> "]))
        generated.append(rng.choice(["", " "]).join(parts))
    generated.append(" ".join(rng.choice(WORDS) for _ in range(120)))
    out, seen = [], set()
    for s in fixed + generated:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def variant_subset(texts):
    """Corpus indices checked for the nfkcLowercase / byteFallback variants: those with the byteFallback
    variant's added tokens, the short non-ASCII strings (where normalisers and byte fallback matter),
    then the others, VARIANT_SUBSET in all."""
    marks = ["hello world", "<mask>", "zq", "Ünï"]
    short = [i for i, t in enumerate(texts) if len(t) <= 40]
    first = ([i for i, t in enumerate(texts) if any(m in t for m in marks)] +
             [i for i in short if any(ord(c) > 127 for c in texts[i])] + short)
    return sorted(list(dict.fromkeys(first))[:VARIANT_SUBSET])


def training_lines_random(rng, n):
    """Generated lines only (no docstrings), for the test corpus."""
    lines = []
    for _ in range(n):
        words = [rng.choice(WORDS + NAMES + ACCENTED + CONTRACTIONS + OTHER_SCRIPTS + EMOJI)
                 for _ in range(rng.randint(2, 12))]
        if rng.random() < 0.5:
            words[0] = words[0].capitalize()
        lines.append(" ".join(words) + rng.choice([".", "!", "?", ",", "", "..."]))
    return lines


# --------------------------------------------------------------------------------------------------
# Building the fixtures

def train(workdir, rng):
    # Relative paths: trainer_spec records `input` and `model_prefix`, so the model stays byte-identical.
    cwd = os.getcwd()
    os.chdir(workdir)
    with open("train.txt", "w", encoding="utf-8") as f:
        f.write("\n".join(training_lines(rng)) + "\n")
    spm.SentencePieceTrainer.train(
        input="train.txt", model_prefix="spiece", vocab_size=VOCAB_SIZE, model_type="unigram",
        normalization_rule_name="nmt_nfkc", pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
        character_coverage=0.9995, byte_fallback=False, num_threads=1, minloglevel=2)
    os.chdir(cwd)
    return os.path.join(workdir, "spiece.model")


def write_json(path, obj, indent=2):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=indent)
        f.write("\n")


def outputs(encode, decode, texts):
    rows = []
    for text in texts:
        ids = encode(text)
        rows.append({"text": text, "ids": ids, "decoded": decode(ids, False), "decodedSkipSpecial": decode(ids, True)})
    return rows


def compact(row):
    """Drops `decoded` when it is `decodedSkipSpecial` + "</s>" (the post-processor's eos, kept by the decode)."""
    row = dict(row)
    if row["decoded"] == row["decodedSkipSpecial"] + "</s>":
        del row["decoded"]
    return row


def hf_functions(tok):
    return (lambda t: tok(t)["input_ids"],
            lambda ids, skip: tok.decode(ids, skip_special_tokens=skip))


def raw_functions(tok):
    return (lambda t: tok.encode(t).ids,
            lambda ids, skip: tok.decode(ids, skip_special_tokens=skip))


def overlay(base, rows, indices=None):
    """The fields of `rows` that differ from `base`, keyed by corpus index (only `indices` when given)."""
    diff = {}
    for i, (b, r) in enumerate(zip(base, rows)):
        if indices is not None and i not in indices:
            continue
        changed = {k: r[k] for k in ("ids", "decoded", "decodedSkipSpecial") if r[k] != b[k]}
        if changed:
            diff[str(i)] = changed
    return diff


def patched_json(tokenizer_json, patch):
    j = copy.deepcopy(tokenizer_json)
    charsmap = tokenizer_json["normalizer"]

    def fill(node):
        if node == "$CHARSMAP":
            return copy.deepcopy(charsmap)
        if isinstance(node, dict):
            return {k: fill(v) for k, v in node.items()}
        if isinstance(node, list):
            return [fill(v) for v in node]
        return node
    for key, value in patch.items():
        j[key] = fill(value)
    return j


PATCHES = {
    # transformers' SpmConverter / T5Converter: normalizer() and pre_tokenizer()/decoder() with legacy true.
    "converterAlways": {
        "normalizer": {"type": "Sequence", "normalizers": [
            "$CHARSMAP", {"type": "Strip", "strip_left": False, "strip_right": True},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": "▁"}]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
        "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
    },
    # Same with legacy false (prepend_scheme "first").
    "converterFirst": {
        "normalizer": {"type": "Sequence", "normalizers": [
            "$CHARSMAP", {"type": "Strip", "strip_left": False, "strip_right": True},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": "▁"}]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": True},
        "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": True},
    },
    # The original t5-small tokenizer.json layout (tokenizers < 0.14 Metaspace fields).
    "oldLayout": {
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "WhitespaceSplit"}, {"type": "Metaspace", "replacement": "▁", "add_prefix_space": True}]},
        "decoder": {"type": "Metaspace", "replacement": "▁", "add_prefix_space": True},
    },
    # Other normalizers: NFKC, Lowercase, Strip both sides; Metaspace without split, never prepending.
    "nfkcLowercase": {
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFKC"}, {"type": "Lowercase"}, {"type": "Strip", "strip_left": True, "strip_right": True},
            {"type": "Replace", "pattern": {"String": "\t"}, "content": " "}]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "WhitespaceSplit"},
            {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never", "split": False}]},
        "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never", "split": False},
    },
}


def byte_fallback_json(tokenizer_json):
    """A small Llama-style Unigram tokenizer.json: byte pieces, Prepend/Replace normalizer, no pre-tokenizer."""
    vocab = [v for v in tokenizer_json["model"]["vocab"][:400] if not v[0].startswith("<extra_id_")]
    vocab += [[f"<0x{b:02X}>", -20.0] for b in range(256)]
    t = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [
            {"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True} for i, c in enumerate(["<pad>", "</s>", "<unk>"])] + [
            {"id": 0, "content": "hello world", "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": True, "special": False},
            {"id": 0, "content": "<mask>", "single_word": False, "lstrip": True, "rstrip": True,
             "normalized": False, "special": True},
            {"id": 0, "content": "zq", "single_word": True, "lstrip": False, "rstrip": False,
             "normalized": False, "special": False},
            {"id": 0, "content": "Ünï", "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": False}],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
        "pre_tokenizer": None,
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                           "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"</s>": {"id": "</s>", "ids": [1], "tokens": ["</s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"},
            {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "Unigram", "unk_id": 2, "vocab": vocab, "byte_fallback": True},
    }
    return t


def decode_cases(n_vocab, rng, count):
    cases = []
    for _ in range(count):
        ids = [rng.choice([0, 1, 2, rng.randrange(n_vocab), rng.randrange(n_vocab), rng.randrange(3, 40),
                           n_vocab - 1 - rng.randrange(100), n_vocab + rng.randrange(5)])
               for _ in range(rng.randint(0, 12))]
        cases.append(ids)
    return cases + [[], [1], [0, 0, 1], [2], [5, 1, 5], [999999]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "Tests", "BLIPTests", "Fixtures"))
    args = ap.parse_args()
    rng = random.Random(SEED)
    main_dir = os.path.join(args.out, "tiny-unigram")
    spiece_dir = os.path.join(args.out, "tiny-unigram-spiece")
    for d in (main_dir, spiece_dir):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)

    with tempfile.TemporaryDirectory() as work:
        model = train(work, rng)
        shutil.copy(model, os.path.join(spiece_dir, "spiece.model"))
        bare = os.path.join(work, "bare")
        os.makedirs(bare)
        shutil.copy(model, os.path.join(bare, "spiece.model"))
        write_json(os.path.join(spiece_dir, "tokenizer_config.json"), {"tokenizer_class": "T5Tokenizer"})

        from_spiece = AutoTokenizer.from_pretrained(spiece_dir)
        assert type(from_spiece).__name__ == "T5Tokenizer", type(from_spiece)
        from_spiece.save_pretrained(main_dir)
        # save_pretrained writes absolute-path-free configs; keep them as they are.
        hf = AutoTokenizer.from_pretrained(main_dir)
        bare_tok = T5Tokenizer.from_pretrained(bare)
        with open(os.path.join(main_dir, "tokenizer.json"), encoding="utf-8") as f:
            tokenizer_json = json.load(f)

        texts = test_corpus(rng)
        subset = variant_subset(texts)
        base = outputs(*hf_functions(hf), texts)
        variants = {}
        variants["spiece"] = {"diff": overlay(base, outputs(*hf_functions(from_spiece), texts))}
        assert overlay(base, outputs(*hf_functions(bare_tok), texts)) == {}, "bare spiece.model dir differs"
        raw = Tokenizer.from_file(os.path.join(main_dir, "tokenizer.json"))
        variants["rawFile"] = {"diff": overlay(base, outputs(*raw_functions(raw), texts))}

        for name, change in [("cleanup", {"clean_up_tokenization_spaces": True}), ("legacyFalse", {"legacy": False})]:
            d = os.path.join(work, name)
            shutil.copytree(main_dir, d)
            cfg_path = os.path.join(d, "tokenizer_config.json")
            with open(cfg_path, encoding="utf-8") as f:
                cfg = json.load(f)
            cfg.update(change)
            write_json(cfg_path, cfg)
            tok = AutoTokenizer.from_pretrained(d)
            variants[name] = {"config": change, "diff": overlay(base, outputs(*hf_functions(tok), texts))}

        for name, patch in PATCHES.items():
            path = os.path.join(work, name + ".json")
            write_json(path, patched_json(tokenizer_json, patch))
            tok = Tokenizer.from_file(path)
            variants[name] = {"patch": patch}
            if name == "nfkcLowercase":
                variants[name]["indices"] = subset
            variants[name]["diff"] = overlay(base, outputs(*raw_functions(tok), texts), variants[name].get("indices"))

        bf = byte_fallback_json(tokenizer_json)
        path = os.path.join(work, "bf.json")
        write_json(path, bf)
        tok = Tokenizer.from_file(path)
        bf_rows = outputs(*raw_functions(tok), texts)
        variants["byteFallback"] = {"tokenizerJSON": bf, "count": tok.get_vocab_size(True), "indices": subset,
                                    "diff": overlay(base, bf_rows, subset)}

        n_vocab = len(hf)
        cases = [{"ids": ids, "decoded": hf.decode(ids), "decodedSkipSpecial": hf.decode(ids, skip_special_tokens=True)}
                 for ids in decode_cases(n_vocab, rng, 60)]

        expected = {
            "generator": "scripts/make_unigram_fixtures.py",
            "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
            "sentencepiece": spm.__version__,
            "count": n_vocab, "bosTokenId": hf.bos_token_id, "eosTokenId": hf.eos_token_id,
            "padTokenId": hf.pad_token_id, "unkTokenId": hf.unk_token_id,
            "spieceCount": len(from_spiece),
            "entries": [compact(row) for row in base], "decodeCases": cases, "variants": variants,
        }
        write_json(os.path.join(main_dir, "expected.json"), expected, indent=None)

    print(f"{len(texts)} corpus strings, {len(cases)} decode cases")
    for name, v in variants.items():
        print(f"  {name}: {len(v['diff'])} entries differ from the base")
    for d in (main_dir, spiece_dir):
        for f in sorted(os.listdir(d)):
            print(f"  {os.path.relpath(os.path.join(d, f), args.out)}: {os.path.getsize(os.path.join(d, f))} bytes")


if __name__ == "__main__":
    main()
