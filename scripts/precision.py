#!/usr/bin/env python3
"""Reduced-precision accuracy: our bf16/int8 against our fp32, beside PyTorch's own bf16 and int8
against PyTorch fp32, on the same random full-size weights and real photographs.

    python3 scripts/precision.py [--model DIR] [--config base|large]

Prints, for the vision last hidden state and teacher-forced decoder logits of three scikit-image
photos (astronaut, chelsea, coffee): relative L2 error, cosine similarity, and (logits) top-1
agreement of next tokens; and for the ITC embeddings of a random full-size retrieval model
(BlipForImageTextRetrieval, base config) of the same photos and three captions: relative L2 error
and the mean cosine between each embedding and its fp32 version (`blip embed` for ours). PyTorch bf16 is `model.to(torch.bfloat16)`; PyTorch int8 is
`torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, torch.qint8)`. The goal is our error
no larger than PyTorch's in the same precision.
"""
import argparse
import copy
import os
import subprocess
import sys

import numpy as np
from safetensors.numpy import load_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEACHER = "a picture of a cat sitting on a blue sofa"
TEXTS = ["an astronaut in a white space suit", "a cat lying on a sofa", "a cup of coffee on a table"]


def itc_embeddings(model, pixels, tokens, dtype):
    """PyTorch ITC vectors: normalize(vision_proj(CLS)) per image, normalize(text_proj(CLS)) per text."""
    import torch
    with torch.no_grad():
        v = model.vision_model(pixel_values=pixels.to(dtype)).last_hidden_state[:, 0]
        t = model.text_encoder(input_ids=tokens.input_ids, attention_mask=tokens.attention_mask).last_hidden_state[:, 0]
        img = torch.nn.functional.normalize(model.vision_proj(v).float(), dim=-1)
        txt = torch.nn.functional.normalize(model.text_proj(t).float(), dim=-1)
    return np.concatenate([img.numpy(), txt.numpy()])


def ours_itc(blip, model_dir, precision, images, threads):
    import json
    rows = []
    for args in (["--image", *images], ["--text", *TEXTS]):
        out = subprocess.run([blip, "embed", "--model", model_dir, "--precision", precision, "--threads", str(threads),
                              "--json", *args], check=True, capture_output=True, text=True).stdout
        rows += [json.loads(line)["embedding"] for line in out.splitlines() if line.strip()]
    return np.array(rows, dtype=np.float64)


def itc_rows(args, blip, images, pixels, threads):
    """ITC embedding errors of each engine's bf16/int8 against its own fp32."""
    import torch
    from transformers import BlipForImageTextRetrieval, BlipProcessor
    itm_dir = os.path.join(f"/tmp/swift-blip-parity/{args.config}", "itm-model")
    if not os.path.exists(os.path.join(itm_dir, "model.safetensors")):
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts/reference_retrieval.py"), "make-model", "--config",
                        args.config, "--out", itm_dir], check=True, stdout=subprocess.DEVNULL)
    processor = BlipProcessor.from_pretrained(itm_dir)
    tokens = processor.tokenizer(TEXTS, padding=True, return_tensors="pt")
    model = BlipForImageTextRetrieval.from_pretrained(itm_dir).eval()
    ref = {"fp32": itc_embeddings(model, pixels, tokens, torch.float32),
           "bf16": itc_embeddings(copy.deepcopy(model).to(torch.bfloat16), pixels, tokens, torch.bfloat16),
           "int8": itc_embeddings(torch.ao.quantization.quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear},
                                                                           dtype=torch.qint8), pixels, tokens, torch.float32)}
    ours = {p: ours_itc(blip, itm_dir, p, images, threads) for p in ("fp32", "bf16", "int8")}
    print(f"fp32 ours vs PyTorch ITC embeddings: max|d| {np.abs(ours['fp32'] - ref['fp32']).max():.2e}")
    print(f"{'precision':<10}{'engine':<10}{'ITC relL2':>14}{'ITC mean cos':>14}")
    rows = []
    for p in ("bf16", "int8"):
        for engine, (base, low) in (("PyTorch", (ref["fp32"], ref[p])), ("ours", (ours["fp32"], ours[p]))):
            rel = np.linalg.norm(low - base) / np.linalg.norm(base)
            cos = float(np.mean(np.sum(low * base, axis=1) / (np.linalg.norm(low, axis=1) * np.linalg.norm(base, axis=1))))
            rows.append((p, engine, rel))
            print(f"{p:<10}{engine:<10}{rel:>14.3e}{cos:>14.6f}")
    return [(p, e) for p, e, r in rows if e == "ours" and any(r > 1.05 * q for pp, f, q in rows if pp == p and f == "PyTorch")]


