#!/usr/bin/env python3
"""Builds the tiny GPT-2 byte-level BPE fixtures for ByteLevelBPETokenizer (Swift) and their expected outputs.

The real OPT / GPT-2 vocabularies cannot be downloaded here, so a small byte-level BPE is trained with the
`tokenizers` library on generated English-like text (plus accents, CJK, emoji), then wrapped the way the
OPT checkpoints (`facebook/opt-*`, `Salesforce/blip2-opt-2.7b`) carry their tokenizer:

* vocab.json with `<s>`=0, `<pad>`=1, `</s>`=2, `<unk>`=3 first, merges.txt (`#version: 0.2` header);
* tokenizer.json as transformers' GPT2Converter writes it for OPT: BPE (no unk token, fuse_unk false),
  ByteLevel pre-tokenizer (add_prefix_space false) and decoder, TemplateProcessing "</s>:0 $A:0"
  (OPT prepends `</s>`, not `<s>`, as bos), added tokens `<pad>` and `</s>` (normalized, special) and
  BLIP-2's `<image>` (special, not normalized) right after the vocabulary;
* tokenizer_config.json (tokenizer_class GPT2Tokenizer, add_bos_token, bos = eos = unk = `</s>`,
  pad `<pad>`) and special_tokens_map.json.

A second, smaller fixture (tiny-bpe-variant) covers what OPT does not use: a RobertaProcessing
post-processor, add_prefix_space true, added tokens with lstrip / rstrip / single_word / normalized,
overlapping and non-ASCII added tokens, and clean_up_tokenization_spaces forced on for BPE.

Expected values (Tests/BLIPTests/Fixtures/tiny-bpe/expected.json) come from
`transformers.AutoTokenizer.from_pretrained(dir)` (transformers 5) and are cross-checked against
`tokenizers.Tokenizer.from_file(tokenizer.json)` and against a directory holding only vocab.json +
merges.txt + the configs: for each corpus string ids with and without special tokens, tokens, decode with
and without skip_special_tokens; decodes of random id lists (broken UTF-8, unknown ids); other checkpoint
layouts (old facebook/opt-* files, added_tokens.json, an `image_token` key, tokenizer.json or
vocab.json + merges.txt alone); BPE options on the variant (ignore_merges, unk / fuse_unk, byte_fallback).
With `--slow-python PY` (an interpreter with transformers < 5, e.g. a venv with transformers==4.57.3), the
legacy pure-Python GPT2Tokenizer is compared too and its differences are printed (ids agree on the whole
corpus; decodes differ only around `<image>`, which the legacy decode neither skips nor glues to its
neighbours).

Usage: python3 scripts/make_bpe_fixtures.py [--out Tests/BLIPTests/Fixtures] [--slow-python venv/bin/python]
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

SEED = 20240611
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# --------------------------------------------------------------------------------------------------
# Training text

WORDS = """the of and to in is was for on that with as by at from his her it an are be this which or
have had not but one all were they their there been has when who will more no if out so said what up its
about into than them can only other new some could time these two may then do first any my now such like
our over man me even most made after also did many before must through back years where much your way well
down should because each just those people how too little state good very make world still own see men work
long get here between both life being under never day same another know while last might us great old year
off come since against go came right used take three dog cat car bus train tree house street road city park
beach river mountain sky cloud water food table chair bed window door picture photo image camera man woman
child girl boy person people group player team ball game field grass flower bird horse cow sheep elephant
giraffe zebra bear pizza sandwich cake banana apple orange bowl plate cup glass bottle phone laptop
keyboard computer television kitchen room bathroom toilet sink clock vase book umbrella bag kite skateboard
surfboard snow ski wave boat plane airplane sign light red blue green yellow white black brown gray pink
purple small large big tall short young happy sitting standing walking running riding holding playing
eating looking wearing flying parked lying near next front top side inside outside behind around across
along together several many few lots question answer what where who why how which color number kind type
shirt hat helmet jacket dress shoes glasses hair face hand head eye eyes mouth smile""".split()

NAMES = "Alice Bob Carol David Emma Frank Grace Henry Isabel Jack London Paris Tokyo Berlin Madrid OPT BLIP GPT".split()
ACCENTED = ("café naïve résumé Zürich São Paulo Ångström Straße Größe über façade déjà vu señor niño año "
            "crème brûlée piñata Kraków Łódź Dvořák fiancée coöperate Ærøskøbing Þórr").split()
OTHER_SCRIPTS = ["привет мир", "Москва", "καλημέρα κόσμε", "Αθήνα", "中文", "中国的城市", "日本語のテキスト",
                 "東京タワー", "한국어 문장", "서울", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया",
                 "สวัสดีครับ", "ქართული", "Հայերեն"]
EMOJI = ["😀", "😂", "👍", "👍🏽", "❤️", "🔥", "🎉", "🐶", "🍕", "🚗", "👨‍👩‍👧", "🏳️‍🌈", "🇫🇷", "👩🏾‍💻", "✨"]
QUESTIONS = ["what is this", "what color is the car", "how many people are there", "where is the cat",
             "what is the man holding", "is it raining", "what kind of dog is this", "who is in the picture",
             "what is on the table", "why is the boy smiling"]
ANSWERS = ["a dog", "red", "two", "on the bed", "an umbrella", "yes", "no", "a golden retriever", "pizza",
           "because he is happy"]
CONTRACTIONS = ["it's", "don't", "can't", "we're", "they've", "I'm", "you'll", "she'd", "isn't", "that's",
                "won't", "he's", "I've", "we'd"]


def training_lines(rng, n=6000):
    lines = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.12:
            q = rng.choice(QUESTIONS)
            a = rng.choice(ANSWERS)
            lines.append(f"Question: {q}? Answer: {a}" if rng.random() < 0.7 else f"Question: {q}? Answer:")
            continue
        if kind < 0.2:
            lines.append("a photo of " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 8))))
            continue
        words = []
        for _ in range(rng.randint(3, 16)):
            r = rng.random()
            if r < 0.72:
                words.append(rng.choice(WORDS))
            elif r < 0.78:
                words.append(rng.choice(NAMES))
            elif r < 0.84:
                words.append(rng.choice(CONTRACTIONS))
            elif r < 0.89:
                words.append(str(rng.choice([rng.randint(0, 100), rng.randint(100, 10000), 2024, 1999])))
            elif r < 0.93:
                words.append(rng.choice(ACCENTED))
            elif r < 0.97:
                words.append(rng.choice(OTHER_SCRIPTS))
            else:
                words.append(rng.choice(EMOJI))
        if rng.random() < 0.5:
            words[0] = words[0].capitalize()
        line = " ".join(words) + rng.choice([".", ".", ".", "!", "?", ",", "", "...", ";"])
        if rng.random() < 0.05:
            line = '"' + line + '"'
        if rng.random() < 0.03:
            line = "(" + line + ")"
        lines.append(line)
    return lines


# --------------------------------------------------------------------------------------------------
# Test corpus

def test_corpus(rng):
    fixed = [
        "", " ", "  ", "   ", "\t", "\n", "\r\n", " \t \n ", "\n\n\n", "a", " a", "a ", "a  ", "  a", "\ta",
        "a\t", "a\n\nb", "a \n b", "hello world", "Hello world", " Hello world", "Hello  world", "Hello   world ",
        "trailing spaces   ", "   leading spaces", "tabs\tand\tmore\ttabs", "line one\nline two\nline three",
        "windows\r\nline\r\nends", "mixed \t\n whitespace \t run", "end with newline\n", "a\u00a0b",
        "no\u00a0break\u00a0space", "em\u2003space", "line\u2028separator", "next\u0085line", "vt\x0bff\x0c",
        "file\x1cseparator", "zero\u200bwidth", "bom\ufeffinside", "ideographic\u3000space", "\u3000",
        "it's", "don't", "we're", "I've", "I'm", "we'll", "he'd", "IT'S", "DON'T", "'s", "''s", "'", "''",
        "rock'n'roll", "it’s curly", "'re 've 'm 'll 'd 't", "the dog's bone", "the dogs' bones",
        "can't won't shan't", "'sa 'tb 'rex", " 's", "x's", "1's", "it'S",
        "123", "3.14159", "1,000,000", "2024-01-01", " 42", "4 2", "007", "١٢٣", "٣٤", "½", "²³", "Ⅻ", "①②",
        "a1b2c3", "v2.0.1", "+1 (555) 123-4567", "100%", "$19.99", "1e-10", "0x1F", "10:30am",
        "Hello, world!", "...", "?!?!", "(a)[b]{c}", "--", "@user #tag", "a/b\\c", "<tag>", "<<>>", "C++",
        "e.g. i.e.", "\"quoted\"", "‘single’", "“double”", "«guillemets»", "—dash—", "a - b", "a-b",
        "foo_bar", "__init__", "snake_case_name", "CamelCaseName", "http://example.com/path?q=1&r=2",
        "user@example.com", "#!/bin/bash", "::", "!!!", " !!!", "~`^", "€100", "£5", "¥1000", "©®™",
        "café", "cafe\u0301", "naïve résumé", "Zürich", "São Paulo", "Ångström", "Straße", "ÉCOLE", "ñandú",
        "Crème Brûlée", "Dvořák", "Ærøskøbing", "Þórr", "ǅemal", "ʰʲ", "𝐀𝐁𝐂", "𠀀𠀁", "ﬁne", "Ⓐⓑ",
        "中文字符", "日本語のテキスト", "한국어 문장", "中文 English 混合", "全角　スペース", "ｆｕｌｌｗｉｄｔｈ",
        "東京タワーに行きました。", "我爱北京天安门", "привет мир", "Привет, мир!", "καλημέρα κόσμε",
        "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "क्षत्रिय", "สวัสดีครับ", "ქართული", "Հայերեն",
        "😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "❤️", "🇫🇷", "🇯🇵🇺🇸", "I ❤️ NY", "👩🏾‍💻 coding", "😀😀😀",
        " 😀", "😀 ", "a😀b", "🐶🍕🚗", "✨new✨", "👋🏻👋🏼👋🏽👋🏾👋🏿", "🧑‍🤝‍🧑", "☺︎", "#️⃣", "🫠",
        "\x00", "a\x00b", "\x00\x00", "\x01\x02\x03", "\x7f", "\x1b[31mred\x1b[0m", "bell\x07", "\x08",
        "\u0301", " \u0301", "a\u0301\u0302", "\u0300abc", "\u0301\u0301\u0301", "e\u0301 \u0301e",
        "\ue000", "\uffff", "\ufffd", "\u0378", "\U0010ffff", "\u2060", "\u00ad", "soft\u00adhyphen",
        # Unicode 17 letters (U+088F, U+0C5C, U+A7CE): unassigned in the Unicode 16 tables of tokenizers' Oniguruma.
        "new\u088fletter", "x\u0c5c\ua7ce y", " \u088f\u088f", "\U0001e5d0\U000105c0 unicode16",
        "supercalifragilisticexpialidocious", "pneumonoultramicroscopicsilicovolcanoconiosis",
        "ab" * 200, "z" * 257, "x" * 600, "Mississippi", "bookkeeper", "aaaaaaaaaaaaaaaa",
        "<image>", "<image><image>", "<image> Question: what is this? Answer:", "</s>", "a</s>b", " </s> ",
        "<image>\n</s>", "<s>", "<pad>", "<unk>", "<pad><pad>", "<imag>", "<image", "<<image>>", "x<image>y",
        "</s></s>", "<image>" * 32 + "Question: what is this? Answer:", "</s>Hello", "Hello</s>",
        "Hello </s> world", "<image>a photo of", "< image >", "<IMAGE>", "</s> <pad> <image> <s> <unk>",
        "  <image>  ", "\t</s>\n", "text<image>", "<image>text", "<image> ", " <image>", "<image>\u0301",
        "Question: what is this? Answer:", "Question: how many dogs are there? Answer:",
        "Question: What color is the car? Answer: red", "Question: what is the man holding? Answer: an umbrella",
        "a photo of", "a photo of a dog", "A picture of two cats sitting on a couch.",
        "Question: is it raining? Answer: no. Question: why? Answer:", "Answer:", "Question:",
        "Question:what is this?Answer:", "question: WHAT IS THIS? answer:",
    ]
    generated = []
    for line in training_lines(random.Random(rng.random()), 60):
        generated.append(line)
    # Words unseen in training, random letters and mixed junk.
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    pool = list(letters) + list("0123456789") + list(" \t\n.,!?'\"-_()[]") + ["é", "ü", "ß", "中", "文", "😀",
                                                                           "👍🏽", "\u0301", "\u00a0", "ñ"]
    for _ in range(40):
        generated.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 40))))
    for _ in range(20):
        generated.append("".join(rng.choice(letters) for _ in range(rng.randint(15, 60))))
    for _ in range(20):
        ws = rng.choice([" ", "  ", "\t", "\n", " \n", "\n ", "   ", "\r\n", " \t"])
        generated.append(ws.join(rng.choice(WORDS) for _ in range(rng.randint(2, 8))) + rng.choice(["", " ", ws]))
    for _ in range(15):
        parts = [rng.choice(WORDS) for _ in range(rng.randint(1, 5))]
        for _ in range(rng.randint(1, 3)):
            parts.insert(rng.randint(0, len(parts)), rng.choice(["<image>", "</s>", "<pad>", "<s>", " <image> "]))
        generated.append(rng.choice(["", " "]).join(parts))
    generated.append("".join(rng.choice(letters) for _ in range(700)))
    out, seen = [], set()
    for s in fixed + generated:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def variant_corpus(main):
    extra = [
        "<mask>", "a <mask>", "a   <mask> b", "a\t<mask>", "<mask><mask>", "  <mask>", "x<mask>y",
        "[RS]", "[RS]   x", "a [RS]\n\tb", "[RS][RS]  [RS]", "[RS]   <mask>", "<ab>  <mask>", "zq", "a zq b", "azq", "zqa", "zq_", "_zq",
        "é zq", "1zq", "zq1", "²zq", "zq½", "\u200czq", "ǅzq", "zq\u088f", "zq\u0301", "\u200dzq", "zq.", "(zq)", "zqzq", "zq zq", "New York", "new york",
        "I love New York!", "NewYork", "New  York", "<ñ>", "a<ñ>b", "<ab>", "<abc>", "<abcd>", "<ab><abc>",
        "<abc", "ab>", "<s>hi</s>", "<pad>", "<unk>", "hello , world . it 's", "do n't", "he said ' hi ' to me",
        "it 's a dog 's life", " ?", "what ? really !", "Hello", " Hello", "  Hello",
    ]
    return extra + [s for s in main if len(s) < 200][:50]


# --------------------------------------------------------------------------------------------------
# Building the fixtures

def train(lines, vocab_size, specials):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(lines, trainer=trainer)
    model = json.loads(tok.to_str())["model"]
    vocab = model["vocab"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    return vocab, merges


def write_json(path, obj, indent=2):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=indent, separators=None if indent else (",", ":"))
        f.write("\n")


def write_model_files(d, vocab, merges):
    with open(os.path.join(d, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False, separators=(",", ":"))
    with open(os.path.join(d, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for m in merges:
            f.write(m + "\n")


def save_compact(tok, path):
    """tokenizer.json without the pretty-printing (`Tokenizer.save` indents; the content is the same)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(tok.to_str())


