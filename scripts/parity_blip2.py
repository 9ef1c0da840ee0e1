#!/usr/bin/env python3
"""Full-width BLIP-2 parity check: Swift BLIP against transformers on the same random weights.

    python3 scripts/parity_blip2.py [--lm opt|t5] [--layers 4] [--model DIR]

Makes random weights at the real widths with reduced depth (`reference_blip2.py make-model`, once,
in /tmp/swift-blip-parity/blip2-LM): ViT-g/14 (1408 wide) with `layers` layers, the full
12-layer Q-Former with 32 queries, and OPT-2.7b's widths (2560, 32 heads, 10240 FFN, 50304
tokens) or Flan-T5-xl's (2048, 32 heads of 64, gated-GELU 5120, 32128 tokens, untied head) with
`layers` (encoder and decoder) layers. Runs transformers on three scikit-image photographs
(astronaut, chelsea, coffee: BlipImageProcessor at 224) and the release `blip dump` on the same
files, prints the max absolute differences of pixel_values, the vision and Q-Former states, the
projected queries and the language model's teacher-forced logits (T5: and its encoder states;
its decoder teacher-forced over [decoder_start] + prompt + </s>),
and whether greedy and beam-3 ids (20 new tokens at most) match, unprompted and prompted.
Exit status 1 when ids differ or a difference is over tolerance. Timing plays no part.
"""
import argparse
import os
import subprocess
import sys

import numpy as np
from safetensors.numpy import load_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROMPT = [1437, 2264, 16, 11, 5, 2170, 116]  # arbitrary ids inside both vocabularies
TOLERANCES = {"pixel_values": 1e-5, "vision_last_hidden_state": 2e-3, "qformer_last_hidden_state": 2e-3,
              "projected_queries": 2e-3, "encoder_last_hidden_state": 2e-3, "lm_logits": 2e-3}


def reference(model_dir, images, prompt, steps):
    """transformers' tensors and ids for `images` (file paths), as `blip dump` names them."""
    import torch
    from PIL import Image
    from transformers import Blip2ForConditionalGeneration, BlipImageProcessorPil

    torch.set_num_threads(2)
    model = Blip2ForConditionalGeneration.from_pretrained(model_dir, dtype=torch.float32).eval()
    processor = BlipImageProcessorPil.from_pretrained(model_dir)
    pixels = processor([Image.open(p).convert("RGB") for p in images], return_tensors="pt").pixel_values
    c = model.config
    out = {"pixel_values": pixels}
    t5 = c.text_config.model_type == "t5"
    with torch.no_grad():
        vision = model.vision_model(pixel_values=pixels).last_hidden_state
        queries = model.qformer(query_embeds=model.query_tokens.expand(len(images), -1, -1),
                                encoder_hidden_states=vision).last_hidden_state
        projected = model.language_projection(queries)
        out.update(vision_last_hidden_state=vision, qformer_last_hidden_state=queries, projected_queries=projected)
        # The processor's input: <image> x Q, then bos + prompt (OPT) or prompt + </s> (T5).
        text = ([] if t5 else [c.text_config.bos_token_id]) + prompt + ([c.text_config.eos_token_id] if t5 else [])
        ids = torch.tensor([[c.image_token_index] * c.num_query_tokens + text] * len(images))
        embeds = model.get_input_embeddings()(ids)
        embeds = embeds.masked_scatter((ids == c.image_token_index).unsqueeze(-1), projected)
        mask = torch.ones_like(ids)
        if t5:
            encoder = model.language_model.get_encoder()(inputs_embeds=embeds, attention_mask=mask).last_hidden_state
            decoder_ids = torch.tensor([[c.text_config.decoder_start_token_id] + prompt + [c.text_config.eos_token_id]] * len(images))
            out["encoder_last_hidden_state"] = encoder
            out["lm_logits"] = model.language_model(encoder_outputs=(encoder,), attention_mask=mask,
                                                    decoder_input_ids=decoder_ids).logits
        else:
            out["lm_logits"] = model.language_model(inputs_embeds=embeds, attention_mask=mask).logits
        generated = {}
        for name, p in (("plain", []), ("prompted", prompt)):
            text = ([] if t5 else [c.text_config.bos_token_id]) + p + ([c.text_config.eos_token_id] if t5 else [])
            ids = torch.tensor([[c.image_token_index] * c.num_query_tokens + text] * len(images))
            for beams in (1, 3):
                rows = model.generate(pixel_values=pixels, input_ids=ids, attention_mask=torch.ones_like(ids),
                                      max_new_tokens=steps, do_sample=False, num_beams=beams)
                generated[(name, beams)] = [r.tolist() for r in rows]
    return {k: v.numpy() for k, v in out.items()}, generated


