#!/usr/bin/env python3
"""Reference data for `blip capfilt` (BLIPData): WebDataset tars as img2dataset writes them,
BLIP's official `pre_caption`, and transformers' ITM/ITC scores of the tiny ITM fixture.

Test tool only: the Swift package never runs Python. Environment as scripts/reference.py
(transformers 5.x, torch CPU); `check-output` also needs `pip install webdataset`.

Commands
--------
  python3 scripts/capfilt_reference.py make-fixtures [--root Tests/BLIPDataTests/Fixtures]
      Writes (deterministic):
      * webdataset/00000.tar, 00001.tar: img2dataset's layout (KEY.jpg|png + KEY.txt + KEY.json,
        written by Python's tarfile in its default pax format), with bad members on purpose: a
        truncated PNG, a text file that is not an image, a caption that is not UTF-8, a json
        member that is not JSON, a sample without an image, a key longer than 100 bytes;
      * broken.tar: the first samples of 00000.tar, cut in the middle of a member;
      * expected.json: for every good sample, the web caption after pre_caption and the ITM
        match probability (softmax of the ITM head, [CLS] first, as transformers and
        blip_itm.py run it) and ITC cosine that transformers computes with the tiny ITM model
        (Tests/BLIPTests/Fixtures/tiny-itm); and pre_caption of tricky strings.

  python3 scripts/capfilt_reference.py check-output DIR
      Reads every NNNNN.tar of a `blip capfilt` output folder with the `webdataset` package and
      checks each sample: an image PIL decodes, KEY.txt equal to KEY.json's "caption" and to the
      best kept text, and the training rows of NNNNN.jsonl naming kept texts only.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TINY_ITM = ROOT / "Tests/BLIPTests/Fixtures/tiny-itm"


def pre_caption(caption: str, max_words: int = 30) -> str:
    """BLIP's data/utils.py pre_caption, verbatim in behaviour."""
    caption = re.sub(r"([.!\"()*#:;~])", " ", caption.lower())
    caption = re.sub(r"\s{2,}", " ", caption)
    caption = caption.rstrip("\n")
    caption = caption.strip(" ")
    words = caption.split(" ")
    if len(words) > max_words:
        caption = " ".join(words[:max_words])
    return caption


TRICKY = [
    "A Dog!!  Running (fast) on the beach.", "  leading and trailing  ", "tabs\tand\nnewlines\n\n",
    "CAPS: #hashtag ~tilde* \"quoted\"", "single\ttab kept", "", "...", "unicode: café naïve — ok",
    " ".join(f"w{i}" for i in range(40)), "line\r\nbreak", "semi;colon:colon", "a  b   c    d",
]


def png_bytes(path: Path) -> bytes:
    return path.read_bytes()


def add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 1_700_000_000
    tar.addfile(info, io.BytesIO(data))


def itm_scores(images: list[Path], texts: list[str]) -> list[tuple[float, float]]:
    import torch
    from PIL import Image
    from transformers import BlipForImageTextRetrieval, BlipProcessor

    torch.set_num_threads(2)
    model = BlipForImageTextRetrieval.from_pretrained(TINY_ITM, dtype=torch.float32).eval()
    processor = BlipProcessor.from_pretrained(TINY_ITM)
    out = []
    with torch.no_grad():
        for image, text in zip(images, texts):
            inputs = processor(images=Image.open(image).convert("RGB"), text=text, return_tensors="pt")
            itm = model(**inputs, use_itm_head=True).itm_score.softmax(dim=-1)[0, 1].item()
            itc = model(**inputs, use_itm_head=False).itm_score[0, 0].item()
            out.append((itm, itc))
    return out


