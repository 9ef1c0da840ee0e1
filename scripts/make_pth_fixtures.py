#!/usr/bin/env python3
"""Builds the PyTorch checkpoint fixtures for TorchCheckpointTests (Tests/TensorTests/Fixtures/pth).

Valid checkpoints are written by torch.save (zip and legacy formats) or, for layouts torch does not
write by itself (ZIP64, a two-level prefix, unaligned data), re-packed by the small zip writer
below. Hostile files are hand-assembled pickles put into a correctly laid out archive, plus damaged
copies of valid files. `expected.json` holds what the Swift reader must return (fp32 values as
bit patterns, so comparisons are exact) and, for every hostile file, the expected error case and
what `torch.load(weights_only=True)` did with it.

    python3 scripts/make_pth_fixtures.py [output directory]

Needs torch (CPU build is fine). Never runs torch.load without weights_only=True.
"""

import collections
import io
import json
import os
import pickle
import struct
import sys
import zipfile
import zlib

import torch

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "TensorTests", "Fixtures", "pth")
os.makedirs(OUT, exist_ok=True)

# Files the hostile payloads would create if anything executed them.
PWNED = "/tmp/pwned-pth-fixture"

DTYPES = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}

expected = {"valid": {}, "hostile": []}


def path(name):
    return os.path.join(OUT, name)


# ---------------------------------------------------------------------------------------------
# A minimal zip writer (stored entries) with optional ZIP64 records and data alignment.

def write_zip(filename, entries, zip64=False, align=64, method=0):
    """entries: list of (name, bytes). method 8 deflates (for the 'compressed' hostile file)."""
    out = bytearray()
    central = []
    for name, data in entries:
        nb = name.encode()
        crc = zlib.crc32(data) & 0xFFFFFFFF
        payload = data
        if method == 8:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            payload = c.compress(data) + c.flush()
        offset = len(out)
        extra = b""
        if zip64:
            extra += struct.pack("<HHQQ", 1, 16, len(data), len(payload))
        if align > 1:
            pad = (-(offset + 30 + len(nb) + len(extra))) % align
            if pad:
                if pad < 4:
                    pad += align
                extra += struct.pack("<HH", 0x4246, pad - 4) + b"Z" * (pad - 4)  # PyTorch's "FB" padding
        csize = 0xFFFFFFFF if zip64 else len(payload)
        usize = 0xFFFFFFFF if zip64 else len(data)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45 if zip64 else 20, 0, method, 0, 0x21,
                           crc, csize, usize, len(nb), len(extra))
        out += nb + extra + payload
        central.append((nb, crc, len(payload), len(data), offset))
    cd_offset = len(out)
    for nb, crc, csize, usize, offset in central:
        extra = b""
        if zip64:
            extra = struct.pack("<HHQQQ", 1, 24, usize, csize, offset)
            csize = usize = offset = 0xFFFFFFFF
        out += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45 if zip64 else 20, 45 if zip64 else 20, 0,
                           method, 0, 0x21, crc, csize, usize, len(nb), len(extra), 0, 0, 0, 0, offset)
        out += nb + extra
    cd_size = len(out) - cd_offset
    count = len(central)
    if zip64:
        z64 = len(out)
        out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, cd_size, cd_offset)
        out += struct.pack("<IIQI", 0x07064B50, 0, z64, 1)
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    else:
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, cd_size, cd_offset, 0)
    with open(filename, "wb") as f:
        f.write(out)


def repack(src, dst, prefix, **kw):
    """Copies the entries of zip checkpoint `src` to `dst` under a new prefix."""
    with zipfile.ZipFile(src) as z:
        old = z.namelist()[0].split("/")[0] + "/"
        entries = [(prefix + n[len(old):], z.read(n)) for n in z.namelist()]
    write_zip(dst, entries, **kw)


def archive(stem, pkl, storages=None, byteorder=b"little", **kw):
    """A checkpoint laid out like torch.save's, around a hand-made pickle."""
    entries = [(f"{stem}/data.pkl", pkl), (f"{stem}/byteorder", byteorder)]
    for key, data in (storages or {}).items():
        entries.append((f"{stem}/data/{key}", data))
    entries += [(f"{stem}/version", b"3\n"), (f"{stem}/.data/serialization_id", b"0" * 40)]
    write_zip(path(stem + ".pth"), entries, **kw)


