#!/usr/bin/env python3
"""Reference outputs for Swift BLIP's BLIP-2 image side: the vision model (EVA ViT), the Q-Former
over the learned query tokens and the language projection (transformers
`Blip2ForConditionalGeneration.get_image_features`' path), with random weights.

Test tool only: the Swift package never runs Python. Environment as scripts/reference.py.

  python3 scripts/reference_blip2.py make-model --out DIR [--layers 4 | --full] [--lm opt|t5]
      Random weights at blip2-opt-2.7b's real widths, reduced depth (4 vision and OPT layers by
      default, the Q-Former full): the model `scripts/benchmark.py --tasks blip2` times; with
      --full the real depth (15.5 GB of fp32 shards; `benchmark.py --tasks blip2 --blip2-full`).

  python3 scripts/reference_blip2.py make-fixtures [--root Tests/BLIPTests/Fixtures/tiny-blip2]
      A tiny random Blip2Config (vision 2 layers, Q-Former 3 layers with cross-attention every
      2nd, 4 query tokens, OPT text config), every parameter randomised (q_bias and v_bias
      included, so the fused qkv bias cat(q_bias, 0, v_bias) is checked): config.json,
      model.safetensors (the LM head tied to the embeddings, as OPT saves it), and
      expected.safetensors with pixel values of two images, transformers' vision
      last_hidden_state, Q-Former last_hidden_state and projected queries, and for an unprompted
      and a prompted input (<image> x 4, bos, prompt ids): the OPT logits of the whole prefix and
      `generate(max_new_tokens=6)` greedy and beam-3 ids.

  Also Tests/BLIPTests/Fixtures/tiny-blip2-itm: a tiny Blip2ForImageTextRetrieval (Q-Former with
  text input) and its ITM logits and ITC scores for two images and two padded id sequences; and
  tiny-blip2-t5: BLIP-2 with a Flan-T5-style language model (gated-GELU, relative position
  buckets, untied head): encoder states, decoder logits, greedy and beam-3 generate ids; and
  tiny-blip2-itm-matcher: a BLIP-2 ITM model with a small BERT vocabulary and a processor, with
  the ITM probabilities, ITC scores and embeddings of three photos against three texts; and
  tiny-blip2-t5-spm: a BLIP-2 Flan-T5 with the tiny SentencePiece tokenizer (spiece.model) and its
  captions, unprompted and prompted.

Semantics (transformers 5.23 modeling_blip_2.py):
* Blip2Attention: qkv Linear without bias; with qkv_bias its bias is cat(q_bias, 0, v_bias)
  (transformers 5 stores it as `qkv.bias`; older checkpoints hold `q_bias` and `v_bias`).
* Q-Former on queries only (no text): LayerNorm(query_tokens), then per layer self-attention
  (BERT: query/key/value, output.dense + LayerNorm residual), cross-attention to the image
  states in layers where layer_idx % cross_attention_frequency == 0, and the query feed-forward
  (intermediate_query, output_query). language_projection maps each query to the LM width.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parent.parent


def tiny_config():
    from transformers import Blip2Config, Blip2QFormerConfig, Blip2VisionConfig, OPTConfig

    vision = Blip2VisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                               image_size=56, patch_size=14, layer_norm_eps=1e-6, qkv_bias=True, hidden_act="gelu")
    qformer = Blip2QFormerConfig(hidden_size=32, num_hidden_layers=3, num_attention_heads=4, intermediate_size=48,
                                 cross_attention_frequency=2, encoder_hidden_size=32, vocab_size=100,
                                 max_position_embeddings=32, layer_norm_eps=1e-12)
    text = OPTConfig(vocab_size=120, hidden_size=24, num_hidden_layers=2, ffn_dim=48, num_attention_heads=4,
                     max_position_embeddings=64, word_embed_proj_dim=24)
    return Blip2Config(vision_config=vision.to_dict(), qformer_config=qformer.to_dict(), text_config=text.to_dict(),
                       num_query_tokens=4, image_token_index=119)


def randomize(model, scale: float) -> None:
    """Every parameter random (LayerNorm weights around 1): zero-initialised biases such as
    q_bias/v_bias must not hide a wrong formula."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "layernorm" in name.lower() or "layer_norm" in name.lower():
                p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.1 * torch.randn_like(p))
            else:
                p.copy_(scale * torch.randn_like(p))