def compare(a, b, logits=False):
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    rel = np.linalg.norm(a - b) / np.linalg.norm(b)
    cos = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
    return rel, cos


def top1(a, b):
    return float((a.argmax(-1) == b.argmax(-1)).mean())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="base", choices=["base", "large"])
    ap.add_argument("--model", help="model directory (default: random weights of --config)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    work = f"/tmp/swift-blip-parity/{args.config}"
    model_dir = args.model or os.path.join(work, "model")
    if not os.path.exists(os.path.join(model_dir, "model.safetensors")):
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts/reference.py"), "make-model", "--config",
                        args.config, "--out", model_dir], check=True)
    import skimage
    import torch
    from PIL import Image
    from transformers import BlipForConditionalGeneration, BlipProcessor
    torch.set_num_threads(args.threads)
    data = os.path.join(os.path.dirname(skimage.__file__), "data")
    images = [os.path.join(data, n) for n in ("astronaut.png", "chelsea.png", "coffee.png")]
    processor = BlipProcessor.from_pretrained(model_dir)
    pil = [Image.open(p).convert("RGB") for p in images]
    pixels = processor(images=pil, return_tensors="pt")["pixel_values"].float()
    ids = processor.tokenizer(TEACHER, return_tensors="pt")["input_ids"].clone()
    ids[:, 0] = 30522  # BLIP's [DEC] bos, as the captioning decoder is trained
    ids = ids.repeat(len(images), 1)

    def run(model, dtype=torch.float32):
        with torch.no_grad():
            pv = pixels.to(dtype)
            vision = model.vision_model(pixel_values=pv).last_hidden_state.float().numpy()
            out = model(pixel_values=pv, input_ids=ids, attention_mask=torch.ones_like(ids))
            return vision, out.logits.float().numpy()

    model = BlipForConditionalGeneration.from_pretrained(model_dir).eval()
    ref = {"fp32": run(model)}
    ref["int8"] = run(torch.ao.quantization.quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear}, dtype=torch.qint8))
    ref["bf16"] = run(copy.deepcopy(model).to(torch.bfloat16), torch.bfloat16)

    blip = os.path.join(ROOT, ".build/release/blip")
    if not os.path.exists(blip):
        subprocess.run(["swift", "build", "-c", "release", "--product", "blip"], cwd=ROOT, check=True)
    ours = {}
    for p in ("fp32", "bf16", "int8"):
        out = os.path.join(work, f"precision-{p}.safetensors")
        subprocess.run([blip, "dump", "--model", model_dir, "--precision", p, "--threads", str(args.threads),
                        "--input-ids", ",".join(map(str, ids[0].tolist())), "--output", out, *images], check=True)
        t = load_file(out)
        ours[p] = (t["vision_last_hidden_state"], t["decoder_logits"])

    v_ref, l_ref = ref["fp32"]
    v_us, l_us = ours["fp32"]
    print(f"fp32 ours vs PyTorch: vision max|d| {np.abs(v_us - v_ref).max():.2e}, logits max|d| {np.abs(l_us - l_ref).max():.2e}")
    print(f"{'precision':<10}{'engine':<10}{'vision relL2':>14}{'vision cos':>12}{'logits relL2':>14}{'logits cos':>12}{'top-1 agree':>13}")
    rows = []
    for p in ("bf16", "int8"):
        for engine, (base, low) in (("PyTorch", (ref["fp32"], ref[p])), ("ours", (ours["fp32"], ours[p]))):
            vr, vc = compare(low[0], base[0])
            lr, lc = compare(low[1], base[1])
            agree = top1(low[1], base[1])
            rows.append((p, engine, vr, lr, agree))
            print(f"{p:<10}{engine:<10}{vr:>14.3e}{vc:>12.6f}{lr:>14.3e}{lc:>12.6f}{agree:>13.3f}")
    worse = [(p, e) for p, e, vr, lr, a in rows if e == "ours" and
             any(vr > 1.05 * v or lr > 1.05 * l for q, f, v, l, _ in rows if q == p and f == "PyTorch")]
    worse += [(p, e + " ITC") for p, e in itc_rows(args, blip, images, pixels, args.threads)]
    print("ours within PyTorch's error in every precision" if not worse else f"ours above PyTorch's error: {worse}")
    return 1 if worse else 0


if __name__ == "__main__":
    sys.exit(main())