def added_entry(content, special, normalized, lstrip=False, rstrip=False, single_word=False):
    return {"content": content, "lstrip": lstrip, "normalized": normalized, "rstrip": rstrip,
            "single_word": single_word, "special": special}


def build_main(d, vocab, merges):
    os.makedirs(d, exist_ok=True)
    write_model_files(d, vocab, merges)
    image_id = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[tuple(m.split(" ")) for m in merges], dropout=None,
                               continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.TemplateProcessing(single="</s>:0 $A:0", pair="</s>:0 $A:0 $B:1",
                                                       special_tokens=[("</s>", 2)])
    tok.add_special_tokens([AddedToken("<pad>", normalized=True, special=True),
                            AddedToken("</s>", normalized=True, special=True)])
    tok.add_special_tokens([AddedToken("<image>", normalized=False, special=True)])
    assert tok.token_to_id("<image>") == image_id
    save_compact(tok, os.path.join(d, "tokenizer.json"))
    named = {"content": "</s>", "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}
    write_json(os.path.join(d, "special_tokens_map.json"), {
        "bos_token": named, "eos_token": named, "unk_token": named,
        "pad_token": dict(named, content="<pad>")})
    write_json(os.path.join(d, "tokenizer_config.json"), {
        "add_bos_token": True,
        "add_prefix_space": False,
        "added_tokens_decoder": {
            "1": added_entry("<pad>", True, True),
            "2": added_entry("</s>", True, True),
            str(image_id): added_entry("<image>", True, False),
        },
        "bos_token": "</s>",
        "clean_up_tokenization_spaces": True,
        "eos_token": "</s>",
        "errors": "replace",
        "extra_special_tokens": {},
        "model_max_length": 1000000000000000019884624838656,
        "pad_token": "<pad>",
        "processor_class": "Blip2Processor",
        "tokenizer_class": "GPT2Tokenizer",
        "unk_token": "</s>",
    })


def build_variant(d, vocab, merges):
    os.makedirs(d, exist_ok=True)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[tuple(m.split(" ")) for m in merges], dropout=None,
                               unk_token="<unk>", fuse_unk=False))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    tok.add_special_tokens([AddedToken("<s>", normalized=False, special=True),
                            AddedToken("<pad>", normalized=False, special=True),
                            AddedToken("</s>", normalized=False, special=True),
                            AddedToken("<unk>", normalized=False, special=True)])
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, normalized=False, special=True)])
    tok.add_tokens([AddedToken("[RS]", rstrip=True, normalized=False, special=False),
                    AddedToken("zq", single_word=True, normalized=True, special=False),
                    AddedToken("New York", normalized=True, special=False),
                    AddedToken("<ñ>", normalized=False, special=False),
                    AddedToken("<ab>", normalized=False, special=False),
                    AddedToken("<abc>", normalized=True, special=False)])
    save_compact(tok, os.path.join(d, "tokenizer.json"))
    write_json(os.path.join(d, "tokenizer_config.json"), {
        "add_prefix_space": True,
        "bos_token": "<s>",
        "clean_up_tokenization_spaces": True,
        "clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output": True,
        "cls_token": "<s>",
        "eos_token": "</s>",
        "mask_token": "<mask>",
        "model_max_length": 512,
        "pad_token": "<pad>",
        "sep_token": "</s>",
        "tokenizer_class": "GPT2Tokenizer",
        "unk_token": "<unk>",
    })


