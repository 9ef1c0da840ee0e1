#!/usr/bin/env python3
"""Creates the EXIF-orientation fixtures for Tests/BLIPTests/ExifOrientationTests.swift.

A small non-square crop of scikit-image's astronaut written with each EXIF orientation (1-8) as
JPEG, plus PNG (eXIf before and after the image data), WebP (EXIF chunk), big-endian TIFF data,
XMP-only orientation and an out-of-range value. For each file the expected RGB image is what
transformers' `load_image` feeds the processor: `ImageOps.exif_transpose(Image.open(f)).convert("RGB")`,
stored as a lossless PNG; and for one file the pixel_values of BlipImageProcessorPil on it.

Run from the repository root: python3 scripts/make_exif_fixtures.py
Needs: numpy, pillow 13, scikit-image, transformers.
"""
import json
import os
import struct
import zlib

import numpy as np
from PIL import Image, ImageOps
from skimage import data as skdata
from transformers import BlipImageProcessorPil

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "BLIPTests", "Fixtures", "images", "exif")
os.makedirs(OUT, exist_ok=True)


def path(name):
    return os.path.join(OUT, name)


base = np.array(Image.fromarray(skdata.astronaut()[40:340, 60:480]).resize((20, 12), Image.Resampling.LANCZOS))


def exif_bytes(orientation):
    e = Image.Exif()
    e[0x0112] = orientation
    return e.tobytes()


def png_chunks(blob):
    p, chunks = 8, []
    while p < len(blob):
        (n,) = struct.unpack(">I", blob[p:p + 4])
        chunks.append(blob[p:p + 12 + n])
        p += 12 + n
    return chunks


cases = []


def add(name, orientation):
    im = Image.open(path(name))
    upright = ImageOps.exif_transpose(im).convert("RGB")
    expected = name + ".expected.png"
    upright.save(path(expected))
    cases.append({"file": name, "expected": expected, "orientation": orientation,
                  "width": upright.width, "height": upright.height})


for n in range(1, 9):
    Image.fromarray(base).save(path(f"orient_{n}.jpg"), quality=90, exif=exif_bytes(n))
    add(f"orient_{n}.jpg", n)

Image.fromarray(base).save(path("orient_6.png"), exif=exif_bytes(6))
add("orient_6.png", 6)
# eXIf after IDAT (Pillow reads it on load; exif_transpose loads the image first).
chunks = png_chunks(open(path("orient_6.png"), "rb").read())
exif_chunk = [c for c in chunks if c[4:8] == b"eXIf"]
others = [c for c in chunks if c[4:8] != b"eXIf"]
assert len(exif_chunk) == 1
# Orientation 3 in an eXIf chunk placed just before IEND.
body = exif_bytes(3)
chunk3 = struct.pack(">I", len(body)) + b"eXIf" + body + struct.pack(">I", zlib.crc32(b"eXIf" + body) & 0xFFFFFFFF)
open(path("orient_3_late.png"), "wb").write(b"\x89PNG\r\n\x1a\n" + b"".join(others[:-1]) + chunk3 + others[-1])
add("orient_3_late.png", 3)

Image.fromarray(base).save(path("orient_8.webp"), lossless=True, exif=exif_bytes(8))
add("orient_8.webp", 8)

# Big-endian TIFF data with orientation 5.
mm = b"MM\x00\x2a\x00\x00\x00\x08" + b"\x00\x01" + b"\x01\x12\x00\x03\x00\x00\x00\x01\x00\x05\x00\x00" + b"\x00\x00\x00\x00"
Image.fromarray(base).save(path("orient_5_mm.jpg"), quality=90, exif=b"Exif\x00\x00" + mm)
add("orient_5_mm.jpg", 5)

# XMP only (no EXIF): Pillow's getexif reads tiff:Orientation from XMP.
xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>')
Image.fromarray(base).save(path("orient_6_xmp.jpg"), quality=90, xmp=xmp)
add("orient_6_xmp.jpg", 6)

# Out of range: left as it is.
Image.fromarray(base).save(path("orient_9.jpg"), quality=90, exif=exif_bytes(9))
add("orient_9.jpg", 1)

# pixel_values transformers computes for a rotated photo.
proc = BlipImageProcessorPil(size={"height": 24, "width": 16})
values = proc(images=ImageOps.exif_transpose(Image.open(path("orient_6.jpg"))), return_tensors="np")["pixel_values"]
np.save(path("orient_6.pixel_values.npy"), values.astype(np.float32))

with open(path("cases.json"), "w") as f:
    json.dump({"cases": cases, "pixel_values": {"file": "orient_6.jpg", "height": 24, "width": 16,
                                                "expected": "orient_6.pixel_values.npy"}}, f, indent=1)
print(f"{len(cases)} EXIF cases written to {os.path.normpath(OUT)}")
