#!/usr/bin/env python3
"""Reference outputs for Swift BLIP's NLVR2 model (official BLIP / LAVIS `BlipNLVR`), random weights.

    python3 scripts/reference_nlvr.py [--out Tests/BLIPTests/Fixtures/official]

Writes `tiny_nlvr.pth` (an official-format checkpoint, `{"model": state_dict}` in fp16, as
`torch.save` writes it) with a small BERT vocabulary (`nlvr-tokenizer/`), and
`nlvr_expected.json`: the logits LAVIS's computation gives for two photo pairs and sentences.

The text encoder is LAVIS 1.0.2's own `lavis/models/blip_models/nlvr_encoder.py` (`BertModel`:
cross-attention with two branches `self0`/`self1`, outputs `dense0`/`dense1` averaged in layers
0-5 and merged by `merge_layer` from layer 6 on), imported from the installed package with the
three transformers 4 helpers it imports but does not use in a forward pass shimmed for
transformers 5. LAVIS's ViT needs timm and fairscale, which are not installed here, so the image
encoder is transformers' `BlipVisionModel` (the same ViT: its weights are saved under the official
names, `visual_encoder.*`, with the inverse of transformers' rename_key). The rest is LAVIS's
`BlipNLVR.forward` as published: both images through the ViT in one batch, split, `[ENC]` as the
first token, `cls_head` (Linear, ReLU, Linear) on the first output. Weights are rounded to fp16
first, so the fp16 checkpoint holds exactly the weights the logits come from.
"""
import argparse
import collections
import importlib.util
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from make_official_fixtures import official_key  # noqa: E402

WORDS = "there is are a an the two one dog dogs cat cats in on of left right image images with grass".split()


def lavis_bert():
    """LAVIS's nlvr_encoder module, loaded from the installed package (no lavis/__init__)."""
    import importlib.util as iu
    import transformers.modeling_utils as mu
    import transformers.pytorch_utils as pu

    for name in ("apply_chunking_to_forward", "find_pruneable_heads_and_indices", "prune_linear_layer"):
        if not hasattr(mu, name):
            setattr(mu, name, getattr(pu, name, lambda *a, **k: None))
    path = Path(iu.find_spec("lavis").submodule_search_locations[0]) / "models/blip_models/nlvr_encoder.py"
    spec = importlib.util.spec_from_file_location("lavis_nlvr_encoder", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # transformers 5's init_weights ties weights through attributes LAVIS's 4.x-era class lacks;
    # every parameter is overwritten below anyway.
    module.BertPreTrainedModel.init_weights = lambda self: None

    # ModuleUtilsMixin helpers transformers 5 dropped, as transformers 4 defined them.
    def invert_attention_mask(self, mask):
        extended = mask[:, None, :, :] if mask.dim() == 3 else mask[:, None, None, :]
        extended = extended.to(dtype=torch.float32)
        return (1.0 - extended) * torch.finfo(torch.float32).min

    module.BertPreTrainedModel.invert_attention_mask = invert_attention_mask
    module.BertPreTrainedModel.get_head_mask = lambda self, head_mask, layers: [None] * layers
    return module


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "Tests/BLIPTests/Fixtures/official")
    args = ap.parse_args()
    from PIL import Image
    from transformers import BertConfig, BertTokenizer, BlipImageProcessor, BlipVisionConfig, BlipVisionModel

    nlvr = lavis_bert()
    torch.manual_seed(21)
    out = args.out
    tok_dir = out / "nlvr-tokenizer"
    tok_dir.mkdir(parents=True, exist_ok=True)
    import string
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list(string.ascii_lowercase) + list(".,'") \
        + ["##" + c for c in string.ascii_lowercase] + WORDS
    (tok_dir / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizer(str(tok_dir / "vocab.txt"), bos_token="[DEC]", additional_special_tokens=["[ENC]"])
    tokenizer.save_pretrained(tok_dir)
    enc = tokenizer.convert_tokens_to_ids("[ENC]")

    vision = BlipVisionModel(BlipVisionConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                              num_attention_heads=1, image_size=32, patch_size=8,
                                              layer_norm_eps=1e-6)).eval()
    # 7 layers: layers 0-5 average the two branches, layer 6 merges them.
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=7, num_attention_heads=1,
                        intermediate_size=128, max_position_embeddings=64, layer_norm_eps=1e-12,
                        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    config.add_cross_attention = True
    config.encoder_width = 64
    text = nlvr.BertModel(config=config, add_pooling_layer=False).eval()
    head = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 2)).eval()
    with torch.no_grad():
        for module in (vision, text, head):
            for name, p in module.named_parameters():
                norm = "LayerNorm" in name or "layer_norm" in name
                scale = (0.1 if name.endswith("weight") else 0.05) if norm else 0.2
                p.copy_((torch.randn_like(p) * scale + (1.0 if norm and name.endswith("weight") else 0.0)).half().float())
    state = collections.OrderedDict()
    for k, v in vision.state_dict().items():
        state[official_key("vision_model." + k)] = v.half()
    for k, v in text.state_dict().items():
        state["text_encoder." + k] = v if k.endswith("position_ids") else v.half()
    for k, v in head.state_dict().items():
        state["cls_head." + k] = v.half()
    torch.save({"model": state, "config": {"image_size": 32}}, out / "tiny_nlvr.pth")

    processor = BlipImageProcessor(size={"height": 32, "width": 32})
    images = ROOT / "Tests/BLIPTests/Fixtures/tiny/images"
    pairs = [("astronaut_96x80.png", "chelsea_60x90.png", "there is a dog in the left image"),
             ("chelsea_60x90.png", "camera_gray_40x56.png", "two cats are on the grass")]
    cases = []
    for left, right, sentence in pairs:
        pixels = processor([Image.open(images / left).convert("RGB"), Image.open(images / right).convert("RGB")],
                           return_tensors="pt").pixel_values
        ids = tokenizer([sentence], padding="longest", return_tensors="pt")
        ids.input_ids[:, 0] = enc
        with torch.no_grad():
            embeds = vision(pixel_values=pixels).last_hidden_state  # [2, N, C]: left, right
            atts = torch.ones(embeds.shape[:-1], dtype=torch.long)
            output = text(ids.input_ids, attention_mask=ids.attention_mask, encoder_hidden_states=[embeds[:1], embeds[1:]],
                          encoder_attention_mask=[atts[:1], atts[1:]], return_dict=True)
            logits = head(output.last_hidden_state[:, 0, :])
        cases.append({"left": left, "right": right, "sentence": sentence, "input_ids": ids.input_ids[0].tolist(),
                      "logits": logits[0].tolist(), "probability_true": logits.softmax(-1)[0, 1].item()})
    (out / "nlvr_expected.json").write_text(json.dumps({"cases": cases}, indent=1) + "\n")
    print(f"wrote {out / 'tiny_nlvr.pth'} ({(out / 'tiny_nlvr.pth').stat().st_size} bytes): {cases}")


if __name__ == "__main__":
    main()