# --------------------------------------------------------------------------------------------------
# Expected values

def expected_entries(hf, raw, texts):
    entries = []
    for text in texts:
        ids = hf(text)["input_ids"]
        plain = hf(text, add_special_tokens=False)["input_ids"]
        enc = raw.encode(text)
        assert enc.ids == ids, (text, enc.ids, ids)
        assert raw.encode(text, add_special_tokens=False).ids == plain, text
        tokens = hf.convert_ids_to_tokens(ids)
        # Encoding.tokens keeps the whitespace an lstrip/rstrip added token swallowed; ids → tokens does not.
        assert len(tokens) == len(enc.tokens) and all(t == e.strip() for t, e in zip(tokens, enc.tokens)), text
        entries.append({
            "text": text,
            "scalars": len(text),
            "ids": ids,
            "ids_no_special": plain,
            "tokens": tokens,
            "decoded": hf.decode(ids, skip_special_tokens=False),
            "decoded_skip_special": hf.decode(ids, skip_special_tokens=True),
        })
    return entries


def decode_cases(hf, rng, count):
    n = len(hf)
    cases = []
    for i in range(count):
        if i % 4 == 0:
            ids = [rng.randrange(4, 4 + 256) for _ in range(rng.randint(1, 8))]   # single bytes: broken UTF-8
        else:
            ids = [rng.randrange(0, n) for _ in range(rng.randint(1, 12))]
        if i % 10 == 3:
            ids.insert(rng.randint(0, len(ids)), n + rng.randint(0, 1000))     # unknown ids are skipped
        cases.append({"ids": ids, "decoded": hf.decode(ids, skip_special_tokens=False),
                      "decoded_skip_special": hf.decode(ids, skip_special_tokens=True)})
    return cases


