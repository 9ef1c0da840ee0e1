#!/usr/bin/env python3
"""Benchmark Swift BLIP against PyTorch eager on the same full-size random weights, in one run.

    python3 scripts/benchmark.py [--tasks caption,vqa,itm,capfilt,blip2] [--repeats 3] [--threads 2] [--json FILE]
    python3 scripts/benchmark.py --tasks caption --model DIR      # your own model directory

For each task a random-weight full-size base model (the real Salesforce base configs) is made once
with the reference scripts in /tmp/swift-blip-bench/TASK-base. Each engine runs in its own process
(so peak RSS is its own): PyTorch eager with `torch.set_num_threads(threads)`, and `blip bench`
from a release build. Measured, median of `repeats` after one warm-up, all with vision included
except the first row:
  caption  vision encoder alone (one 384x384 image); greedy caption with exactly 20 new tokens;
           beam search (3 beams) with exactly 20 new tokens; decode time per token (greedy-20 minus
           vision, over 20); caption throughput over 32 photos (JPEG crops of scikit-image's
           photographs, decoded and preprocessed by each engine: PIL + BlipProcessor for PyTorch,
           `blip bench --only throughput`, the `blip caption --batch-size N` pipeline, for ours)
           at batch sizes 1, 8, 16 and 32, greedy with exactly 20 new tokens, and the best of them
  vqa      one question, greedy answer with exactly 10 new tokens
  itm      ITM probability and ITC cosine of one image and one text; ITM of one image against
           16 texts (transformers' API takes one image per text, so PyTorch encodes it 16 times;
           we encode it once, as an application would); and the throughput of `blip index add`
           on 24 photos (Swift only: decode, preprocess, vision, ITC projection, hash, SQLite)
  blip2    BLIP-2 at blip2-opt-2.7b's widths with 4 vision and 4 OPT layers (the Q-Former full),
           or with --blip2-full its real depth: vision + Q-Former + projection, greedy 20 tokens,
           decode per token, peak RSS, and the decode's memory-bandwidth floor (weight bytes one
           step reads / the read bandwidth `blip bench --only bandwidth` measures on the same
           threads) and the ratio to it
  capfilt  `blip capfilt` on 64 photos: base captioner (one nucleus caption each) + base ITM
           filter, batch 8, images/s per precision (Swift only: nothing else runs CapFilt)
and the peak RSS of each process. Engines: PyTorch fp32 and bf16 (`model.to(torch.bfloat16)`),
OpenVINO for the vision encoder (`ov.convert_model(model.vision_model)`, compiled for CPU with its
default precision, bf16 where the CPU has AVX512_BF16/AMX, and with INFERENCE_PRECISION_HINT=f32),
and ours in fp32, bf16 and int8 (`blip bench --precision`). Prints the CPU and its ISA extensions,
a table of seconds per engine, and the ratios the precision issue sets targets for; writes JSON
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


QUESTION = "what is the man holding in his hand?"  # same strings as `blip bench`
TEXT = "a man in a space suit holding a flag"


def torch_throughput(model, model_dir, images, batch_sizes, dtype):
    """Images/s captioning the photos in `images` at each batch size: PIL decode, BlipProcessor,
    generate (greedy, exactly 20 new tokens), as a PyTorch user would batch them."""
    import torch
    import transformers
    from PIL import Image

    processor = transformers.BlipProcessor.from_pretrained(model_dir)
    files = sorted(os.path.join(images, f) for f in os.listdir(images) if f.endswith(".jpg"))

    def run(paths, n):
        for i in range(0, len(paths), n):
            photos = [Image.open(p).convert("RGB") for p in paths[i:i + n]]
            pixels = processor(images=photos, return_tensors="pt").pixel_values
            if dtype == "bf16":
                pixels = pixels.to(torch.bfloat16)
            model.generate(pixel_values=pixels, max_new_tokens=20, min_new_tokens=20)

    run(files[:1], 1)  # warm-up
    rates = {}
    for n in batch_sizes:
        t = time.perf_counter()
        run(files, n)
        rates[str(n)] = len(files) / (time.perf_counter() - t)
    return rates


def torch_worker(model_dir, task, repeats, threads, only, dtype="fp32", images=None, batch_sizes=(1, 8, 16, 32)):
    import torch
    import transformers

    torch.set_num_threads(threads)
    cls = {"caption": "BlipForConditionalGeneration", "vqa": "BlipForQuestionAnswering",
           "itm": "BlipForImageTextRetrieval", "blip2": "Blip2ForConditionalGeneration"}[task]
    # BLIP-2 bf16 loads straight into bf16 (the same rounding as .to(bfloat16)): the full-size
    # model's fp32 copy and bf16 copy together would not fit in 24 GiB.
    direct = task == "blip2" and dtype == "bf16"
    model = getattr(transformers, cls).from_pretrained(model_dir, dtype=torch.bfloat16 if direct else torch.float32).eval()
    size = model.config.vision_config.image_size
    pixels = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0)).clamp(-1.5, 1.5)
    if dtype == "bf16":
        model, pixels = model.to(torch.bfloat16), pixels.to(torch.bfloat16)
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
        if task == "caption":
            if "vision" in only:
                result["vision_s"] = median(lambda: model.vision_model(pixel_values=pixels))
            kwargs = dict(max_new_tokens=20, min_new_tokens=20)
            if "greedy" in only:
                result["greedy20_s"] = median(lambda: model.generate(pixel_values=pixels, **kwargs))
            if "beam3" in only:
                result["beam3_20_s"] = median(lambda: model.generate(pixel_values=pixels, num_beams=3, **kwargs))
            if "throughput" in only and images:
                result["throughput_images_per_s"] = torch_throughput(model, model_dir, images, batch_sizes, dtype)
        elif task == "blip2":
            def image_side():
                states = model.vision_model(pixel_values=pixels).last_hidden_state
                queries = model.qformer(query_embeds=model.query_tokens.expand(1, -1, -1), encoder_hidden_states=states)
                return model.language_projection(queries.last_hidden_state)
            if "vision" in only:
                result["vision_qformer_s"] = median(image_side)
            if "greedy" in only:
                ids = torch.tensor([[model.config.image_token_index] * model.config.num_query_tokens
                                    + [model.config.text_config.bos_token_id]])
                result["greedy20_s"] = median(lambda: model.generate(pixel_values=pixels, input_ids=ids,
                                                                     max_new_tokens=20, min_new_tokens=20))
        else:
            tok = transformers.AutoTokenizer.from_pretrained(model_dir)
        if task == "vqa" and "vqa" in only:
            ids = tok(QUESTION, return_tensors="pt").input_ids
            result["vqa10_s"] = median(lambda: model.generate(pixel_values=pixels, input_ids=ids,
                                                              max_new_tokens=10, min_new_tokens=10))
        if task == "itm":
            ids = tok(TEXT, return_tensors="pt").input_ids
            if "itm" in only:
                result["itm_s"] = median(lambda: model(input_ids=ids, pixel_values=pixels, use_itm_head=True))
            if "itc" in only:
                result["itc_s"] = median(lambda: model(input_ids=ids, pixel_values=pixels, use_itm_head=False))
            if "itm16" in only:
                # One image against 16 texts through transformers' API, which takes one image per
                # text: the image is repeated (and encoded 16 times).
                batch = tok([f"{TEXT} number {i}" for i in range(16)], padding=True, return_tensors="pt")
                many = pixels.expand(16, -1, -1, -1)
                result["itm16_s"] = median(lambda: model(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                                                         pixel_values=many, use_itm_head=True))
    result["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(result))


def openvino_worker(model_dir, repeats, threads):
    """The vision encoder of a captioning model in OpenVINO: default precision and f32."""
    import openvino as ov
    import torch
    import transformers

    model = transformers.BlipForConditionalGeneration.from_pretrained(model_dir).eval()
    size = model.config.vision_config.image_size
    pixels = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0)).clamp(-1.5, 1.5)
    with torch.no_grad():
        converted = ov.convert_model(model.vision_model, example_input=pixels)
    core = ov.Core()
    result = {}
    for name, config in (("default", {}), ("f32", {"INFERENCE_PRECISION_HINT": "f32"})):
        compiled = core.compile_model(converted, "CPU", {"INFERENCE_NUM_THREADS": threads, **config})
        request = compiled.create_infer_request()
        x = pixels.numpy()
        request.infer([x])
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            request.infer([x])
            times.append(time.perf_counter() - t)
        result[f"vision_{name}_s"] = statistics.median(times)
        result[f"precision_{name}"] = str(compiled.get_property("INFERENCE_PRECISION_HINT"))
    result["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(result))


def cpu_description():
    model, flags = "unknown CPU", set()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name") and model == "unknown CPU":
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    wanted = ["avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8"]
    return model, [f for f in wanted if f in flags]


def run_json(cmd, env=None):
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, env=env, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


TASKS = {
    # task: (default measurements, script that makes random full-size weights, rows)
    "caption": ("vision,greedy,beam3,throughput", "reference.py",
                [("vision encoder 384² (s)", "vision_s"), ("caption greedy 20 tok (s)", "greedy20_s"),
                 ("caption beam-3 20 tok (s)", "beam3_20_s"), ("decode per token (ms)", "decode_ms_per_token"),
                 ("caption img/s, batch 1", "throughput_1"), ("caption img/s, batch 8", "throughput_8"),
                 ("caption img/s, batch 16", "throughput_16"), ("caption img/s, batch 32", "throughput_32"),
                 ("caption img/s, best batch", "throughput_best"), ("  best batch size", "throughput_best_batch")]),
    "vqa": ("vqa", "reference_vqa.py", [("VQA greedy 10 tok (s)", "vqa10_s")]),
    # BLIP-2 OPT-2.7b widths, 4 vision and 4 OPT layers (the Q-Former full): the full model does
    # not fit twice in this machine's memory.
    "blip2": ("vision,greedy", "reference_blip2.py", [("BLIP-2 vision+Q-Former (s)", "vision_qformer_s"),
                                                               ("BLIP-2 greedy 20 tok (s)", "greedy20_s"),
                                                               ("BLIP-2 decode per token (ms)", "decode_ms_per_token"),
                                                               ("  bandwidth floor (ms)", "decode_floor_ms"),
                                                               ("  decode / floor", "decode_over_floor")]),
    "itm": ("itm,itc,itm16", "reference_retrieval.py",
            [("ITM 1 image x 1 text (s)", "itm_s"), ("ITC 1 image x 1 text (s)", "itc_s"),
             ("ITM 1 image x 16 texts (s)", "itm16_s")]),
}


def merge(into, out, measurements):
    """Adds one run's results; a throughput-only run contributes its throughput and nothing else."""
    if measurements == "throughput":
        into["throughput_images_per_s"] = out.get("throughput_images_per_s")
    else:
        into.update(out)


