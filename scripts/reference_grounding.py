#!/usr/bin/env python3
"""Reference outputs for Swift BLIP's visual grounding (mmpretrain `BlipGrounding` + `GroundingHead`).

    python3 scripts/reference_grounding.py [--out Tests/BLIPTests/Fixtures/official]

Writes `tiny_grounding.pth` (an mmpretrain-format checkpoint, `{"state_dict": ...}` in fp16 as
its training saves it: `visual_encoder` with mmpretrain's VisionTransformer names,
`text_encoder`, `multimodal_encoder`, `grounding_head.decoder`), a small BERT vocabulary with
the box tokens `[unused339]`…`[unused980]` (`grounding-tokenizer/`), and
`grounding_expected.json`: the decoded box tokens and boxes for two photos and phrases.

mmpretrain 1.2.0 needs mmengine/mmcv, which are not installed here. So: the text encoder, the
multimodal encoder and the decoder are mmpretrain's own `models/multimodal/blip/language_model.py`
(`BertModel`, `BertLMHeadModel`, loaded from the wheel with its registry stubbed and the
transformers 4 helpers it imports shimmed); the ViT is transformers' `BlipVisionModel` (the same
network; its weights are saved under mmpretrain's names); `BlipGrounding.predict` and
`GroundingHead.predict` are written out below from the published source: text encoder in `text`
mode, multimodal encoder over its output with cross-attention to the image, the decoder over
`[unused339]` cross-attending to cat(image states, multimodal states), 4 greedy tokens with the
logits outside the 641 bins at -10000, bins → (cx, cy, w, h) / 640 → xyxy → clip to [0, 1] →
times the image's width and height.

    MMPRETRAIN_WHEEL=/path/mmpretrain-1.2.0-py2.py3-none-any.whl  (default: pip download it)
"""
import argparse
import collections
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import types
import zipfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
WORDS = "the man woman dog cat on left right in front of a red shirt sitting".split()