def model_option_cases(variant_dir):
    """BPE options OPT does not use (ignore_merges, unk_token with fuse_unk, byte_fallback): the variant
    tokenizer.json edited in memory, run by `tokenizers` (the Swift test makes the same edits)."""
    base = json.load(open(os.path.join(variant_dir, "tokenizer.json"), encoding="utf-8"))
    merges = base["model"]["merges"]
    used = {part for m in merges for part in (m if isinstance(m, list) else m.split(" "))}
    b2u = byte_to_unicode()
    unused = [b for b in range(0x80, 0x100) if b2u[b] not in used and b2u[b] in base["model"]["vocab"]]
    rare = [ch for ch in map(chr, range(0xA0, 0x3000)) if any(b in unused for b in ch.encode())][:3]
    remove = sorted({b2u[b] for ch in rare for b in ch.encode() if b in unused})
    texts = ["hello world", "the dog's ball", "photo", "a photo of a dog", "New York"] + \
            [f"a{ch}{ch}b {ch}" for ch in rare] + ["".join(rare), " ".join(rare) + " end"]
    variants = [
        {"ignore_merges": True},
        {"unk_token": "<unk>", "fuse_unk": False},
        {"unk_token": "<unk>", "fuse_unk": True},
        {"unk_token": None, "fuse_unk": False},
        {"unk_token": "<unk>", "fuse_unk": True, "byte_fallback": True, "add_byte_tokens": 4},
        {"unk_token": "<unk>", "fuse_unk": True, "byte_fallback": True, "add_byte_tokens": 1},
        {"unk_token": "<unk>", "fuse_unk": False, "byte_fallback": True, "add_byte_tokens": 2},
    ]
    out = []
    for options in variants:
        j = json.loads(json.dumps(base))
        removed = remove if "unk_token" in options else []
        for tok in removed:
            del j["model"]["vocab"][tok]
        added = {}
        if count := options.pop("add_byte_tokens", 0):
            # <0xXX> entries for the UTF-8 bytes of (some of) the removed byte-level characters.
            for tok in removed[:count]:
                for b in tok.encode():
                    added.setdefault(f"<0x{b:02X}>", len(j["model"]["vocab"]) + 1000 + len(added))
            j["model"]["vocab"].update(added)
        j["model"].update(options)
        tok = Tokenizer.from_str(json.dumps(j))
        out.append({"options": options, "remove_tokens": removed, "add_tokens": added,
                    "cases": [{"text": t, "ids": tok.encode(t).ids} for t in texts]})
    return out