def decode_bytes_per_token(model_dir, precision):
    """Bytes of weights one OPT decode step reads: every decoder layer's Linear weights (4 of
    hidden² for attention, 2 of hidden × ffn) and the LM head (vocab × hidden), at 4 / 2 / 1 bytes
    per weight for fp32 / bf16 / int8 (+ int8's fp32 scale per output row). Biases, LayerNorms
    and the short KV cache are < 1 % and left out."""
    with open(os.path.join(model_dir, "config.json")) as f:
        text = json.load(f)["text_config"]
    h, ffn, layers, vocab = text["hidden_size"], text["ffn_dim"], text["num_hidden_layers"], text["vocab_size"]
    size = {"fp32": 4, "bf16": 2, "int8": 1}[precision]
    rows = layers * (4 * h + h + ffn) + vocab  # output rows: one scale each for int8
    return (layers * (4 * h * h + 2 * h * ffn) + vocab * h) * size + (rows * 4 if precision == "int8" else 0)


def derive(res, model_dir=None, precision=None, bandwidth=None):
    """Per-token decode time, its memory-bandwidth floor and throughput rows from an engine's raw results."""
    if "greedy20_s" in res and ("vision_s" in res or "vision_qformer_s" in res):
        res["decode_ms_per_token"] = (res["greedy20_s"] - res.get("vision_s", res.get("vision_qformer_s"))) / 20 * 1000
        if bandwidth and precision and "vision_qformer_s" in res:
            res["decode_bytes_per_token"] = decode_bytes_per_token(model_dir, precision)
            res["decode_floor_ms"] = res["decode_bytes_per_token"] / (bandwidth * 1e9) * 1000
            res["decode_over_floor"] = res["decode_ms_per_token"] / res["decode_floor_ms"]
    rates = res.get("throughput_images_per_s") or {}
    for n, r in rates.items():
        res[f"throughput_{n}"] = r
    if rates:
        best = max(rates, key=rates.get)
        res["throughput_best"], res["throughput_best_batch"] = rates[best], int(best)
    return res