def make_fixtures(root: Path, seed: int = 0) -> None:
    from transformers import Blip2ForConditionalGeneration

    torch.manual_seed(seed)
    config = tiny_config()
    model = Blip2ForConditionalGeneration(config).eval()
    randomize(model, 0.2)
    state = {k: v.contiguous() for k, v in model.state_dict().items() if k != "language_model.lm_head.weight"}  # tied
    root.mkdir(parents=True, exist_ok=True)
    save_file(state, str(root / "model.safetensors"))
    (root / "config.json").write_text(json.dumps(config.to_dict(), indent=1, sort_keys=True) + "\n")
    g = torch.Generator().manual_seed(seed + 1)
    pixels = torch.randn(2, 3, 56, 56, generator=g)
    with torch.no_grad():
        vision = model.vision_model(pixel_values=pixels).last_hidden_state
        queries = model.query_tokens.expand(2, -1, -1)
        qformer = model.qformer(query_embeds=queries, encoder_hidden_states=vision,
                                encoder_attention_mask=torch.ones(vision.shape[:2], dtype=torch.long)).last_hidden_state
        projected = model.language_projection(qformer)
    expected = {"pixel_values": pixels.contiguous(), "vision_last_hidden_state": vision.contiguous(),
                "qformer_last_hidden_state": qformer.contiguous(), "projected_queries": projected.contiguous()}
    # The language model as generate() feeds it: <image> x num_query_tokens, bos, prompt ids; the
    # projected queries scattered into the <image> positions.
    image = [config.image_token_index] * config.num_query_tokens
    bos = config.text_config.bos_token_id
    for name, prompt in [("plain", []), ("prompted", [5, 17, 33, 8])]:
        ids = torch.tensor([image + [bos] + prompt] * 2)
        with torch.no_grad():
            embeds = model.get_input_embeddings()(ids)
            mask = (ids == config.image_token_index).unsqueeze(-1)
            embeds = embeds.masked_scatter(mask, projected)
            logits = model.language_model(inputs_embeds=embeds, attention_mask=torch.ones_like(ids)).logits
            greedy = model.generate(pixel_values=pixels, input_ids=ids, max_new_tokens=6, do_sample=False, num_beams=1)
        expected[f"{name}_input_ids"] = ids.to(torch.float32).contiguous()  # small ints, exact in fp32
        expected[f"{name}_logits"] = logits.contiguous()
        expected[f"{name}_greedy_ids"] = greedy.to(torch.float32).contiguous()
        with torch.no_grad():
            beam = model.generate(pixel_values=pixels, input_ids=ids, max_new_tokens=6, do_sample=False, num_beams=3)
        expected[f"{name}_beam3_ids"] = beam.to(torch.float32).contiguous()
    save_file(expected, str(root / "expected.safetensors"))
    print(f"wrote {root}: {sum(v.numel() for v in state.values())} parameters; keys {sorted(state)[:3]}...")


def make_itm_fixtures(root: Path, seed: int = 3) -> None:
    """A tiny random Blip2ForImageTextRetrieval (Q-Former with text input): ITM logits (queries
    and text through the Q-Former together, the ITM head averaged over the query outputs) and
    ITC (max over queries of the cosine of the projected query and [CLS] text features) for two
    images and two padded id sequences."""
    from transformers import Blip2ForImageTextRetrieval

    torch.manual_seed(seed)
    config = tiny_config()
    config.qformer_config.use_qformer_text_input = True
    config.image_text_hidden_size = 16
    config.image_token_index = None
    model = Blip2ForImageTextRetrieval(config).eval()
    randomize(model, 0.2)
    root.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(root / "model.safetensors"))
    (root / "config.json").write_text(json.dumps(config.to_dict(), indent=1, sort_keys=True) + "\n")
    g = torch.Generator().manual_seed(seed + 1)
    pixels = torch.randn(2, 3, 56, 56, generator=g)
    ids = torch.tensor([[1, 17, 44, 9, 63, 2], [1, 55, 8, 2, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]])
    with torch.no_grad():
        itm = model(pixel_values=pixels, input_ids=ids, attention_mask=mask, use_image_text_matching_head=True)
        itc = model(pixel_values=pixels, input_ids=ids, attention_mask=mask, use_image_text_matching_head=False)
    save_file({"pixel_values": pixels.contiguous(), "input_ids": ids.to(torch.float32).contiguous(),
               "attention_mask": mask.to(torch.float32).contiguous(), "itm_logits": itm.logits_per_image.contiguous(),
               "itc_logits_per_image": itc.logits_per_image.contiguous(), "itc_text_embeds": itc.text_embeds.contiguous(),
               "itc_image_embeds": itc.image_embeds.contiguous()}, str(root / "expected.safetensors"))
    print(f"wrote {root}")