def ours(blip, model_dir, images, prompt, steps, work, t5):
    """`blip dump` of the images, once without a prompt and once with it (T5: the prompt's ids
    end with `</s>`, as its tokenizer gives them; OPT's bos is added by the model)."""
    results = {}
    for name, p in (("plain", [1] if t5 else []), ("prompted", prompt + ([1] if t5 else []))):
        path = os.path.join(work, f"ours-{name}.safetensors")
        cmd = [blip, "dump", "--model", model_dir, "--generate", str(steps), "--output", path, *images]
        if p:
            cmd += ["--input-ids", ",".join(map(str, p))]
        subprocess.run(cmd, check=True)
        results[name] = load_file(path)
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lm", default="opt", choices=["opt", "t5"])
    ap.add_argument("--layers", type=int, default=4, help="vision and language-model layers (2 for T5: 2+2)")
    ap.add_argument("--model", help="model directory (default: random weights made once)")
    ap.add_argument("--steps", type=int, default=20)
    args = ap.parse_args()
    work = f"/tmp/swift-blip-parity/blip2-{args.lm}-{args.layers}"
    os.makedirs(work, exist_ok=True)
    model = args.model or os.path.join(work, "model")
    if not os.path.exists(os.path.join(model, "config.json")):
        print(f"making random full-width weights in {model} ...", file=sys.stderr)
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts/reference_blip2.py"), "make-model", "--out", model,
                        "--layers", str(args.layers), "--lm", args.lm], check=True)
    import skimage
    data = os.path.join(os.path.dirname(skimage.__file__), "data")
    images = [os.path.join(data, n) for n in ("astronaut.png", "chelsea.png", "coffee.png")]

    print("running transformers ...", file=sys.stderr)
    expected, generated = reference(model, images, PROMPT, args.steps)
    print("building and running Swift BLIP ...", file=sys.stderr)
    subprocess.run(["swift", "build", "-c", "release", "--product", "blip"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    got = ours(os.path.join(ROOT, ".build/release/blip"), model, images, PROMPT, args.steps, work, args.lm == "t5")

    failed = False
    print(f"{'tensor':<28}{'shape':<24}{'max |diff|':>12}{'max |ref|':>12}")
    for name, tol in TOLERANCES.items():
        if name not in expected:
            continue
        a, b = expected[name], got["prompted"][name]
        if a.shape != b.shape:
            print(f"{name:<28}shape {list(a.shape)} vs ours {list(b.shape)}")
            failed = True
            continue
        d = float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max())
        failed |= d > tol
        print(f"{name:<28}{str(list(a.shape)):<24}{d:>12.3g}{float(np.abs(a).max()):>12.3g}")
    print(f"\n{'case':<22}{'image':<16}{'tokens':>8}  match")
    for (name, beams), rows in generated.items():
        mine = got[name]["greedy_ids" if beams == 1 else "beam3_ids"]
        for path, want, row in zip(images, rows, mine):
            have = [int(x) for x in row if x >= 0]
            ok = have == want
            failed |= not ok
            print(f"{name + (' greedy' if beams == 1 else ' beam-3'):<22}{os.path.basename(path):<16}{len(want):>8}  "
                  f"{'yes' if ok else 'NO'}")
            if not ok:
                print(f"    transformers: {want}\n    swift:        {have}")
    print("\nPARITY " + ("FAILED" if failed else "OK"))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