# ---------------------------------------------------------------------------------------------
# Expectations

def describe(t):
    d = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "strides": list(t.stride()),
         "storageOffset": t.storage_offset(), "storage": t.untyped_storage().data_ptr()}
    c = t.detach().contiguous()
    if t.dtype in (torch.float32, torch.float16, torch.bfloat16, torch.float64):
        d["f32bits"] = [v & 0xFFFFFFFF for v in c.float().view(torch.int32).flatten().tolist()]
    if t.dtype in (torch.float16, torch.bfloat16):
        d["halfBits"] = [v & 0xFFFF for v in c.view(torch.int16).flatten().tolist()]
    if t.dtype in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8, torch.bool):
        d["int64"] = c.to(torch.int64).flatten().tolist()
    return d


def flatten(obj, prefix=""):
    out = []
    if isinstance(obj, torch.Tensor):
        out.append((prefix, obj))
    elif isinstance(obj, dict):
        for k, v in obj.items():
            out += flatten(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            out += flatten(v, f"{prefix}.{i}" if prefix else str(i))
    return out


def expect(filename, state_dict, fmt, prefix=None, state_dict_path=(), torch_loads=True):
    tensors = flatten(state_dict)
    groups = {}
    infos = {}
    for name, t in tensors:
        d = describe(t)
        d["storageGroup"] = groups.setdefault(d.pop("storage"), len(groups))
        infos[name] = d
    entry = {"format": fmt, "prefix": prefix, "stateDictPath": list(state_dict_path),
             "names": [n for n, _ in tensors], "tensors": infos}
    if torch_loads:
        # Cross-check: torch itself loads the file (weights_only) to the same values.
        loaded = torch.load(path(filename), weights_only=True)
        for key in state_dict_path:
            loaded = loaded[key]
        got = flatten(loaded)
        assert [n for n, _ in got] == entry["names"], filename
        for n, t in got:
            d = describe(t)
            for k in ("f32bits", "halfBits", "int64", "shape", "strides", "storageOffset", "dtype"):
                assert d.get(k) == infos[n].get(k), (filename, n, k)
    entry["torchLoads"] = torch_loads
    expected["valid"][filename] = entry


def save(filename, obj, **kw):
    torch.save(obj, path(filename), **kw)


# ---------------------------------------------------------------------------------------------
# Valid checkpoints

torch.manual_seed(0)


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(3, 4)
        self.norm = torch.nn.LayerNorm(4)
        self.register_buffer("position_ids", torch.arange(5).unsqueeze(0))
        self.register_buffer("scale", torch.tensor(0.125))
        self.register_buffer("empty", torch.zeros(0, 3))


model = Tiny()
sd = model.state_dict()  # an OrderedDict with _metadata (pickled with BUILD)

save("plain.pth", sd)
expect("plain.pth", sd, "zip", "plain/")

config = {"hidden": 4, "lr": 0.001, "name": "tiny", "layers": [1, 2, 3], "flag": True, "nothing": None,
          "blob": b"\x00\x01\xff", "pair": (1, "a"), "big": 2 ** 70, "neg": -5,
          "unicode": "caf\u00e9 \u2603"}
save("nested.pth", {"model": sd, "epoch": 3, "config": config})
expect("nested.pth", sd, "zip", "nested/", ["model"])

wrapped = {"state_dict": {"module": sd, "step": 7}, "epoch": 1}
save("wrapped.pth", wrapped)
expect("wrapped.pth", sd, "zip", "wrapped/", ["state_dict", "module"])

base = torch.arange(12, dtype=torch.float32).reshape(3, 4) - 5.5
shared = collections.OrderedDict([
    ("embed.weight", base),
    ("head.weight", base),                         # tied: the same tensor twice
    ("slice", base[1:]),                           # offset view
    ("transposed", base.t()),                      # non-contiguous
    ("column", base[:, 2]),                        # stride 4, offset 2
    ("expanded", torch.arange(3.0).expand(2, 3)),  # stride 0
    ("every_other", base.flatten()[1::3]),
])
save("shared.pth", shared)
expect("shared.pth", shared, "zip", "shared/")

special = torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, 6e-8, float("inf"), float("-inf"), float("nan"), 1e-3])
half_sd = collections.OrderedDict([
    ("h.vector", special.half()),
    ("h.matrix", (torch.randn(3, 4) * 10).half()),
    ("h.transposed", (torch.randn(4, 3)).half().t()),
    ("b.vector", torch.tensor([0.0, -0.0, 1.0, -2.5, 3e38, 1e-40, float("inf"), float("nan"), 1e-3]).bfloat16()),
    ("b.matrix", (torch.randn(2, 5) * 100).bfloat16()),
    ("b.sliced", torch.randn(4, 6).bfloat16()[1:3, ::2]),
])
save("half.pth", half_sd)
expect("half.pth", half_sd, "zip", "half/")