def mmpretrain_language_model():
    wheel = os.environ.get("MMPRETRAIN_WHEEL")
    work = Path(tempfile.mkdtemp())
    if not wheel:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "mmpretrain==1.2.0", "-d", str(work)],
                       check=True, stdout=subprocess.DEVNULL)
        wheel = str(next(work.glob("mmpretrain-*.whl")))
    with zipfile.ZipFile(wheel) as z:
        source = z.read("mmpretrain/models/multimodal/blip/language_model.py")
    path = work / "language_model.py"
    path.write_bytes(source)
    import transformers.modeling_utils as mu
    import transformers.pytorch_utils as pu
    for name in ("apply_chunking_to_forward", "find_pruneable_heads_and_indices", "prune_linear_layer"):
        if not hasattr(mu, name):
            setattr(mu, name, getattr(pu, name, lambda *a, **k: None))
    registry = types.ModuleType("mmpretrain.registry")
    registry.MODELS = types.SimpleNamespace(register_module=lambda *a, **k: (lambda c: c))
    sys.modules.setdefault("mmpretrain", types.ModuleType("mmpretrain"))
    sys.modules["mmpretrain.registry"] = registry
    spec = importlib.util.spec_from_file_location("mmpretrain_language_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.BertPreTrainedModel.init_weights = lambda self: None  # every parameter is set below

    def invert_attention_mask(self, mask):
        extended = mask[:, None, :, :] if mask.dim() == 3 else mask[:, None, None, :]
        return (1.0 - extended.to(torch.float32)) * torch.finfo(torch.float32).min

    module.BertPreTrainedModel.invert_attention_mask = invert_attention_mask
    module.BertPreTrainedModel.get_head_mask = lambda self, head_mask, layers, *a: [None] * layers
    return module


def mmpretrain_vit_key(hf_key):
    """transformers BlipVisionModel name → mmpretrain VisionTransformer name (under visual_encoder)."""
    k = hf_key
    for a, b in [("embeddings.class_embedding", "cls_token"), ("embeddings.position_embedding", "pos_embed"),
                 ("embeddings.patch_embedding", "patch_embed.projection"), ("post_layernorm", "ln1")]:
        if k.startswith(a):
            return "visual_encoder." + b + k[len(a):]
    k = k.replace("encoder.layers.", "layers.").replace("self_attn.projection", "attn.proj").replace("self_attn.", "attn.")
    k = k.replace("layer_norm1", "ln1").replace("layer_norm2", "ln2").replace("mlp.fc1", "ffn.layers.0.0")
    return "visual_encoder." + k.replace("mlp.fc2", "ffn.layers.1")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "Tests/BLIPTests/Fixtures/official")
    args = ap.parse_args()
    from PIL import Image
    from transformers import BertConfig, BertTokenizer, BlipImageProcessor, BlipVisionConfig, BlipVisionModel

    lm = mmpretrain_language_model()
    torch.manual_seed(31)
    out = args.out
    tok_dir = out / "grounding-tokenizer"
    tok_dir.mkdir(parents=True, exist_ok=True)
    import string
    vocab = (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"[unused{i}]" for i in range(339, 981)]
             + list(string.ascii_lowercase) + ["##" + c for c in string.ascii_lowercase] + WORDS)
    (tok_dir / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizer(str(tok_dir / "vocab.txt"), bos_token="[DEC]", additional_special_tokens=["[ENC]"])
    tokenizer.save_pretrained(tok_dir)

    vision = BlipVisionModel(BlipVisionConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                              num_attention_heads=1, image_size=32, patch_size=8,
                                              layer_norm_eps=1e-6)).eval()
    med = BertConfig(vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2, num_attention_heads=1,
                     intermediate_size=128, max_position_embeddings=64, layer_norm_eps=1e-12,
                     hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, pad_token_id=0)
    med.add_cross_attention = True
    med.encoder_width = 64
    med.add_type_embeddings = False
    text = lm.BertModel(med, add_pooling_layer=False).eval()
    multimodal = lm.BertModel(med, add_pooling_layer=False).eval()
    decoder = lm.BertLMHeadModel(med).eval()
    with torch.no_grad():
        for module in (vision, text, multimodal, decoder):
            for name, p in module.named_parameters():
                norm = "LayerNorm" in name or "layer_norm" in name
                scale = (0.1 if name.endswith("weight") else 0.05) if norm else 0.2
                p.copy_((torch.randn_like(p) * scale + (1.0 if norm and name.endswith("weight") else 0.0)).half().float())
        decoder.cls.predictions.decoder.weight = decoder.bert.embeddings.word_embeddings.weight  # tied, as BERT
    state = collections.OrderedDict()
    for k, v in vision.state_dict().items():
        state[mmpretrain_vit_key(k)] = v.half()
    for prefix, module in (("text_encoder.", text), ("multimodal_encoder.", multimodal), ("grounding_head.decoder.", decoder)):
        for k, v in module.state_dict().items():
            state[prefix + k] = v if k.endswith("position_ids") else v.half()
    torch.save({"state_dict": state, "meta": {"epoch": 120}}, out / "tiny_grounding.pth")

    prefix = tokenizer.convert_tokens_to_ids("[unused339]")
    bins = tokenizer.convert_tokens_to_ids([f"[unused{340 + i}]" for i in range(641)])
    mask = torch.zeros(len(tokenizer))
    mask[bins[0]:bins[-1] + 1] = 1
    mask = (1.0 - mask) * -10000.0
    processor = BlipImageProcessor(size={"height": 32, "width": 32})
    images = ROOT / "Tests/BLIPTests/Fixtures/tiny/images"
    cases = []
    for name, phrase in [("astronaut_96x80.png", "the man on the left"), ("chelsea_60x90.png", "a cat sitting in front")]:
        image = Image.open(images / name).convert("RGB")
        pixels = processor(image, return_tensors="pt").pixel_values
        ids = tokenizer([phrase], padding="longest", truncation=True, max_length=128, return_tensors="pt")
        with torch.no_grad():
            embeds = vision(pixel_values=pixels).last_hidden_state
            atts = torch.ones(embeds.shape[:-1], dtype=torch.long)
            t = text(ids.input_ids, attention_mask=ids.attention_mask, mode="text", return_dict=True).last_hidden_state
            m = multimodal(encoder_embeds=t, attention_mask=ids.attention_mask, encoder_hidden_states=embeds,
                           encoder_attention_mask=atts, return_dict=True).last_hidden_state
            merged, merged_mask = torch.cat([embeds, m], 1), torch.cat([atts, ids.attention_mask], 1)
            tokens = torch.tensor([[prefix]])
            for _ in range(4):
                logits = decoder(tokens, encoder_hidden_states=merged, encoder_attention_mask=merged_mask,
                                 return_dict=True).logits + mask.view(1, 1, -1)
                tokens = torch.cat([tokens, logits[:, -1, :].argmax(-1, keepdim=True)], 1)
        cx, cy, w, h = ((tokens[0, 1:] - bins[0]).float() / 640).tolist()
        box = [max(0.0, min(1.0, v)) for v in (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)]
        cases.append({"image": name, "phrase": phrase, "input_ids": ids.input_ids[0].tolist(),
                      "box_tokens": tokens[0, 1:].tolist(), "box_normalized": box,
                      "box_pixels": [box[0] * image.width, box[1] * image.height, box[2] * image.width, box[3] * image.height]})
    (out / "grounding_expected.json").write_text(json.dumps({"cases": cases}, indent=1) + "\n")
    print(f"wrote {out / 'tiny_grounding.pth'} ({(out / 'tiny_grounding.pth').stat().st_size} bytes): {cases}")


if __name__ == "__main__":
    main()