def make_t5_fixtures(root: Path, seed: int = 5) -> None:
    """A tiny random BLIP-2 with a Flan-T5-style language model (gated-GELU, untied head,
    relative position buckets): encoder states for the queries + prompt, decoder logits, and
    greedy / beam-3 `generate` ids (the decoder's, from decoder_start_token_id)."""
    from transformers import Blip2Config, Blip2ForConditionalGeneration, T5Config

    torch.manual_seed(seed)
    base = tiny_config()
    t5 = T5Config(vocab_size=120, d_model=24, d_kv=6, d_ff=40, num_layers=2, num_decoder_layers=2, num_heads=4,
                  relative_attention_num_buckets=8, relative_attention_max_distance=20, feed_forward_proj="gated-gelu",
                  tie_word_embeddings=False, decoder_start_token_id=0, eos_token_id=1, pad_token_id=0)
    config = Blip2Config(vision_config=base.vision_config.to_dict(), qformer_config=base.qformer_config.to_dict(),
                         text_config=t5.to_dict(), num_query_tokens=4, image_token_index=119, tie_word_embeddings=False)
    model = Blip2ForConditionalGeneration(config).eval()
    # Flan-T5 checkpoints have their own LM head and no output scaling (tie_word_embeddings
    # false); transformers 5.23's T5Config ignores the keyword, so untie by hand.
    model.language_model.config.tie_word_embeddings = False
    model.language_model.lm_head.weight = torch.nn.Parameter(model.language_model.lm_head.weight.detach().clone())
    randomize(model, 0.3)
    tied = ("language_model.encoder.embed_tokens.weight", "language_model.decoder.embed_tokens.weight")
    state = {k: v.contiguous() for k, v in model.state_dict().items() if k not in tied}
    root.mkdir(parents=True, exist_ok=True)
    save_file(state, str(root / "model.safetensors"))
    saved = config.to_dict()
    saved["text_config"]["tie_word_embeddings"] = False
    (root / "config.json").write_text(json.dumps(saved, indent=1, sort_keys=True) + "\n")
    g = torch.Generator().manual_seed(seed + 1)
    pixels = torch.randn(2, 3, 56, 56, generator=g)
    ids = torch.tensor([[119] * 4 + [5, 17, 33, 1]] * 2)
    mask = torch.ones_like(ids)
    with torch.no_grad():
        vision = model.vision_model(pixel_values=pixels).last_hidden_state
        queries = model.qformer(query_embeds=model.query_tokens.expand(2, -1, -1), encoder_hidden_states=vision).last_hidden_state
        projected = model.language_projection(queries)
        embeds = model.get_input_embeddings()(ids).masked_scatter((ids == 119).unsqueeze(-1), projected)
        encoder = model.language_model.encoder(inputs_embeds=embeds, attention_mask=mask).last_hidden_state
        decoder_ids = torch.tensor([[0, 7, 9]] * 2)
        logits = model.language_model(encoder_outputs=(encoder,), attention_mask=mask, decoder_input_ids=decoder_ids).logits
        greedy = model.generate(pixel_values=pixels, input_ids=ids, attention_mask=mask, max_new_tokens=6, do_sample=False, num_beams=1)
        beam = model.generate(pixel_values=pixels, input_ids=ids, attention_mask=mask, max_new_tokens=6, do_sample=False, num_beams=3)
    save_file({"pixel_values": pixels.contiguous(), "input_ids": ids.to(torch.float32).contiguous(),
               "encoder_last_hidden_state": encoder.contiguous(), "decoder_input_ids": decoder_ids.to(torch.float32).contiguous(),
               "logits": logits.contiguous(), "greedy_ids": greedy.to(torch.float32).contiguous(),
               "beam3_ids": beam.to(torch.float32).contiguous()}, str(root / "expected.safetensors"))
    print(f"wrote {root}: greedy {greedy.tolist()}, beam {beam.tolist()}")