params = model.state_dict(keep_vars=True)  # nn.Parameter values: _rebuild_parameter
params["frozen"] = torch.nn.Parameter(torch.tensor([1.5, -1.5]), requires_grad=False)
save("params.pth", params)
expect("params.pth", params, "zip", "params/")

dtypes_sd = collections.OrderedDict([
    ("f64", torch.tensor([1.0 / 3.0, -1e300, 1e-300, 2.5], dtype=torch.float64)),
    ("i64", torch.tensor([-(2 ** 62), 2 ** 62, 0, -1], dtype=torch.int64)),
    ("i32", torch.tensor([[-(2 ** 31), 2 ** 31 - 1], [7, -7]], dtype=torch.int32)),
    ("i16", torch.tensor([-32768, 32767, 12], dtype=torch.int16)),
    ("i8", torch.tensor([-128, 127, 0], dtype=torch.int8)),
    ("u8", torch.tensor([0, 255, 128], dtype=torch.uint8)),
    ("bool", torch.tensor([True, False, True, True])),
    ("i64_t", torch.arange(6).reshape(2, 3).t()),
])
save("dtypes.pth", dtypes_sd)
expect("dtypes.pth", dtypes_sd, "zip", "dtypes/")

legacy = collections.OrderedDict([
    ("weight", base),
    ("tail", base[2:]),
    ("half", torch.tensor([1.0, -0.5, 2.0]).half()),
    ("ids", torch.arange(4)),
    ("scalar", torch.tensor(-3.25)),
    ("t", base.t()),
])
save("legacy.pth", legacy, _use_new_zipfile_serialization=False)
expect("legacy.pth", legacy, "legacy")
save("legacy_nested.pth", {"model": legacy, "epoch": 9}, _use_new_zipfile_serialization=False)
expect("legacy_nested.pth", legacy, "legacy", None, ["model"])

# Protocol 4 (FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL). torch's own weights_only unpickler
# rejects these opcodes, so there is no torch cross-check (values come from the saved objects).
save("protocol4.pth", shared, pickle_protocol=4)
expect("protocol4.pth", shared, "zip", "protocol4/", torch_loads=False)

save("tiny.model.v2.pth", sd)  # prefix "tiny.model.v2/" (the file stem, dots included)
expect("tiny.model.v2.pth", sd, "zip", "tiny.model.v2/")

buf = io.BytesIO()
torch.save(shared, buf)  # a buffer gets the prefix "archive/"
with open(path("archive_prefix.pth"), "wb") as f:
    f.write(buf.getvalue())
expect("archive_prefix.pth", shared, "zip", "archive/")

repack(path("plain.pth"), path("zip64.pth"), "zip64/", zip64=True)
expect("zip64.pth", sd, "zip", "zip64/")

# Two-level prefix, no alignment padding (fp32 data at odd offsets). torch's reader takes the
# first path component as the archive name, so torch.load cannot read this one.
repack(path("shared.pth"), path("deep_prefix.pth"), "outer/inner/", align=1)
expect("deep_prefix.pth", shared, "zip", "outer/inner/", torch_loads=False)

