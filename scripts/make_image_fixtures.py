#!/usr/bin/env python3
"""Creates the image fixtures for Tests/BLIPTests/ImageTests.swift.

Small crops of scikit-image's photographs in every format the decoder handles, plus the pixel_values
transformers' BlipImageProcessorPil computes for them at small output sizes (float32 .npy), PIL's own
decode of the lossy files (lossless PNG, to measure decoder differences) and a few broken files.

Run from the repository root: python3 scripts/make_image_fixtures.py
Needs: numpy, pillow, scikit-image, transformers (torchvision not needed).
"""
import io
import json
import os
import struct
import zlib

import numpy as np
from PIL import Image
from skimage import data as skdata
from transformers import BlipImageProcessorPil

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "BLIPTests", "Fixtures", "images")
os.makedirs(OUT, exist_ok=True)


def path(name):
    return os.path.join(OUT, name)


def small(arr, width, height):
    """Photo crop resized (LANCZOS) to width x height, as uint8 array."""
    return np.array(Image.fromarray(arr).resize((width, height), Image.Resampling.LANCZOS))


def png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def write_png16(name, arr, color_type):
    """16-bit PNG writer (Pillow cannot write 16-bit RGB)."""
    h, w = arr.shape[:2]
    raw = arr.astype(">u2").tobytes()
    stride = len(raw) // h
    rows = b"".join(b"\x00" + raw[i * stride:(i + 1) * stride] for i in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 0)
    blob = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(rows, 9))
            + png_chunk(b"IEND", b""))
    with open(path(name), "wb") as f:
        f.write(blob)


astronaut = skdata.astronaut()          # 512x512 RGB
chelsea = skdata.chelsea()              # 300x451 RGB
coffee = skdata.coffee()                # 400x600 RGB