def make_model(out: Path, layers: int = 4, seed: int = 0, full: bool = False, lm: str = "opt") -> None:
    """Random weights at blip2-opt-2.7b's real widths with `layers` vision and OPT layers (the
    Q-Former full): ViT-g/14 1408 wide, 16 heads, 6144 MLP; Q-Former 12 layers of 768; OPT
    2560 wide, 32 heads, 10240 FFN, vocab 50272 (+ <image>). With `lm="t5"`, blip2-flan-t5-xl's
    language model instead: Flan-T5-xl widths (2048 wide, 32 heads of 64, gated-GELU 5120,
    vocab 32128, untied head) with `layers` encoder and decoder layers. Random normal weights
    saved as fp32 safetensors in 2 GB shards (`model.safetensors.index.json`, as the hub's
    checkpoints), with a BlipImageProcessor at 224. With `full`, blip2-opt-2.7b's real depth: 39
    vision and 32 OPT layers (3.9 B parameters, 15.5 GB)."""
    from transformers import (BlipImageProcessor, Blip2Config, Blip2ForConditionalGeneration, Blip2QFormerConfig,
                              Blip2VisionConfig, OPTConfig, T5Config)

    torch.manual_seed(seed)
    vision_layers, text_layers = (39, 32) if full else (layers, layers)
    vision = Blip2VisionConfig(hidden_size=1408, intermediate_size=6144, num_hidden_layers=vision_layers, num_attention_heads=16,
                               image_size=224, patch_size=14, layer_norm_eps=1e-6, qkv_bias=True)
    qformer = Blip2QFormerConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                                 cross_attention_frequency=2, encoder_hidden_size=1408, vocab_size=30522)
    if lm == "t5":
        text = T5Config(vocab_size=32128, d_model=2048, d_kv=64, d_ff=5120, num_layers=text_layers,
                        num_decoder_layers=text_layers, num_heads=32, feed_forward_proj="gated-gelu",
                        tie_word_embeddings=False, decoder_start_token_id=0, eos_token_id=1, pad_token_id=0)
        image_token = 32100  # an <extra_id_N> slot: any id inside the vocabulary
    else:
        text = OPTConfig(vocab_size=50304, hidden_size=2560, num_hidden_layers=text_layers, ffn_dim=10240,
                         num_attention_heads=32, max_position_embeddings=2048, word_embed_proj_dim=2560)
        image_token = 50265
    config = Blip2Config(vision_config=vision.to_dict(), qformer_config=qformer.to_dict(), text_config=text.to_dict(),
                         num_query_tokens=32, image_token_index=image_token)
    model = Blip2ForConditionalGeneration(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "layernorm" in name.lower() or "layer_norm" in name.lower():
                p.fill_(1.0 if name.endswith("weight") else 0.0)
            else:
                p.normal_(0, 0.02)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, max_shard_size="2GB")
    BlipImageProcessor(size={"height": 224, "width": 224}).save_pretrained(out)
    print(f"wrote {out}: {sum(p.numel() for p in model.parameters()) / 1e6:.0f} M parameters")


def make_captioner_fixture(root: Path, seed: int = 9) -> None:
    """A tiny BLIP-2 OPT whose vocabulary is the tiny GPT-2 BPE tokenizer's
    (Tests/BLIPTests/Fixtures/tiny-bpe, `<image>` = 2352), with that tokenizer and a
    BlipImageProcessor at 56: what `Blip2Processor` + `generate` + `batch_decode` give for the
    astronaut photo, unprompted and with a "Question: ... Answer:" prompt."""
    import shutil
    from PIL import Image
    from transformers import (AutoTokenizer, BlipImageProcessor, Blip2Config, Blip2ForConditionalGeneration,
                              Blip2Processor, OPTConfig)

    torch.manual_seed(seed)
    base = tiny_config()
    bpe = ROOT / "Tests/BLIPTests/Fixtures/tiny-bpe"
    tokenizer = AutoTokenizer.from_pretrained(bpe)
    text = OPTConfig(vocab_size=len(tokenizer), hidden_size=24, num_hidden_layers=2, ffn_dim=48, num_attention_heads=4,
                     max_position_embeddings=64, word_embed_proj_dim=24, bos_token_id=2, eos_token_id=2, pad_token_id=1)
    image_token = tokenizer.convert_tokens_to_ids("<image>")
    config = Blip2Config(vision_config=base.vision_config.to_dict(), qformer_config=base.qformer_config.to_dict(),
                         text_config=text.to_dict(), num_query_tokens=4, image_token_index=image_token)
    model = Blip2ForConditionalGeneration(config).eval()
    randomize(model, 0.2)
    root.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(root)
    processor = Blip2Processor(image_processor=BlipImageProcessor(size={"height": 56, "width": 56}), tokenizer=tokenizer,
                               num_query_tokens=4)
    processor.save_pretrained(root)
    image = Image.open(ROOT / "Tests/BLIPTests/Fixtures/tiny/images/astronaut_96x80.png").convert("RGB")
    cases = []
    for prompt in [None, "Question: what is in the picture? Answer:"]:
        inputs = processor(images=image, text=prompt, return_tensors="pt") if prompt else processor(images=image, return_tensors="pt")
        with torch.no_grad():
            out = model.generate(**inputs, max_new_tokens=8, do_sample=False)
        cases.append({"prompt": prompt, "input_ids": inputs["input_ids"][0].tolist() if "input_ids" in inputs else None,
                      "ids": out[0].tolist(), "text": processor.batch_decode(out, skip_special_tokens=True)[0].strip()})
    (root / "expected.json").write_text(json.dumps({"cases": cases}, indent=1) + "\n")
    print(f"wrote {root}: {cases}")