def make_fixtures(root: Path) -> None:
    images = TINY_ITM / "images"
    astronaut, chelsea, coffee = (images / n for n in ("astronaut_64x64.png", "chelsea_72x48.png", "coffee_60x40.png"))
    wds = root / "webdataset"
    wds.mkdir(parents=True, exist_ok=True)
    long_key = "k" * 120
    good = [  # (shard, key, image, caption)
        (0, "000000000", astronaut, "An astronaut (in a white space suit)!"),
        (0, "000000001", chelsea, "a ginger cat lying down, looking at the camera"),
        (1, "000010000", coffee, "A cup of coffee on a saucer."),
        (1, long_key, astronaut, "a photograph of an astronaut"),
    ]
    shards = {0: [], 1: []}
    for shard, key, image, caption in good:
        shards[shard].append((key, [(".png", png_bytes(image)), (".txt", caption.encode()),
                                    (".json", json.dumps({"key": key, "caption": caption, "url": f"http://x/{key}.png"}).encode())]))
    truncated = png_bytes(chelsea)[:200]
    shards[0].append(("000000002", [(".png", truncated), (".txt", b"a truncated image"), (".json", b'{"key": "000000002"}')]))
    shards[0].append(("000000003", [(".jpg", b"this is not an image at all"), (".txt", b"not an image"), (".json", b"{}")]))
    shards[1].append(("000010001", [(".png", png_bytes(coffee)), (".txt", b"caf\xe9 au lait"), (".json", b"not json")]))
    shards[1].append(("000010002", [(".txt", b"a caption without an image"), (".json", b"{}")]))
    shards[1].append(("000010003", [(".png", png_bytes(chelsea)), (".txt", b"   "), (".json", b"{}")]))
    for shard, samples in shards.items():
        with tarfile.open(wds / f"{shard:05d}.tar", "w") as tar:  # default: pax format
            for key, members in samples:
                for ext, data in members:
                    add(tar, key + ext, data)
    whole = (wds / "00000.tar").read_bytes()
    with tarfile.open(wds / "00000.tar") as tar:
        cut = tar.getmembers()[1].offset_data + 5  # inside the second member's data
    (root / "broken.tar").write_bytes(whole[:cut])

    texts = [pre_caption(c) for _, _, _, c in good]
    scores = itm_scores([g[2] for g in good], texts)
    expected = {
        "samples": {key: {"text": text, "itm": itm, "itc": itc}
                    for (_, key, _, _), text, (itm, itc) in zip(good, texts, scores)},
        "pre_caption": [{"input": s, "output": pre_caption(s), "output_10": pre_caption(s, 10)} for s in TRICKY],
    }
    (root / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {wds}/00000.tar, 00001.tar, {root}/broken.tar, {root}/expected.json")


def check_output(folder: Path) -> int:
    import webdataset as wds
    from PIL import Image

    failures = 0
    count = 0
    for tar in sorted(folder.glob("[0-9]*.tar")):
        rows = [json.loads(l) for l in (folder / (tar.stem + ".jsonl")).read_text().splitlines() if l]
        kept_by_key = {}
        for r in rows:
            kept_by_key.setdefault(r["key"], set()).add(r["caption"])
        for sample in wds.WebDataset(str(tar), shardshuffle=False):
            count += 1
            key = sample["__key__"]
            image_ext = next(e for e in ("jpg", "png", "webp") if e in sample)
            Image.open(io.BytesIO(sample[image_ext])).load()
            record = json.loads(sample["json"])
            txt = sample["txt"].decode()
            kept = {t["text"] for t in record["texts"] if t["kept"]}
            if txt != record["caption"] or txt not in kept or kept != kept_by_key.get(key, set()):
                print(f"{tar.name} {key}: txt {txt!r}, json caption {record['caption']!r}, kept {kept}, rows {kept_by_key.get(key)}")
                failures += 1
    print(f"check-output: {count} samples read with webdataset, {failures} inconsistent")
    return 1 if failures or count == 0 else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    mf = sub.add_parser("make-fixtures")
    mf.add_argument("--root", type=Path, default=ROOT / "Tests/BLIPDataTests/Fixtures")
    co = sub.add_parser("check-output")
    co.add_argument("folder", type=Path)
    args = ap.parse_args()
    if args.cmd == "make-fixtures":
        make_fixtures(args.root)
        return 0
    return check_output(args.folder)


if __name__ == "__main__":
    sys.exit(main())