# The top-level config values the Swift tests check.
expected["nestedConfig"] = {k: (list(v) if isinstance(v, (bytes, tuple)) else v)
                            for k, v in config.items() if k != "big"}


# ---------------------------------------------------------------------------------------------
# Hostile files

class FakeStorage:
    def __init__(self, stype, key, numel):
        self.stype, self.key, self.numel = stype, key, numel


class FakeTensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class FakePickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, FakeStorage):
            return ("storage", obj.stype, obj.key, "cpu", obj.numel)
        return None


def fake_pickle(obj):
    b = io.BytesIO()
    FakePickler(b, protocol=2).dump(obj)
    return b.getvalue()


def touch(tag):
    return f"touch {PWNED}-{tag}"


class Evil:
    """torch.save pickles __reduce__'s result without calling it: GLOBAL posix system + REDUCE."""

    def __reduce__(self):
        return (os.system, (touch("evil-object"),))


class EvilLegacy:
    def __reduce__(self):
        return (os.system, (touch("evil-legacy"),))


def weights_only(filename):
    try:
        torch.load(path(filename), weights_only=True)
        return "loaded"
    except Exception as e:  # noqa: BLE001 - recorded for the report
        text = str(e)
        detail = next((text[i:].splitlines()[0] for i in (text.find(p) for p in (
            "Trying to load unsupported GLOBAL", "Unsupported global:", "Unsupported operand")) if i >= 0),
            text.strip().splitlines()[0] if text.strip() else "")
        return f"{type(e).__name__}: {detail[:120]}"


def hostile(filename, error, mentions, note):
    expected["hostile"].append({"file": filename, "error": error, "mentions": mentions, "note": note})


six = struct.pack("<6f", *range(6))
good_storage = FakeStorage(torch.FloatStorage, "0", 6)

# 1. Code execution through allow-list bypass attempts.
archive("evil_os_system", b"\x80\x02cos\nsystem\nq\x00X" + struct.pack("<I", len(touch("os-system")))
        + touch("os-system").encode() + b"\x85R.")
hostile("evil_os_system.pth", "forbiddenGlobal", ["os.system"], "GLOBAL os system + REDUCE")

code = f"__import__('os').system('{touch('eval')}')".encode()
archive("evil_builtins_eval", b"\x80\x02cbuiltins\neval\nX" + struct.pack("<I", len(code)) + code + b"\x85R.")
hostile("evil_builtins_eval.pth", "forbiddenGlobal", ["builtins.eval"], "GLOBAL builtins eval + REDUCE")

archive("evil_builtin_eval", b"\x80\x02c__builtin__\neval\nX" + struct.pack("<I", len(code)) + code + b"\x85R.")
hostile("evil_builtin_eval.pth", "forbiddenGlobal", ["__builtin__.eval"], "GLOBAL __builtin__ eval + REDUCE")

cmd = touch("posix").encode()
p4 = (b"\x8c\x05posix\x94\x8c\x06system\x94\x93\x94\x8c" + bytes([len(cmd)]) + cmd + b"\x94\x85\x94R\x94.")
archive("evil_posix_stack_global", b"\x80\x04" + p4)  # no FRAME: torch's weights_only rejects FRAME itself
hostile("evil_posix_stack_global.pth", "forbiddenGlobal", ["posix.system"], "protocol 4 STACK_GLOBAL posix system + REDUCE")
archive("evil_posix_framed", b"\x80\x04\x95" + struct.pack("<Q", len(p4)) + p4)
hostile("evil_posix_framed.pth", "forbiddenGlobal", ["posix.system"], "the same inside a protocol 4 FRAME")

popen_target = f"{PWNED}-popen".encode()
archive("evil_subprocess", b"\x80\x02csubprocess\nPopen\n](X\x05\x00\x00\x00touchX" + struct.pack("<I", len(popen_target))
        + popen_target + b"e\x85\x81.")
hostile("evil_subprocess.pth", "forbiddenGlobal", ["subprocess.Popen"], "GLOBAL subprocess Popen + NEWOBJ")

archive("evil_getattr", b"\x80\x02c__builtin__\ngetattr\nccollections\nOrderedDict\nX\x08\x00\x00\x00__init__\x86R.")
hostile("evil_getattr.pth", "forbiddenGlobal", ["__builtin__.getattr"], "GLOBAL __builtin__ getattr")

