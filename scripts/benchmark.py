#!/usr/bin/env python3
"""Benchmark Swift BLIP against PyTorch eager on the same full-size random weights, in one run.

    python3 scripts/benchmark.py [--model DIR] [--repeats 3] [--threads 2]

Without --model, a random-weight `base` captioning model (the real blip-image-captioning-base
config) is made once with scripts/reference.py in /tmp/swift-blip-bench/base. Each engine runs in
its own process (so peak RSS is its own): PyTorch eager with `torch.set_num_threads(threads)`, and
`blip bench` from a release build. Measured, median of `repeats` after one warm-up:
  vision   vision encoder, one 384x384 image
  greedy   caption, greedy, exactly 20 new tokens (min = max = 20), vision included
  beam3    caption, beam search with 3 beams, exactly 20 new tokens, vision included
and the peak RSS of each process. Prints a table with ratios (ours / PyTorch) and writes JSON
with --json. Timing only: nothing here asserts.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def torch_worker(model_dir, repeats, threads, only):
    import torch
    from transformers import BlipForConditionalGeneration

    torch.set_num_threads(threads)
    model = BlipForConditionalGeneration.from_pretrained(model_dir).eval()
    size = model.config.vision_config.image_size
    pixels = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0)).clamp(-1.5, 1.5)
    result = {}

    def median(fn):
        fn()  # warm-up
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    with torch.inference_mode():
        if "vision" in only:
            result["vision_s"] = median(lambda: model.vision_model(pixel_values=pixels))
        kwargs = dict(max_new_tokens=20, min_new_tokens=20)
        if "greedy" in only:
            result["greedy20_s"] = median(lambda: model.generate(pixel_values=pixels, **kwargs))
        if "beam3" in only:
            result["beam3_20_s"] = median(lambda: model.generate(pixel_values=pixels, num_beams=3, **kwargs))
    result["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(result))


def run_json(cmd, env=None):
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, env=env, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="model directory (default: make random base weights)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default="vision,greedy,beam3")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    only = set(args.only.split(","))
    if args.torch_worker:
        torch_worker(args.model, args.repeats, args.threads, only)
        return

    model = args.model
    if not model:
        model = "/tmp/swift-blip-bench/base"
        if not os.path.exists(os.path.join(model, "model.safetensors")):
            print(f"making random base weights in {model} ...", file=sys.stderr)
            subprocess.run([sys.executable, os.path.join(ROOT, "scripts/reference.py"), "make-model",
                            "--config", "base", "--out", model], check=True)
    print("building release ...", file=sys.stderr)
    subprocess.run(["swift", "build", "-c", "release", "--product", "blip"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    blip = os.path.join(ROOT, ".build/release/blip")

    print("running PyTorch ...", file=sys.stderr)
    torch_res = run_json([sys.executable, os.path.abspath(__file__), "--torch-worker", "--model", model,
                          "--repeats", str(args.repeats), "--threads", str(args.threads), "--only", args.only])
    print("running Swift BLIP ...", file=sys.stderr)
    swift_res = run_json([blip, "bench", "--model", model, "--repeats", str(args.repeats),
                          "--threads", str(args.threads), "--only", args.only])

    rows = [("vision encoder 384² (s)", "vision_s"), ("caption greedy 20 tok (s)", "greedy20_s"),
            ("caption beam-3 20 tok (s)", "beam3_20_s"), ("peak RSS (MiB)", "peak_rss_bytes")]
    print(f"{'measurement':<28}{'PyTorch':>10}{'Swift':>10}{'ratio':>8}")
    for label, key in rows:
        if key not in torch_res or key not in swift_res:
            continue
        t, s = torch_res[key], swift_res[key]
        if key == "peak_rss_bytes":
            t, s = t / 2**20, s / 2**20
            print(f"{label:<28}{t:>10.0f}{s:>10.0f}{s / t:>8.2f}")
        else:
            print(f"{label:<28}{t:>10.3f}{s:>10.3f}{s / t:>8.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"pytorch": torch_res, "swift": swift_res, "threads": args.threads}, f, indent=1)


if __name__ == "__main__":
    main()