# Words of the matcher fixture's small BERT vocabulary (with its special tokens, letters and
# "##" letters every text tokenises, unknown words as word pieces).
_ITM_WORDS = ("a an the of on in with and is are man woman cat cats dog photo picture space suit astronaut "
              "flag holding sitting cup coffee red blue white black two one rocket table").split()


def make_itm_matcher_fixture(root: Path, seed: int = 11) -> None:
    """A tiny Blip2ForImageTextRetrieval with a small BERT vocabulary (+ [DEC] as bos, as LAVIS's
    BLIP-2 tokenizer) and a Blip2Processor (BlipImageProcessor at 56, 4 `<image>` query tokens the
    model strips again): the ITM probability (softmax of the mean ITM logits), the ITC score
    (best query cosine) and the embeddings transformers gives for three photos and three texts."""
    import string
    from PIL import Image
    from transformers import BertTokenizer, BlipImageProcessor, Blip2ForImageTextRetrieval, Blip2Processor

    root.mkdir(parents=True, exist_ok=True)
    letters = list(string.ascii_lowercase) + list(string.digits) + list(".,!?'-")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + letters + ["##" + c for c in string.ascii_lowercase] + _ITM_WORDS
    (root / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizer(str(root / "vocab.txt"), bos_token="[DEC]")
    torch.manual_seed(seed)
    config = tiny_config()
    config.qformer_config.use_qformer_text_input = True
    config.qformer_config.vocab_size = len(vocab) + 1  # + [DEC]
    config.image_text_hidden_size = 16
    processor = Blip2Processor(image_processor=BlipImageProcessor(size={"height": 56, "width": 56}), tokenizer=tokenizer,
                               num_query_tokens=config.num_query_tokens)
    config.image_token_index = processor.tokenizer.convert_tokens_to_ids("<image>")
    config.architectures = ["Blip2ForImageTextRetrieval"]
    model = Blip2ForImageTextRetrieval(config).eval()
    randomize(model, 0.2)
    model.save_pretrained(root)
    processor.save_pretrained(root)
    texts = ["a man in a space suit holding a flag", "two cats sitting on a red table", "a cup of coffee"]
    cases = []
    for name in ["astronaut_64x64.png", "chelsea_72x48.png", "coffee_60x40.png"]:
        image = Image.open(ROOT / "Tests/BLIPTests/Fixtures/tiny-itm/images" / name).convert("RGB")
        inputs = processor(images=[image] * len(texts), text=texts, padding=True, return_tensors="pt")
        with torch.no_grad():
            itm = model(**inputs, use_image_text_matching_head=True).logits_per_image
            itc = model(**inputs, use_image_text_matching_head=False)
        cases.append({"image": name, "itm_logits": itm.tolist(), "itm_probability": itm.softmax(-1)[:, 1].tolist(),
                      "itc": itc.logits_per_image[0].tolist(), "image_embeds": itc.image_embeds[0].flatten().tolist(),
                      "text_embeds": itc.text_embeds.tolist()})
    (root / "expected.json").write_text(json.dumps({"texts": texts, "cases": cases}, indent=1) + "\n")
    print(f"wrote {root}")


def make_t5_captioner_fixture(root: Path, seed: int = 13) -> None:
    """A tiny BLIP-2 Flan-T5 whose vocabulary is the tiny SentencePiece Unigram tokenizer's
    (Tests/BLIPTests/Fixtures/tiny-unigram-spiece: spiece.model alone, 1100 tokens; `<image>`,
    which the processor adds, is 1100), with a BlipImageProcessor at 56: what `Blip2Processor` +
    `generate` + `batch_decode(skip_special_tokens=True)` give for the astronaut photo,
    unprompted and with a "Question: ... Answer:" prompt."""
    import shutil
    from PIL import Image
    from transformers import BlipImageProcessor, Blip2Config, Blip2ForConditionalGeneration, Blip2Processor, T5Config, T5Tokenizer

    torch.manual_seed(seed)
    base = tiny_config()
    spm = ROOT / "Tests/BLIPTests/Fixtures/tiny-unigram-spiece"
    tokenizer = T5Tokenizer.from_pretrained(spm)
    processor = Blip2Processor(image_processor=BlipImageProcessor(size={"height": 56, "width": 56}), tokenizer=tokenizer,
                               num_query_tokens=4)
    image_token = processor.tokenizer.convert_tokens_to_ids("<image>")
    t5 = T5Config(vocab_size=len(processor.tokenizer), d_model=24, d_kv=6, d_ff=40, num_layers=2, num_decoder_layers=2,
                  num_heads=4, relative_attention_num_buckets=8, relative_attention_max_distance=20,
                  feed_forward_proj="gated-gelu", tie_word_embeddings=False, decoder_start_token_id=0, eos_token_id=1,
                  pad_token_id=0)
    config = Blip2Config(vision_config=base.vision_config.to_dict(), qformer_config=base.qformer_config.to_dict(),
                         text_config=t5.to_dict(), num_query_tokens=4, image_token_index=image_token, tie_word_embeddings=False)
    model = Blip2ForConditionalGeneration(config).eval()
    model.language_model.config.tie_word_embeddings = False
    model.language_model.lm_head.weight = torch.nn.Parameter(model.language_model.lm_head.weight.detach().clone())
    randomize(model, 0.3)
    tied = ("language_model.encoder.embed_tokens.weight", "language_model.decoder.embed_tokens.weight")
    root.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items() if k not in tied}, str(root / "model.safetensors"))
    saved = config.to_dict()
    saved["text_config"]["tie_word_embeddings"] = False
    (root / "config.json").write_text(json.dumps(saved, indent=1, sort_keys=True) + "\n")
    processor.image_processor.save_pretrained(root)
    for name in ("spiece.model", "tokenizer_config.json"):  # the spiece.model-only layout
        shutil.copy(spm / name, root / name)
    image = Image.open(ROOT / "Tests/BLIPTests/Fixtures/tiny/images/astronaut_96x80.png").convert("RGB")
    cases = []
    for prompt in [None, "Question: what is in the picture? Answer:"]:
        inputs = processor(images=image, text=prompt or "", return_tensors="pt")
        with torch.no_grad():
            out = model.generate(**inputs, max_new_tokens=8, do_sample=False)
        cases.append({"prompt": prompt, "input_ids": inputs["input_ids"][0].tolist(), "ids": out[0].tolist(),
                      "text": processor.batch_decode(out, skip_special_tokens=True)[0].strip()})
    (root / "expected.json").write_text(json.dumps({"cases": cases}, indent=1) + "\n")
    print(f"wrote {root}: {cases}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    mf = sub.add_parser("make-fixtures")
    mf.add_argument("--root", type=Path, default=ROOT / "Tests/BLIPTests/Fixtures/tiny-blip2")
    mm = sub.add_parser("make-model")
    mm.add_argument("--out", type=Path, required=True)
    mm.add_argument("--layers", type=int, default=4)
    mm.add_argument("--full", action="store_true", help="blip2-opt-2.7b's real depth (39 vision, 32 OPT layers)")
    mm.add_argument("--lm", choices=["opt", "t5"], default="opt", help="t5: blip2-flan-t5-xl's language model widths")
    args = ap.parse_args()
    if args.cmd == "make-model":
        make_model(args.out, args.layers, full=args.full, lm=args.lm)
        return 0
    make_fixtures(args.root)
    make_itm_fixtures(args.root.parent / "tiny-blip2-itm")
    make_t5_fixtures(args.root.parent / "tiny-blip2-t5")
    make_captioner_fixture(args.root.parent / "tiny-blip2-opt-bpe")
    make_itm_matcher_fixture(args.root.parent / "tiny-blip2-itm-matcher")
    make_t5_captioner_fixture(args.root.parent / "tiny-blip2-t5-spm")
    return 0


if __name__ == "__main__":
    sys.exit(main())
