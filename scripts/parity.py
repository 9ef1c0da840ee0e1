#!/usr/bin/env python3
"""Full-size parity check: Swift BLIP against transformers on the same random weights.

    python3 scripts/parity.py [--config base|large] [--model DIR]

Makes random full-size weights from the real config with scripts/reference.py (once, in
/tmp/swift-blip-parity/CONFIG), runs transformers on three real photographs from scikit-image
(astronaut, chelsea, coffee) and the release `blip` on the same files, and prints the max
absolute differences of pixel_values, the vision last hidden state and teacher-forced decoder
logits, and whether generated token ids match for greedy and beam-3, with and without the
prompt "a picture of". Exit status 1 when token ids differ or a difference is over tolerance.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
from safetensors.numpy import load_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = "greedy,greedy_prompt,beam3,beam3_prompt,greedy_image1,greedy_image2,greedy_batch2,beam3_batch2"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="base", choices=["base", "large"])
    ap.add_argument("--model", help="model directory (default: random weights of --config)")
    ap.add_argument("--cases", default=CASES)
    args = ap.parse_args()

    work = f"/tmp/swift-blip-parity/{args.config}"
    os.makedirs(work, exist_ok=True)
    model = args.model or os.path.join(work, "model")
    ref = [sys.executable, os.path.join(ROOT, "scripts/reference.py")]
    if not os.path.exists(os.path.join(model, "model.safetensors")):
        print(f"making random {args.config} weights in {model} ...", file=sys.stderr)
        subprocess.run(ref + ["make-model", "--config", args.config, "--out", model], check=True)

    import skimage
    data = os.path.join(os.path.dirname(skimage.__file__), "data")
    images = [os.path.join(data, n) for n in ("astronaut.png", "chelsea.png", "coffee.png")]
    expected_st, expected_json = os.path.join(work, "expected.safetensors"), os.path.join(work, "expected.json")
    print("running transformers ...", file=sys.stderr)
    subprocess.run(ref + ["expected", "--model", model, "--images", *images, "--out", expected_st,
                          "--json", expected_json, "--cases", args.cases], check=True)
    expected = load_file(expected_st)
    meta = json.load(open(expected_json))

    print("building and running Swift BLIP ...", file=sys.stderr)
    subprocess.run(["swift", "build", "-c", "release", "--product", "blip"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    blip = os.path.join(ROOT, ".build/release/blip")
    ours_st = os.path.join(work, "ours.safetensors")
    tf_ids = meta["teacher_forced"]["input_ids"]
    tf_images = [os.path.join(os.path.dirname(expected_json), p) for p in meta["teacher_forced"]["images"]]
    subprocess.run([blip, "dump", "--model", model, "--input-ids", ",".join(map(str, tf_ids)),
                    "--output", ours_st, *images], check=True)
    ours = load_file(ours_st)

    failed = False
    tolerances = {"pixel_values": 1e-5, "vision_last_hidden_state": 1e-3, "decoder_logits": 1e-3}
    print(f"{'tensor':<28}{'shape':<22}{'max |diff|':>12}{'max |ref|':>12}")
    for name, tol in tolerances.items():
        a = expected[name]
        b = ours[name]
        if name == "decoder_logits":
            b = b[: a.shape[0]]  # the reference dumps logits for its teacher-forced images only
            assert len(tf_images) == a.shape[0]
        d = float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max())
        failed |= d > tol
        print(f"{name:<28}{str(list(a.shape)):<22}{d:>12.3g}{float(np.abs(a).max()):>12.3g}")

    print(f"\n{'case':<16}{'image':<16}{'tokens':>8}  match")
    for case in meta["cases"]:
        kw = case["kwargs"]
        cmd = [blip, "caption", "--model", model, "--json", "--max-new-tokens", str(kw.get("max_new_tokens", 20)),
               "--beams", str(kw.get("num_beams", 1))]
        if case.get("prompt"):
            cmd += ["--prompt", case["prompt"]]
        if "min_new_tokens" in kw:
            cmd += ["--min-new-tokens", str(kw["min_new_tokens"])]
        paths = [os.path.join(os.path.dirname(expected_json), p) for p in case["images"]]
        out = subprocess.run(cmd + paths, check=True, stdout=subprocess.PIPE, text=True).stdout
        rows = [json.loads(line) for line in out.splitlines()]
        for path, row, want in zip(paths, rows, case["token_ids"]):
            ok = row["token_ids"] == want
            failed |= not ok
            print(f"{case['name']:<16}{os.path.basename(path):<16}{len(want):>8}  {'yes' if ok else 'NO'}")
            if not ok:
                print(f"    transformers: {want}\n    swift:        {row['token_ids']}")
    print("\nPARITY " + ("FAILED" if failed else "OK"))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