def byte_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def layout_cases(main_dir, image_id, texts):
    """Other checkpoint layouts transformers 5 loads: the old facebook/opt-* one (vocab.json + merges.txt +
    special_tokens_map.json, no added_tokens_decoder), with a legacy added_tokens.json, a model-specific
    `image_token` key, tokenizer.json alone, vocab.json + merges.txt alone (GPT2Tokenizer defaults)."""
    from transformers import AutoTokenizer
    named = {"__type": "AddedToken", "content": "</s>", "lstrip": False, "normalized": True, "rstrip": False,
             "single_word": False}
    opt_config = {"add_bos_token": True, "add_prefix_space": False, "bos_token": named, "eos_token": named,
                  "unk_token": named, "pad_token": dict(named, content="<pad>"), "errors": "replace",
                  "model_max_length": 1e30, "tokenizer_class": "GPT2Tokenizer"}
    layouts = [
        {"name": "opt-legacy", "copy": ["vocab.json", "merges.txt", "special_tokens_map.json"],
         "write": {"tokenizer_config.json": opt_config}},
        {"name": "opt-legacy-added-tokens-json", "copy": ["vocab.json", "merges.txt", "special_tokens_map.json"],
         "write": {"tokenizer_config.json": opt_config, "added_tokens.json": {"<image>": image_id, "<extra>": image_id + 1}}},
        {"name": "image-token-key", "copy": ["tokenizer.json"], "drop_added_tokens": ["<image>"],
         "write": {"tokenizer_config.json": {
             "tokenizer_class": "GPT2Tokenizer", "bos_token": "</s>", "eos_token": "</s>", "unk_token": "</s>",
             "pad_token": "<pad>", "image_token": "<image>", "extra_special_tokens": ["<extra_0>"]}}},
        {"name": "tokenizer-json-only", "copy": ["tokenizer.json"], "write": {}, "no_named_tokens": True},
        # AutoTokenizer cannot pick a class without a config; GPT2Tokenizer can.
        {"name": "vocab-merges-only", "copy": ["vocab.json", "merges.txt"], "write": {}, "loader": "GPT2Tokenizer"},
    ]
    sample = [t for t in texts if len(t) < 80][::25] + ["<image> <extra> <extra_0> <|endoftext|> x", "a<image>b<extra>"]
    for layout in layouts:
        with tempfile.TemporaryDirectory() as tmp:
            for name in layout["copy"]:
                shutil.copy(os.path.join(main_dir, name), tmp)
            for name, obj in layout["write"].items():
                write_json(os.path.join(tmp, name), obj)
            if drop := layout.get("drop_added_tokens"):  # tokenizer.json without these added tokens
                path = os.path.join(tmp, "tokenizer.json")
                with open(path, encoding="utf-8") as f:
                    j = json.load(f)
                j["added_tokens"] = [t for t in j["added_tokens"] if t["content"] not in drop]
                write_json(path, j, indent=None)
            if layout.get("loader") == "GPT2Tokenizer":
                from transformers import GPT2Tokenizer
                tok = GPT2Tokenizer.from_pretrained(tmp)
            else:
                tok = AutoTokenizer.from_pretrained(tmp)
            layout["class"] = type(tok).__name__
            layout["count"] = len(tok)
            layout["special_ids"] = {k: getattr(tok, k) for k in ["bos_token_id", "eos_token_id", "pad_token_id", "unk_token_id"]}
            layout["token_ids"] = {t: tok.convert_tokens_to_ids(t) for t in ["<image>", "<extra>", "<extra_0>", "<|endoftext|>"]
                                   if t in tok.get_vocab()}
            layout["cases"] = [{"text": t, "ids": (ids := tok(t)["input_ids"]), "decoded": tok.decode(ids),
                                "decoded_skip_special": tok.decode(ids, skip_special_tokens=True)} for t in sample]
    return layouts