def make_gallery(count):
    """`count` distinct JPEG photos (crops of scikit-image's photographs), made once."""
    from PIL import Image
    import skimage

    gallery = f"/tmp/swift-blip-bench/gallery{count}"
    if not os.path.isdir(gallery) or len(os.listdir(gallery)) < count:
        os.makedirs(gallery, exist_ok=True)
        data = os.path.join(os.path.dirname(skimage.__file__), "data")
        photos = [Image.open(os.path.join(data, n)).convert("RGB")
                  for n in ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png")
                  if os.path.exists(os.path.join(data, n))]
        for i in range(count):
            photo = photos[i % len(photos)]
            w, h = photo.size
            d = 4 * (i // len(photos))
            photo.crop((d, d, w - d, h - d)).save(os.path.join(gallery, f"photo{i:03d}.jpg"), quality=90)
    return gallery


def index_throughput(blip, model, count=24):
    """`blip index add` on `count` distinct JPEG photos (crops of scikit-image's photographs, made
    once): decode, preprocess, vision encoder, ITC projection, SHA-256 and SQLite; images/s."""
    import re
    import tempfile

    gallery = make_gallery(count)
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([blip, "index", "add", "--model", model, "--index", os.path.join(tmp, "bench.sqlite"),
                              gallery], check=True, capture_output=True, text=True)
    m = re.search(r"([0-9.]+) images/s", out.stdout + out.stderr)
    return float(m.group(1)) if m else None


def capfilt_throughput(blip, threads, precisions=("fp32", "bf16", "int8"), count=64):
    """`blip capfilt` on `count` photos (a JSON Lines file of records, each with a web caption) with
    random base weights: the caption-base captioner (one nucleus-sampled caption per image) and the
    itm-base filter, batch 8, one process per precision; images/s as the run's summary line gives
    it (decode, preprocessing and both models, model loading excluded)."""
    import re
    import tempfile

    gallery = make_gallery(count)
    models = {}
    for task, script in (("caption", "reference.py"), ("itm", "reference_retrieval.py")):
        models[task] = f"/tmp/swift-blip-bench/{task}-base"
        if not os.path.exists(os.path.join(models[task], "model.safetensors")):
            subprocess.run([sys.executable, os.path.join(ROOT, "scripts", script), "make-model", "--config", "base",
                            "--out", models[task]], check=True, stdout=subprocess.DEVNULL)
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        records = os.path.join(tmp, "records.jsonl")
        with open(records, "w") as f:
            for name in sorted(os.listdir(gallery))[:count]:
                f.write(json.dumps({"image": os.path.join(gallery, name), "caption": "a photograph of something"}) + "\n")
        for precision in precisions:
            print(f"running blip capfilt {precision} on {count} photos ...", file=sys.stderr)
            out = subprocess.run([blip, "capfilt", "--captioner", models["caption"], "--filter", models["itm"],
                                  "--precision", precision, "--threads", str(threads), "--batch-size", "8",
                                  "--shard-size", str(count), "--output", os.path.join(tmp, precision), records],
                                 check=True, capture_output=True, text=True)
            m = re.search(r"([0-9.]+) images/s", out.stdout)
            rates[precision] = float(m.group(1)) if m else None
    return rates


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", default="caption,vqa,itm", help="comma-separated: caption, vqa, itm")
    ap.add_argument("--model", help="model directory for a single task (default: make random base weights)")
    ap.add_argument("--task", default="caption", help=argparse.SUPPRESS)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", help="measurements (default: all of each task)")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--openvino-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--dtype", default="fp32", help=argparse.SUPPRESS)
    ap.add_argument("--no-openvino", action="store_true", help="skip OpenVINO (pip install openvino)")
    ap.add_argument("--batch-sizes", default="1,8,16,32", help="caption throughput batch sizes")
    ap.add_argument("--images", help=argparse.SUPPRESS)
    ap.add_argument("--blip2-full", action="store_true",
                    help="blip2: the full-size blip2-opt-2.7b config (39 vision, 32 OPT layers; 15.5 GB) instead of 4+4 layers")
    args = ap.parse_args()
    if args.torch_worker:
        torch_worker(args.model, args.task, args.repeats, args.threads, set(args.only.split(",")), args.dtype,
                     args.images, [int(n) for n in args.batch_sizes.split(",")])
        return
    if args.openvino_worker:
        openvino_worker(args.model, args.repeats, args.threads)
        return

    tasks = args.tasks.split(",")
    if args.model and len(tasks) != 1:
        ap.error("--model needs exactly one task in --tasks")
    print("building release ...", file=sys.stderr)
    subprocess.run(["swift", "build", "-c", "release", "--product", "blip"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    blip = os.path.join(ROOT, ".build/release/blip")
    cpu, isa = cpu_description()
    print(f"CPU: {cpu}; ISA: {' '.join(isa)}; threads: {args.threads}")
    results = {"threads": args.threads, "cpu": cpu, "isa": isa}
    engines = ["PyTorch fp32", "PyTorch bf16", "ours fp32", "ours bf16", "ours int8"]
    print(f"{'measurement':<30}" + "".join(f"{e:>14}" for e in engines))
    for task in tasks:
        if task == "capfilt":
            rates = capfilt_throughput(blip, args.threads)
            results["capfilt_images_per_s"] = rates
            print(f"{'capfilt img/s (64 photos)':<30}{'':>14}{'':>14}" + "".join(f"{rates[p]:>14.2f}" for p in ("fp32", "bf16", "int8")),
                  flush=True)
            continue
        default_only, script, rows = TASKS[task]
        only = args.only or default_only
        full = task == "blip2" and args.blip2_full
        model = args.model or f"/tmp/swift-blip-bench/{task}-{'full' if full else 'base'}"
        if not any(os.path.exists(os.path.join(model, f)) for f in ("model.safetensors", "model.safetensors.index.json")):
            print(f"making random base weights in {model} ...", file=sys.stderr)
            size = (["--full"] if full else ["--layers", "4"]) if task == "blip2" else ["--config", "base"]
            subprocess.run([sys.executable, os.path.join(ROOT, "scripts", script), "make-model",
                            *size, "--out", model], check=True, stdout=subprocess.DEVNULL)
        res = {}
        # Throughput runs in processes of its own, so the peak RSS rows stay those of batch 1.
        wanted = only.split(",")
        passes = [(",".join(m for m in wanted if m != "throughput"), [])]
        if task == "caption" and "throughput" in wanted:
            passes.append(("throughput", ["--images", make_gallery(32), "--batch-sizes", args.batch_sizes]))
        for measurements, extra in passes:
            if not measurements:
                continue
            for dtype in ("fp32", "bf16"):
                print(f"running PyTorch {dtype} ({task}: {measurements}) ...", file=sys.stderr)
                out = run_json([sys.executable, os.path.abspath(__file__), "--torch-worker", "--model", model, "--task",
                                task, "--repeats", str(args.repeats), "--threads", str(args.threads), "--only",
                                measurements, "--dtype", dtype] + extra)
                merge(res.setdefault(f"PyTorch {dtype}", {}), out, measurements)
            for precision in ("fp32", "bf16", "int8"):
                print(f"running Swift BLIP {precision} ({task}: {measurements}) ...", file=sys.stderr)
                out = run_json([blip, "bench", "--task", task, "--model", model, "--repeats", str(args.repeats),
                                "--threads", str(args.threads), "--only", measurements, "--precision", precision] + extra)
                merge(res.setdefault(f"ours {precision}", {}), out, measurements)
        bandwidth = None
        if task == "blip2":  # a process of its own: its 1 GiB buffer stays out of the RSS rows
            print("running Swift BLIP memory read bandwidth ...", file=sys.stderr)
            bandwidth = run_json([blip, "bench", "--task", task, "--model", model, "--threads", str(args.threads),
                                  "--only", "bandwidth"]).get("read_bandwidth_gb_s")
        if bandwidth:
            results["read_bandwidth_gb_s"] = bandwidth
            print(f"memory read bandwidth ({args.threads} threads): {bandwidth:.1f} GB/s", flush=True)
        for name, engine in res.items():
            derive(engine, model, {"PyTorch fp32": "fp32", "PyTorch bf16": "bf16"}.get(name, name.split(" ")[-1]), bandwidth)
        results[task] = res
        for label, key in rows + [(f"peak RSS, {task} (MiB)", "peak_rss_bytes")]:
            scale, fmt = ((2**-20, "{:>14.0f}") if key == "peak_rss_bytes" else (1, "{:>14.0f}")
                          if key == "throughput_best_batch" else (1, "{:>14.1f}")
                          if key in ("decode_ms_per_token", "decode_floor_ms") else (1, "{:>14.2f}")
                          if key == "decode_over_floor" else (1, "{:>14.3f}"))
            cells = [fmt.format(res[e][key] * scale) if key in res[e] else f"{'':>14}" for e in engines]
            print(f"{label:<30}" + "".join(cells), flush=True)
        if task == "caption" and not args.no_openvino:
            print("running OpenVINO (vision encoder) ...", file=sys.stderr)
            try:
                ov_res = run_json([sys.executable, os.path.abspath(__file__), "--openvino-worker", "--model", model,
                                   "--repeats", str(args.repeats), "--threads", str(args.threads)])
            except (subprocess.CalledProcessError, json.JSONDecodeError) as e:
                print(f"OpenVINO failed ({e}); pip install openvino", file=sys.stderr)
                ov_res = None
            if ov_res:
                results["openvino"] = ov_res
                print(f"{'OpenVINO vision, default (s)':<30}{ov_res['vision_default_s']:>14.3f}  ({ov_res['precision_default']})")
                print(f"{'OpenVINO vision, f32 (s)':<30}{ov_res['vision_f32_s']:>14.3f}")
                ratios = [
                    ("ours bf16 vision / OpenVINO default", res["ours bf16"].get("vision_s"), ov_res["vision_default_s"]),
                    ("ours fp32 vision / OpenVINO f32", res["ours fp32"].get("vision_s"), ov_res["vision_f32_s"]),
                ]
                for name, a, b in ratios:
                    if a and b:
                        print(f"  {name:<44}{a / b:>8.2f}")
        if task == "caption":
            c = res
            for name, a, b in [
                ("ours bf16 greedy-20 / PyTorch bf16", c["ours bf16"].get("greedy20_s"), c["PyTorch bf16"].get("greedy20_s")),
                ("ours int8 greedy-20 / ours fp32", c["ours int8"].get("greedy20_s"), c["ours fp32"].get("greedy20_s")),
                ("ours int8 decode per token / ours fp32", c["ours int8"].get("decode_ms_per_token"),
                 c["ours fp32"].get("decode_ms_per_token")),
                ("ours bf16 best throughput / PyTorch bf16 best", c["ours bf16"].get("throughput_best"),
                 c["PyTorch bf16"].get("throughput_best")),
                ("ours int8 best throughput / PyTorch bf16 best", c["ours int8"].get("throughput_best"),
                 c["PyTorch bf16"].get("throughput_best")),
                ("ours bf16 peak RSS / PyTorch fp32", c["ours bf16"].get("peak_rss_bytes"), c["PyTorch fp32"].get("peak_rss_bytes")),
            ]:
                if a and b:
                    print(f"  {name:<44}{a / b:>8.2f}")
        if task == "itm" and not args.only:
            rate = index_throughput(blip, model)
            results["index_images_per_s"] = rate
            print(f"{'blip index add (images/s)':<30}{'':>10}{rate:>10.2f}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