rgb = small(astronaut[30:430, 40:520], 120, 100)
cat = small(chelsea[20:280, 40:400], 96, 72)
cup = small(coffee[40:360, 60:540], 90, 60)
gray = np.array(Image.fromarray(cup).convert("L"))
yy, xx = np.mgrid[0:72, 0:96]
alpha = np.clip((xx * 255) // 95 + ((yy // 12) % 2) * 40, 0, 255).astype(np.uint8)
alpha[:, :8] = 0                        # fully transparent strip
alpha[:, -8:] = 255                     # fully opaque strip

cases = []


def add(name, file, height, width, kind, expected_from=None, pil_decoded=False):
    """Runs BlipImageProcessorPil on the file (or on `expected_from`, an image object) and stores the result."""
    proc = BlipImageProcessorPil(size={"height": height, "width": width})
    src = expected_from if expected_from is not None else Image.open(path(file))
    values = proc(images=src, return_tensors="np")["pixel_values"].astype(np.float32)
    assert values.shape == (1, 3, height, width), values.shape
    np.save(path(f"{name}.npy"), values)
    case = {"name": name, "file": file, "height": height, "width": width, "kind": kind, "expected": f"{name}.npy"}
    if pil_decoded:
        im = Image.open(path(file))
        if im.mode in ("RGBA", "LA") or "transparency" in im.info:
            im = im.convert("RGBA")
            bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
            im = Image.alpha_composite(bg, im)
        im.convert("RGB").save(path(f"{name}.pil.png"))
        case["pil_decoded"] = f"{name}.pil.png"
    cases.append(case)


# PNG, 8-bit
Image.fromarray(rgb).save(path("rgb.png"))
add("png_rgb", "rgb.png", 32, 40, "png")
Image.fromarray(np.dstack([cat, alpha])).save(path("rgba.png"))
add("png_rgba", "rgba.png", 32, 40, "png")
Image.fromarray(gray).save(path("gray.png"))
add("png_gray", "gray.png", 32, 40, "png")
Image.fromarray(np.dstack([gray, alpha[:60, :90]]), "LA").save(path("gray_alpha.png"))
add("png_gray_alpha", "gray_alpha.png", 32, 40, "png")
pal = Image.fromarray(cat).quantize(colors=64)
trns = bytes([0 if i % 5 == 0 else (128 if i % 5 == 1 else 255) for i in range(64)])
pal.save(path("palette_trns.png"), transparency=trns)
assert "transparency" in Image.open(path("palette_trns.png")).info
add("png_palette_trns", "palette_trns.png", 32, 40, "png")
Image.fromarray(gray).save(path("gray_trns.png"), transparency=int(gray[10, 10]))
add("png_gray_trns", "gray_trns.png", 32, 40, "png")
Image.fromarray(cat).convert("P", palette=Image.Palette.ADAPTIVE, colors=200).save(path("palette.png"))
add("png_palette", "palette.png", 32, 40, "png")

# PNG, 16-bit. RGB: Pillow keeps the high byte. Grey: Pillow clips to 255 (mostly white); our rule is
# also the high byte, so the expected values come from the >>8 image (the clipped result is stored too).
noise = np.random.default_rng(0).integers(0, 257, rgb.shape).astype(np.uint16)
rgb16 = rgb.astype(np.uint16) * 257 + np.where(rgb < 255, noise, 0).astype(np.uint16)  # no uint16 overflow
write_png16("rgb16.png", rgb16, 2)
assert np.array_equal(np.array(Image.open(path("rgb16.png")).convert("RGB")), (rgb16 >> 8).astype(np.uint8))
add("png_rgb16", "rgb16.png", 32, 40, "png")
gray16 = gray.astype(np.uint16) * 257
write_png16("gray16.png", gray16, 0)
add("png_gray16", "gray16.png", 32, 40, "png16-rule",
    expected_from=Image.fromarray((gray16 >> 8).astype(np.uint8)))
add("png_gray16_pil_clipped", "gray16.png", 32, 40, "png16-pil")

# Upscaling and a tall image (Pillow 13 resizes vertically first when the height shrinks much more)
Image.fromarray(small(astronaut[100:300, 150:420], 40, 30)).save(path("small_rgb.png"))
add("png_upscale", "small_rgb.png", 150, 160, "png")
Image.fromarray(small(coffee[0:400, 200:300], 30, 120)).save(path("tall_rgb.png"))
add("png_tall", "tall_rgb.png", 32, 40, "png")

# JPEG
Image.fromarray(rgb).save(path("baseline.jpg"), quality=90)
add("jpeg_baseline", "baseline.jpg", 32, 40, "jpeg", pil_decoded=True)
Image.fromarray(cat).save(path("progressive.jpg"), quality=85, progressive=True)
add("jpeg_progressive", "progressive.jpg", 32, 40, "jpeg", pil_decoded=True)
Image.fromarray(gray).save(path("gray.jpg"), quality=90)
add("jpeg_gray", "gray.jpg", 32, 40, "jpeg", pil_decoded=True)
Image.fromarray(cup).save(path("yuv444.jpg"), quality=92, subsampling=0)
add("jpeg_444", "yuv444.jpg", 32, 40, "jpeg", pil_decoded=True)
Image.fromarray(cup).convert("CMYK").save(path("cmyk.jpg"), quality=95)
assert Image.open(path("cmyk.jpg")).mode == "CMYK"
add("jpeg_cmyk", "cmyk.jpg", 32, 40, "jpeg", pil_decoded=True)

# WebP
Image.fromarray(rgb).save(path("lossy.webp"), quality=80)
add("webp_lossy", "lossy.webp", 32, 40, "webp", pil_decoded=True)
Image.fromarray(cat).save(path("lossless.webp"), lossless=True)
add("webp_lossless", "lossless.webp", 32, 40, "webp", pil_decoded=True)
Image.fromarray(np.dstack([cat, alpha])).save(path("alpha_lossy.webp"), quality=80)
add("webp_alpha_lossy", "alpha_lossy.webp", 32, 40, "webp", pil_decoded=True)
Image.fromarray(np.dstack([cat, alpha])).save(path("alpha_lossless.webp"), lossless=True)
add("webp_alpha_lossless", "alpha_lossless.webp", 32, 40, "webp", pil_decoded=True)

# Format by magic bytes: a JPEG named .png
with open(path("baseline.jpg"), "rb") as f:
    jpeg_bytes = f.read()
with open(path("jpeg_named.png"), "wb") as f:
    f.write(jpeg_bytes)
add("magic_jpeg_named_png", "jpeg_named.png", 32, 40, "jpeg")

# Real BLIP size: the uint8 image PIL's bicubic resize gives at 384x384 (stored as PNG to stay small)
Image.open(path("rgb.png")).convert("RGB").resize((384, 384), Image.Resampling.BICUBIC).save(path("rgb_384_pil.png"))

# Broken files
with open(path("rgb.png"), "rb") as f:
    png_bytes = f.read()
broken = {
    "truncated.png": png_bytes[: len(png_bytes) // 2],
    "truncated.jpg": jpeg_bytes[: len(jpeg_bytes) // 2],
    "random.bin": np.random.default_rng(1).integers(0, 256, 2000, dtype=np.uint8).tobytes(),
    "empty.png": b"",
    "bad_crc.png": png_bytes[:40] + bytes([png_bytes[40] ^ 0xFF]) + png_bytes[41:],
    "header_only.webp": b"RIFF\x24\x00\x00\x00WEBPVP8 ",
}
for name, blob in broken.items():
    with open(path(name), "wb") as f:
        f.write(blob)

with open(path("cases.json"), "w") as f:
    json.dump({"cases": cases, "broken": sorted(broken), "rgb_384": {"file": "rgb.png", "expected_png": "rgb_384_pil.png"}},
              f, indent=1)
print(f"{len(cases)} cases written to {os.path.normpath(OUT)}")