archive("evil_set", b"\x80\x02c__builtin__\nset\n]\x85R.")
hostile("evil_set.pth", "forbiddenGlobal", ["__builtin__.set"], "builtins.set is not on the allow-list")

# INST (protocol 0): module/name in the opcode itself.
archive("evil_inst", b"(X" + struct.pack("<I", len(cmd)) + cmd + b"ios\nsystem\n.")
hostile("evil_inst.pth", "forbiddenGlobal", ["os.system"], "protocol 0 INST os system")

# A real torch.save of a state dict with a malicious object inside, both formats.
save("evil_in_state_dict.pth", collections.OrderedDict([("w", torch.ones(2)), ("evil", Evil())]))
hostile("evil_in_state_dict.pth", "forbiddenGlobal", ["posix.system"], "torch.save of a dict holding an object whose __reduce__ is os.system")
save("evil_legacy.pth", {"w": torch.ones(2), "evil": EvilLegacy()}, _use_new_zipfile_serialization=False)
hostile("evil_legacy.pth", "forbiddenGlobal", ["posix.system"], "the same, legacy format")

# 2. Malformed pickles.
archive("bad_memo_index", b"\x80\x02j\xff\xff\xff\xff.")
hostile("bad_memo_index.pth", "invalidPickle", ["memo key 4294967295"], "LONG_BINGET 0xFFFFFFFF")
archive("bad_stack_underflow", b"\x80\x02R.")
hostile("bad_stack_underflow.pth", "invalidPickle", ["stack underflow"], "REDUCE on an empty stack")
archive("bad_mark_underflow", b"\x80\x02}(Ns.")
hostile("bad_mark_underflow.pth", "invalidPickle", ["stack underflow"], "SETITEM reaching below a MARK")

valid_pkl = zipfile.ZipFile(path("plain.pth")).read("plain/data.pkl")
with zipfile.ZipFile(path("plain.pth")) as z:
    plain_storages = {n.split("/")[-1]: z.read(n) for n in z.namelist() if "/data/" in n}
