#!/usr/bin/env python3
"""Official-format BLIP checkpoints (salesforce/BLIP `.pth`) for Swift BLIP's conversion tests.

    python3 scripts/make_official_fixtures.py make [--out Tests/BLIPTests/Fixtures/official]
    python3 scripts/make_official_fixtures.py check CONVERTED_DIR REFERENCE_DIR

`make` takes the tiny transformers fixtures (Tests/BLIPTests/Fixtures/tiny: a captioner;
tiny-itm: a retrieval model), renames their keys to the official ones (the inverse of
transformers' `convert_blip_original_pytorch_to_hf.py` `rename_key`, checked by applying that
rename again) and `torch.save`s them as official training scripts do, `{"model": state_dict}`,
with the extra tensors official checkpoints carry (`image_queue`, `ptr_queue`, `temp`,
momentum-encoder `*_m` tensors, `position_ids` buffers). Also `expected.safetensors`: the
position embeddings resized to other image sizes exactly as official `interpolate_pos_embed`
does (`F.interpolate(..., mode="bicubic", align_corners=False)` of the grid). And
`blip2_itm_pytorch_model.bin`: tiny-blip2-itm-matcher's weights under transformers' names in
torch's format, as a repository with only `pytorch_model.bin` holds them.

`check` loads a `blip convert` output with transformers' `from_pretrained` and compares every
tensor with the reference directory's (equal) and one forward pass (equal logits): the proof that
transformers itself loads what `blip convert` writes.
"""
import argparse
import collections
import re
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Tests/BLIPTests/Fixtures"


def rename_key(key):
    """transformers' rename_key (convert_blip_original_pytorch_to_hf.py), as published."""
    if "visual_encoder" in key:
        key = re.sub("visual_encoder*", "vision_model.encoder", key)
    if "blocks" in key:
        key = re.sub(r"blocks", "layers", key)
    if "attn" in key:
        key = re.sub(r"attn", "self_attn", key)
    if "norm1" in key:
        key = re.sub(r"norm1", "layer_norm1", key)
    if "norm2" in key:
        key = re.sub(r"norm2", "layer_norm2", key)
    if "encoder.norm" in key:
        key = re.sub(r"encoder.norm", "post_layernorm", key)
    if "encoder.patch_embed.proj" in key:
        key = re.sub(r"encoder.patch_embed.proj", "embeddings.patch_embedding", key)
    if "encoder.pos_embed" in key:
        key = re.sub(r"encoder.pos_embed", "embeddings.position_embedding", key)
    if "encoder.cls_token" in key:
        key = re.sub(r"encoder.cls_token", "embeddings.class_embedding", key)
    if "self_attn" in key:
        key = re.sub(r"self_attn.proj", "self_attn.projection", key)
    return key


def official_key(key):
    """transformers name → official name."""
    if not key.startswith("vision_model."):
        return key
    k = key[len("vision_model."):]
    for a, b in [("embeddings.class_embedding", "cls_token"), ("embeddings.position_embedding", "pos_embed"),
                 ("embeddings.patch_embedding", "patch_embed.proj"), ("post_layernorm", "norm")]:
        if k.startswith(a):
            return "visual_encoder." + b + k[len(a):]
    k = k.replace("encoder.layers.", "blocks.").replace("self_attn.projection", "attn.proj").replace("self_attn.", "attn.")
    return "visual_encoder." + k.replace("layer_norm1", "norm1").replace("layer_norm2", "norm2")


def interpolate_pos_embed(pos, new_grid):
    """Official BLIP's interpolate_pos_embed for one extra (class) token."""
    c = pos.shape[-1]
    old = int((pos.shape[-2] - 1) ** 0.5)
    grid = pos[:, 1:].reshape(-1, old, old, c).permute(0, 3, 1, 2)
    grid = torch.nn.functional.interpolate(grid, size=(new_grid, new_grid), mode="bicubic", align_corners=False)
    return torch.cat((pos[:, :1], grid.permute(0, 2, 3, 1).flatten(1, 2)), dim=1)


def official_state(directory, extras):
    hf = load_file(str(directory / "model.safetensors"))
    state = collections.OrderedDict()
    for key in sorted(hf):
        official = official_key(key)
        assert rename_key(official) == key, (key, official, rename_key(official))
        state[official] = hf[key].clone()
    state.update(extras)
    return state