def check_files_only(main_dir, entries):
    """A directory with only vocab.json + merges.txt + configs must give the same results."""
    from transformers import AutoTokenizer
    with tempfile.TemporaryDirectory() as tmp:
        for name in ["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"]:
            shutil.copy(os.path.join(main_dir, name), tmp)
        slow = AutoTokenizer.from_pretrained(tmp)
        bad = [e["text"] for e in entries
               if slow(e["text"])["input_ids"] != e["ids"] or slow.decode(e["ids"]) != e["decoded"]
               or slow.decode(e["ids"], skip_special_tokens=True) != e["decoded_skip_special"]]
        print(f"vocab.json+merges.txt (transformers {__import__('transformers').__version__}): "
              f"{len(entries) - len(bad)}/{len(entries)} equal" + (f", first differences: {bad[:5]!r}" if bad else ""))
        return bad


SLOW_SNIPPET = r"""
import json, sys, shutil, os, tempfile
import transformers
from transformers import GPT2Tokenizer
src, corpus = sys.argv[1], sys.argv[2]
with tempfile.TemporaryDirectory() as tmp:
    for name in ["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"]:
        shutil.copy(os.path.join(src, name), tmp)
    tok = GPT2Tokenizer.from_pretrained(tmp)
    out = []
    for e in json.load(open(corpus, encoding="utf-8")):
        ids = tok(e)["input_ids"]
        out.append({"ids": ids, "decoded": tok.decode(ids, clean_up_tokenization_spaces=False),
                    "decoded_skip_special": tok.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)})
    json.dump({"version": transformers.__version__, "is_fast": tok.is_fast, "results": out}, sys.stdout)
"""