archive("bad_truncated_pickle", valid_pkl[: len(valid_pkl) // 2], plain_storages)
hostile("bad_truncated_pickle.pth", "invalidPickle", ["truncated"], "data.pkl cut in half")

# (The Swift tests also build a 300,000-level pickle in memory, to check nothing recurses.)
DEEP = 3000
archive("bad_deep_lists", b"\x80\x02" + b"]" * DEEP + b"a" * (DEEP - 1) + b".")
hostile("bad_deep_lists.pth", "limitExceeded", ["nested deeper"], f"{DEEP} nested lists")
archive("bad_deep_tuples", b"\x80\x02)" + b"\x85" * DEEP + b".")
hostile("bad_deep_tuples.pth", "limitExceeded", ["nested deeper"], f"{DEEP} nested 1-tuples")
archive("bad_deep_dicts", b"\x80\x02" + b"}N" * DEEP + b"N" + b"s" * DEEP + b".")
hostile("bad_deep_dicts.pth", "limitExceeded", ["nested deeper"], f"{DEEP} nested dicts")

# Shared references doubling 64 times: tiny pickle, 2^64 paths. Conversion shares; naming bails out.
dag = b"\x80\x02K\x01" + b"q\x00h\x00\x86" * 64 + b"."
archive("bad_dag_bomb", dag)
hostile("bad_dag_bomb.pth", "limitExceeded", ["values to name"], "2^64 paths through shared tuples")

archive("bad_recursive", b"\x80\x02]q\x00h\x00a.")
hostile("bad_recursive.pth", "invalidPickle", ["recursive"], "a list containing itself")
archive("bad_empty_set", b"\x80\x04\x8f.")
hostile("bad_empty_set.pth", "unsupportedOpcode", ["EMPTY_SET"], "protocol 4 sets")
archive("bad_ext", b"\x80\x02\x82\x01.")
hostile("bad_ext.pth", "unsupportedOpcode", ["EXT1"], "extension registry")
archive("bad_string_length", b"\x80\x02X\xff\xff\xff\x7f")
hostile("bad_string_length.pth", "invalidPickle", ["truncated"], "BINUNICODE claiming 2 GB")
archive("bad_binbytes8_length", b"\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\xff.")
hostile("bad_binbytes8_length.pth", "invalidPickle", ["truncated"], "BINBYTES8 length 2^64-1")

# 3. Storage / tensor views that do not fit.
archive("bad_missing_storage", fake_pickle({"w": FakeTensor(FakeStorage(torch.FloatStorage, "7", 6), 0, [6], [1])}),
        {"0": six})
hostile("bad_missing_storage.pth", "invalidStorage", ['"7"', "no entry"], "persistent id key with no data/7 entry")
archive("bad_numel", fake_pickle({"w": FakeTensor(FakeStorage(torch.FloatStorage, "0", 1000), 0, [1000], [1])}),
        {"0": six})
hostile("bad_numel.pth", "invalidStorage", ['"0"', "24"], "storage numel 1000 for a 24-byte entry")
archive("bad_view_oob", fake_pickle({"w": FakeTensor(good_storage, 2, [2, 3], [3, 1])}), {"0": six})
hostile("bad_view_oob.pth", "invalidTensor", ['"w"', "reads element 7"], "offset 2 + size (2,3) stride (3,1) past 6 elements")
archive("bad_stride_oob", fake_pickle({"w": FakeTensor(good_storage, 0, [3], [1 << 40])}), {"0": six})
hostile("bad_stride_oob.pth", "invalidTensor", ['"w"'], "stride 2^40")
archive("bad_overflow", fake_pickle({"w": FakeTensor(good_storage, 0, [1 << 62, 1 << 62], [1, 1])}), {"0": six})
hostile("bad_overflow.pth", "invalidTensor", ['"w"', "overflows"], "size product overflows")
archive("bad_expand_bomb", fake_pickle({"w": FakeTensor(good_storage, 0, [1 << 20, 1 << 20], [0, 0])}), {"0": six})
hostile("bad_expand_bomb.pth", "invalidTensor", ['"w"', "stride-0"], "2^40 elements from 6 with stride 0")
archive("bad_storage_dtype_clash", fake_pickle({"a": FakeTensor(good_storage, 0, [6], [1]),
                                                "b": FakeTensor(FakeStorage(torch.IntStorage, "0", 6), 0, [6], [1])}),
        {"0": six})
hostile("bad_storage_dtype_clash.pth", "invalidStorage", ['"0"'], "one storage key with two dtypes")
archive("bad_storage_type", b"\x80\x02X\x01\x00\x00\x00wctorch\nComplexFloatStorage\n.")
hostile("bad_storage_type.pth", "forbiddenGlobal", ["torch.ComplexFloatStorage"], "storage type outside the list")

# 4. Containers.
archive("bad_big_endian", fake_pickle({"w": FakeTensor(good_storage, 0, [6], [1])}), {"0": six}, byteorder=b"big")
hostile("bad_big_endian.pth", "unsupportedArchive", ["big-endian"], "byteorder big")

z = bytearray(open(path("plain.pth"), "rb").read())
with open(path("bad_truncated_zip.pth"), "wb") as f:
    f.write(z[: len(z) - 200])
hostile("bad_truncated_zip.pth", "invalidArchive", ["end-of-central-directory"], "last 200 bytes cut")
with open(path("bad_truncated_half.pth"), "wb") as f:
    f.write(z[: len(z) // 2])
hostile("bad_truncated_half.pth", "invalidArchive", ["end-of-central-directory"], "file cut in half")

# torch.save always ends with a ZIP64 end record + locator, which readers prefer over the
# 32-bit end record: damage the ZIP64 record (plain.pth) and the 32-bit one (deep_prefix.pth,
# written without ZIP64 records).
z64 = z.rfind(b"PK\x06\x06")
assert z64 > 0
bad = bytearray(z)
bad[z64 + 48:z64 + 56] = struct.pack("<Q", 0x7FFFFFF0)
open(path("bad_cd_offset.pth"), "wb").write(bad)
hostile("bad_cd_offset.pth", "invalidArchive", ["central directory"], "ZIP64 central directory offset past the end")

bad = bytearray(z)
bad[z64 + 24:z64 + 40] = struct.pack("<QQ", 5000, 5000)
open(path("bad_entry_count.pth"), "wb").write(bad)
hostile("bad_entry_count.pth", "invalidArchive", ["entries"], "ZIP64 entry count larger than the central directory")

bad = bytearray(z)
loc = z.rfind(b"PK\x06\x07")
bad[loc + 8:loc + 16] = struct.pack("<Q", 3)
open(path("bad_zip64_locator.pth"), "wb").write(bad)
hostile("bad_zip64_locator.pth", "invalidArchive", ["ZIP64"], "ZIP64 locator pointing at a non-record")

bad = bytearray(z)
cd = struct.unpack("<Q", z[z64 + 48:z64 + 56])[0]
bad[cd + 42:cd + 46] = struct.pack("<I", len(z) - 10)
open(path("bad_local_offset.pth"), "wb").write(bad)
hostile("bad_local_offset.pth", "invalidArchive", ["local header"], "first entry's local header offset near the end")

z32 = bytearray(open(path("deep_prefix.pth"), "rb").read())
assert z32.rfind(b"PK\x06\x06") < 0
eocd = z32.rfind(b"PK\x05\x06")
bad = bytearray(z32)
bad[eocd + 16:eocd + 20] = struct.pack("<I", len(z32) - 30)
open(path("bad_cd_offset32.pth"), "wb").write(bad)
hostile("bad_cd_offset32.pth", "invalidArchive", ["central directory"], "32-bit central directory offset inside the end record")

bad = bytearray(z32)
bad[eocd + 12:eocd + 16] = struct.pack("<I", 0xFFFFFF00)
open(path("bad_cd_size32.pth"), "wb").write(bad)
hostile("bad_cd_size32.pth", "invalidArchive", ["central directory"], "32-bit central directory size of 4 GB")

with zipfile.ZipFile(path("plain.pth")) as src:
    write_zip(path("bad_compressed.pth"), [(n, src.read(n)) for n in src.namelist()], method=8)
hostile("bad_compressed.pth", "unsupportedArchive", ["compressed"], "deflated entries")

write_zip(path("bad_no_pickle.pth"), [("x/readme.txt", b"hello")])
hostile("bad_no_pickle.pth", "invalidArchive", ["data.pkl"], "a zip without data.pkl")

leg = bytearray(open(path("legacy.pth"), "rb").read())
open(path("bad_legacy_truncated.pth"), "wb").write(leg[: len(leg) - 10])
hostile("bad_legacy_truncated.pth", "invalidStorage", ["truncated"], "legacy file missing its last bytes")
bad = bytearray(leg)
bad[5] ^= 0xFF  # inside the magic number
open(path("bad_legacy_magic.pth"), "wb").write(bad)
hostile("bad_legacy_magic.pth", "notACheckpoint", ["magic"], "legacy magic number altered")
open(path("bad_not_a_checkpoint.pth"), "wb").write(b"hello, world\n")
hostile("bad_not_a_checkpoint.pth", "notACheckpoint", [], "a text file")

# ---------------------------------------------------------------------------------------------
# What torch.load(weights_only=True) does with each hostile file (for the report).

for name in [f for f in os.listdir("/tmp") if f.startswith(os.path.basename(PWNED))]:
    os.remove(os.path.join("/tmp", name))
for h in expected["hostile"]:
    h["torchWeightsOnly"] = weights_only(h["file"])
pwned = [f for f in os.listdir("/tmp") if f.startswith(os.path.basename(PWNED))]
assert not pwned, f"torch.load(weights_only=True) executed a payload: {pwned}"

with open(path("expected.json"), "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
    f.write("\n")

sizes = {n: os.path.getsize(path(n)) for n in sorted(os.listdir(OUT))}
print(f"{len(sizes)} files, {sum(sizes.values())} bytes in {OUT}")
for h in expected["hostile"]:
    print(f"  {h['file']:32} {h['torchWeightsOnly']}")