def make(out):
    out.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(7)
    caption = official_state(FIXTURES / "tiny", {
        "text_decoder.bert.embeddings.position_ids": torch.arange(512).unsqueeze(0),
    })
    torch.save({"model": caption, "epoch": 4, "config": {"image_size": 48, "vit": "tiny"}}, out / "tiny_caption.pth")
    itm = official_state(FIXTURES / "tiny-itm", {
        "visual_encoder_m.cls_token": torch.randn(1, 1, 32, generator=g),
        "text_encoder_m.embeddings.LayerNorm.weight": torch.ones(32),
        "vision_proj_m.weight": torch.randn(8, 32, generator=g),
        "image_queue": torch.randn(8, 16, generator=g), "text_queue": torch.randn(8, 16, generator=g),
        "idx_queue": torch.full((1, 16), -100, dtype=torch.long), "ptr_queue": torch.zeros(1, dtype=torch.long),
        "temp": torch.tensor(0.07),
    })
    torch.save({"model": itm}, out / "tiny_retrieval.pth")
    # A key no BLIP module has, and a pretraining-style checkpoint (decoder and ITM head together):
    # names only matter, so the tensors are tiny.
    small = lambda *names: collections.OrderedDict((n, torch.zeros(2)) for n in names)
    torch.save({"model": small("visual_encoder.cls_token", "text_decoder.bert.x", "head.weight")}, out / "unknown_key.pth")
    torch.save({"model": small("visual_encoder.cls_token", "text_decoder.bert.x", "text_encoder.x", "itm_head.weight",
                               "vision_proj.weight", "text_proj.weight", "visual_encoder_m.cls_token", "image_queue")},
               out / "pretrain_like.pth")
    # Hostile shapes: a 0-d position embedding, and an empty key.
    torch.save({"model": collections.OrderedDict([("visual_encoder.pos_embed", torch.tensor(0.0)),
                                                  ("visual_encoder.patch_embed.proj.weight", torch.zeros(2)),
                                                  ("text_decoder.bert.x", torch.zeros(2))])}, out / "bad_shapes.pth")
    torch.save({"model": collections.OrderedDict([("", torch.zeros(1))])}, out / "empty_key.pth")
    torch.save({"model": small("visual_encoder.blocks.0.norm1.weight", "visual_encoder.layers.0.ln1.weight")},
               out / "duplicate_names.pth")
    # transformers' own names in torch's format (a hub repository with pytorch_model.bin only).
    torch.save(collections.OrderedDict(sorted(load_file(str(FIXTURES / "tiny-blip2-itm-matcher/model.safetensors")).items())),
               out / "blip2_itm_pytorch_model.bin")
    pos = caption["visual_encoder.pos_embed"].float()  # the tiny fixture is bf16; resize in fp32 as ours does
    save_file({f"pos_embed_grid{n}": interpolate_pos_embed(pos, n).contiguous() for n in (8, 4, 7)},
              str(out / "expected.safetensors"))
    for p in sorted(out.iterdir()):
        print(f"wrote {p} ({p.stat().st_size} bytes)")


def check(converted, reference):
    import transformers

    config = transformers.AutoConfig.from_pretrained(converted)
    cls = getattr(transformers, config.architectures[0])
    model = cls.from_pretrained(converted, dtype=torch.float32).eval()
    ref = cls.from_pretrained(reference, dtype=torch.float32).eval()  # the tiny fixtures say bfloat16
    mine, theirs = model.state_dict(), ref.state_dict()
    worst = max(float((mine[k] - theirs[k]).abs().max()) for k in theirs)
    size = config.vision_config.image_size
    pixels = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    ids = torch.tensor([[30522, 1037, 3861, 1997, 102]])
    with torch.no_grad():
        if cls.__name__ == "BlipForImageTextRetrieval":
            a, b = model(input_ids=ids, pixel_values=pixels).itm_score, ref(input_ids=ids, pixel_values=pixels).itm_score
        else:
            a = model(input_ids=ids, pixel_values=pixels).logits
            b = ref(input_ids=ids, pixel_values=pixels).logits
    print(f"{cls.__name__} from {converted}: {len(mine)} tensors, max |weight diff| {worst}, "
          f"max |output diff| {float((a - b).abs().max())}")
    return 0 if worst == 0 and float((a - b).abs().max()) == 0 else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--out", type=Path, default=FIXTURES / "official")
    c = sub.add_parser("check")
    c.add_argument("converted", type=Path)
    c.add_argument("reference", type=Path)
    args = ap.parse_args()
    if args.cmd == "make":
        make(args.out)
        return 0
    return check(args.converted, args.reference)


if __name__ == "__main__":
    sys.exit(main())