def check_slow(python, main_dir, entries):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
        json.dump([e["text"] for e in entries], f, ensure_ascii=False)
        corpus = f.name
    try:
        res = json.loads(subprocess.run([python, "-c", SLOW_SNIPPET, main_dir, corpus], check=True,
                                        capture_output=True, text=True).stdout)
    finally:
        os.unlink(corpus)
    diffs = {"ids": [], "decoded": [], "decoded_skip_special": []}
    for e, r in zip(entries, res["results"]):
        for key in diffs:
            if e[key] != r[key]:
                diffs[key].append((e["text"], e[key], r[key]))
    print(f"slow GPT2Tokenizer (transformers {res['version']}, is_fast={res['is_fast']}): "
          + ", ".join(f"{k} {len(entries) - len(v)}/{len(entries)} equal" for k, v in diffs.items()))
    others = sorted({text for v in diffs.values() for text, _, _ in v if "<image>" not in text})
    print(f"  differences on texts without <image>: {len(others)}" + (f" {others[:5]!r}" if others else "")
          + " (the legacy slow decode puts spaces around non-named added tokens and does not skip them)")
    for key, v in diffs.items():
        for text, fast, slow in v[:2]:
            print(f"  {key} differs for {text!r}: fast {fast!r} slow {slow!r}")
    return diffs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "Tests", "BLIPTests", "Fixtures"))
    ap.add_argument("--slow-python", help="python with transformers < 5 for the legacy slow GPT2Tokenizer check")
    args = ap.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers import AutoTokenizer
    import tokenizers
    import transformers

    rng = random.Random(SEED)
    lines = training_lines(rng)
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    vocab, merges = train(lines, 3000, specials)
    assert [vocab[s] for s in specials] == [0, 1, 2, 3]
    small_vocab, small_merges = train(lines, 600, specials)

    main_dir = os.path.join(args.out, "tiny-bpe")
    variant_dir = os.path.join(args.out, "tiny-bpe-variant")
    for d in (main_dir, variant_dir):
        shutil.rmtree(d, ignore_errors=True)
    build_main(main_dir, vocab, merges)
    build_variant(variant_dir, small_vocab, small_merges)

    corpus = test_corpus(random.Random(SEED + 1))
    hf = AutoTokenizer.from_pretrained(main_dir)
    raw = Tokenizer.from_file(os.path.join(main_dir, "tokenizer.json"))
    entries = expected_entries(hf, raw, corpus)
    hfv = AutoTokenizer.from_pretrained(variant_dir)
    rawv = Tokenizer.from_file(os.path.join(variant_dir, "tokenizer.json"))
    ventries = []
    for text in variant_corpus(corpus):
        (entry,) = expected_entries(hfv, rawv, [text])
        entry["decoded_no_cleanup"] = rawv.decode(entry["ids"], skip_special_tokens=False)
        ventries.append(entry)

    expected = {
        "generator": f"scripts/make_bpe_fixtures.py (seed {SEED}), transformers {transformers.__version__}, "
                     f"tokenizers {tokenizers.__version__}",
        "count": len(hf),
        "vocab_size": hf.vocab_size,
        "bos_token_id": hf.bos_token_id, "eos_token_id": hf.eos_token_id,
        "pad_token_id": hf.pad_token_id, "unk_token_id": hf.unk_token_id,
        "image_token_id": hf.convert_tokens_to_ids("<image>"),
        "entries": entries,
        "decode_cases": decode_cases(hf, random.Random(SEED + 2), 80),
        "layouts": layout_cases(main_dir, hf.convert_tokens_to_ids("<image>"), corpus),
        "variant": {
            "count": len(hfv),
            "bos_token_id": hfv.bos_token_id, "eos_token_id": hfv.eos_token_id,
            "pad_token_id": hfv.pad_token_id, "unk_token_id": hfv.unk_token_id,
            "entries": ventries,
            "model_options": model_option_cases(variant_dir),
        },
    }
    for e in entries:  # keeps the file small: the test rebuilds it as ids minus OPT's leading </s>
        if e["ids"][:1] == [2] and e["ids"][1:] == e["ids_no_special"]:
            del e["ids_no_special"]
    write_json(os.path.join(main_dir, "expected.json"), expected, indent=None)

    check_files_only(main_dir, entries)
    if args.slow_python:
        check_slow(args.slow_python, main_dir, entries)
    size = sum(os.path.getsize(os.path.join(d, f)) for d in (main_dir, variant_dir) for f in os.listdir(d))
    print(f"{len(entries)} main entries, {len(ventries)} variant entries, {len(expected['decode_cases'])} decode "
          f"cases; vocab {len(vocab)} ({len(merges)} merges), variant vocab {len(small_vocab)}; {size} bytes")


if __name__ == "__main__":
    main()
