#!/usr/bin/env python3
"""Reference outputs for Swift BLIP visual question answering (BlipForQuestionAnswering).

Test and parity tooling only (the Swift package never runs Python). Reuses scripts/reference.py
(configs, random init, tokenizer/processor files, image loading) by importing it.

Commands
--------
  python3 scripts/reference_vqa.py make-model --config {tiny-vqa,tiny,base} --out DIR
                                              [--seed N] [--dtype f32|bf16] [--eos-bias B]
      A BlipForQuestionAnswering with random weights (config.json, model.safetensors, processor
      files), like `reference.py make-model` for captioning. `--config base` gives a full-size
      random blip-vqa-base (~385M parameters, ~1.5 GB in f32) for benchmarks and parity runs.

  python3 scripts/reference_vqa.py expected --model DIR --image IMG --out FILE.safetensors
                                            [--json FILE.json] [--questions Q...] [--candidates A...]
      transformers outputs for one image and several questions: question encoder states, teacher-
      forced decoder logits, generate() ids (greedy and beam 3; each question alone and all
      questions in one padded batch) and rank-mode results (official BLIP algorithm, below).

  python3 scripts/reference_vqa.py make-fixtures [--root Tests/BLIPTests/Fixtures/tiny-vqa]
      Regenerate the committed tiny VQA fixtures (deterministic).

  python3 scripts/reference_vqa.py parity [--blip .build/release/blip] [--model DIR]
      Full-size check: random base weights (`make-model --config base`, made once in
      /tmp/swift-blip-parity/vqa-base unless --model is given), transformers vs the release `blip`
      on the scikit-image astronaut and chelsea photographs, three questions each. Prints the max
      |diff| of pixel values, vision states, question encoder states (padded batch) and teacher-
      forced answer decoder logits (each question masked, i.e. alone: see forward below;
      `blip dump --question`), whether generated answer ids match for greedy and
      beam 3 with min_new_tokens 4, max_new_tokens 10 (`blip vqa --json`), and whether rank mode
      (20 candidates, k=8, `blip vqa --answers --top-k 8 --json`) gives the same order with scores
      within 1e-3. Exit status 1 on any mismatch.

transformers semantics (5.23) the Swift side reproduces
-------------------------------------------------------
* `BlipForQuestionAnswering.generate`: the question ids are used AS GIVEN (column 0 stays [CLS]
  101; transformers does NOT put [ENC] there, unlike the official BLIP code). The text encoder runs
  bidirectionally over the question with the question's attention mask, cross-attending to all
  image tokens. The decoder starts from [[30522]] ([DEC] = decoder_start_token_id = bos), eos = [SEP]
  102, pad 0, and cross-attends to the question states with an ALL-ONES mask
  (`question_attention_mask = torch.ones(...)`): in a padded batch the decoder also attends to the
  encoder states of the [PAD] positions, so a question's answer depends on the other questions of
  its batch. Answering each question alone avoids this; the Swift API does that by default (it
  masks padding, which equals the unpadded computation) and offers the transformers batch
  behaviour as an option. The official BLIP `generate` mode also uses an all-ones mask.
* `BlipForQuestionAnswering.forward` (teacher forcing) passes the question attention mask to the
  decoder as `encoder_attention_mask` instead, but in 5.23 no cross-attention mask takes effect:
  `BlipTextAttention.forward` hands it to `BlipTextSelfAttention` as `attention_mask`, which for
  cross-attention replaces it with its own `encoder_attention_mask` argument (None). So forward on
  padded questions also attends to the [PAD] states (found by the `parity` command: a padded batch
  gave logits 0.6 away from each question alone, identical with and without the mask). The
  intended masked result equals each question encoded alone; the Swift side computes that, and
  `parity` compares against it. (Image masks are all ones anyway, so captioning and ITM are not
  affected.)
* The text encoder has cross-attention layers (config.is_decoder=True builds them) and no pooler.
* Checkpoint: vision_model.*, text_encoder.*, text_decoder.bert.*, text_decoder.cls.predictions.*;
  the only ties are the LM head (decoder.weight -> text_decoder word embeddings, decoder.bias ->
  predictions.bias). The text encoder's word embeddings are NOT tied to the decoder's.

Official BLIP rank mode (salesforce/BLIP models/blip_vqa.py `rank_answer`, train_vqa.py)
---------------------------------------------------------------------------------------
`rank_reference` below implements it literally on the transformers model:
1. Question: tokenized with truncation to 35 tokens, input_ids[:, 0] = [ENC] 30523 (official; the
   transformers generate path keeps [CLS]), encoded by the text encoder over the image.
2. Candidates: tokenized all together with padding='longest' ([CLS] answer [SEP] [PAD]...), then
   column 0 := [DEC]; targets = ids with [PAD] -> -100.
3. First step: the decoder on [[DEC]] alone, cross-attending to the question states with the
   question's attention mask; p1(a) = softmax(logits)[first answer token of a] (the token after [DEC];
   [SEP] for an empty answer).
4. Keep the k candidates with the largest p1 (k = min(k, #candidates)). torch.topk's order for equal
   values is unspecified (candidates sharing a first token tie exactly); we break ties by candidate
   index (stable sort by -p1), so results are reproducible.
5. Score each kept candidate with the decoder teacher-forced on its ids (causal, padding mask),
   score(a) = -CrossEntropy(label_smoothing=0.1, reduction='none') summed over its target tokens
   (answer tokens and the final [SEP]; [PAD] positions ignored). That is, per target token y_t:
   (1 - 0.1) * log p(y_t | prefix) + 0.1 * mean_v log p(v | prefix). The official med.py hard-codes
   label_smoothing=0.1 here, so the official score is a smoothed log-likelihood; with smoothing 0
   it is the plain log-likelihood sum log p(answer [SEP] | question, image).
6. The official code returns argmax(score). We return the k candidates sorted by score (ties by
   index), with probability = softmax over the k scores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference as ref  # noqa: E402

# A VQA checkpoint holds two vocabulary-sized embedding tables (text encoder and decoder); with
# hidden size 32 the tiny model alone would be ~4 MB in bf16, so the VQA fixture uses width 16.
ref.CONFIGS["tiny-vqa"] = dict(
    text={**ref._TEXT_BASE, "hidden_size": 16, "encoder_hidden_size": 16, "intermediate_size": 32,
          "projection_dim": 16, "num_hidden_layers": 2, "num_attention_heads": 4,
          "max_position_embeddings": 64},
    vision={**ref._VISION_BASE, "hidden_size": 16, "intermediate_size": 32, "projection_dim": 16,
            "num_hidden_layers": 2, "num_attention_heads": 2, "image_size": 48, "patch_size": 8},
    image_size=48,
)
ref.DEFAULT_INIT_STD["tiny-vqa"] = 0.15
ref.DEFAULT_CROSS_STD["tiny-vqa"] = None

FIXTURE_SEED = 4321
FIXTURE_EOS_BIAS = 2.4
OFFICIAL_QUESTION_MAX_LENGTH = 35
OFFICIAL_LABEL_SMOOTHING = 0.1

FIXTURE_QUESTIONS = [
    "what is in the picture?",
    "how many people are there?",
    "is the woman wearing a space suit or a dress made of red fabric?",
]
FIXTURE_CANDIDATES = [
    "yes", "no", "2", "two", "two people", "one", "red", "blue", "white", "a dog", "dog",
    "cat", "astronaut", "space suit", "woman", "flag", "nasa", "on the left", "outside",
]


def build_vqa_config(name: str):
    cfg = ref.build_config(name)
    cfg.architectures = ["BlipForQuestionAnswering"]
    return cfg


def make_model(config: str, out: Path, seed: int = 0, dtype: str = "f32", init_std: float | None = None,
               eos_bias: float = 0.0) -> None:
    from transformers import BlipForQuestionAnswering

    torch.manual_seed(seed)
    model = BlipForQuestionAnswering(build_vqa_config(config)).eval()
    std = ref.DEFAULT_INIT_STD[config] if init_std is None else init_std
    ref.randomize_(model, seed, std, eos_bias)
    head = model.text_decoder.cls.predictions
    assert head.decoder.weight.data_ptr() == model.text_decoder.bert.embeddings.word_embeddings.weight.data_ptr()
    if dtype == "bf16":
        model = model.to(torch.bfloat16)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    ref.save_processor(ref.build_processor(ref.CONFIGS[config]["image_size"]), out)
    n = sum(p.numel() for p in model.parameters())
    print(f"wrote {out} (VQA {config}, {n:,} parameters, {dtype}, std {std}, eos bias {eos_bias}, seed {seed})")


# ----------------------------------------------------------------------------------------------

@torch.no_grad()
def rank_reference(model, tok, pixel_values, question: str, candidates: list[str], k: int,
                   label_smoothing: float = OFFICIAL_LABEL_SMOOTHING) -> dict:
    """The official BLIP rank_answer algorithm (see the module docstring), one question."""
    image_embeds = model.vision_model(pixel_values=pixel_values).last_hidden_state
    image_atts = torch.ones(image_embeds.shape[:-1], dtype=torch.long)
    q = tok([question], padding="longest", truncation=True, max_length=OFFICIAL_QUESTION_MAX_LENGTH,
            return_tensors="pt")
    q_ids = q["input_ids"].clone()
    q_ids[:, 0] = ref.ENC_ID
    q_states = model.text_encoder(input_ids=q_ids, attention_mask=q["attention_mask"],
                                  encoder_hidden_states=image_embeds, encoder_attention_mask=image_atts,
                                  return_dict=True).last_hidden_state
    q_atts = q["attention_mask"]

    a = tok(candidates, padding="longest", return_tensors="pt")
    a_ids = a["input_ids"].clone()
    a_ids[:, 0] = ref.BOS_ID
    a_atts = a["attention_mask"]

    start = a_ids[:1, :1]  # [[DEC]]
    start_logits = model.text_decoder(input_ids=start, encoder_hidden_states=q_states,
                                      encoder_attention_mask=q_atts, return_dict=True).logits[:, 0, :]
    p_first = torch.softmax(start_logits, dim=1)[0].index_select(0, a_ids[:, 1])
    k = min(k, len(candidates))
    order = sorted(range(len(candidates)), key=lambda i: (-float(p_first[i]), i))  # stable top-k
    top = order[:k]
    top_t = torch.tensor(top)

    ids = a_ids.index_select(0, top_t)
    atts = a_atts.index_select(0, top_t)
    targets = ids.masked_fill(ids == ref.PAD_ID, -100)
    saved = model.text_decoder.label_smoothing
    model.text_decoder.label_smoothing = label_smoothing  # official med.py hard-codes 0.1
    try:
        out = model.text_decoder(input_ids=ids, attention_mask=atts,
                                 encoder_hidden_states=q_states.repeat(k, 1, 1),
                                 encoder_attention_mask=q_atts.repeat(k, 1),
                                 labels=targets, reduction="none", return_dict=True)
    finally:
        model.text_decoder.label_smoothing = saved
    scores = (-out.loss).view(k)
    # Cross-check the closed form used by the Swift side.
    logp = torch.log_softmax(out.logits[:, :-1, :].double(), dim=-1)
    tgt = targets[:, 1:]
    valid = tgt != -100
    picked = logp.gather(2, tgt.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    closed = ((1 - label_smoothing) * picked + label_smoothing * logp.mean(-1)) * valid
    assert torch.allclose(closed.sum(1).float(), scores, atol=1e-4), (closed.sum(1), scores)

    ranked = sorted(range(k), key=lambda j: (-float(scores[j]), j))
    probs = torch.softmax(scores.double(), dim=0)
    return dict(
        question=question, k=k, label_smoothing=label_smoothing,
        question_ids=q_ids[0].tolist(),
        first_token_probabilities=[float(x) for x in p_first],
        top_k_indices=top,
        scores=[float(scores[j]) for j in range(k)],
        ranked=[dict(index=top[j], answer=candidates[top[j]], score=float(scores[j]),
                     probability=float(probs[j])) for j in ranked],
    )


@torch.no_grad()
def expected(model_dir: Path, image: str, out: Path, json_out: Path, questions: list[str],
             candidates: list[str], max_new_tokens: int = 10, teacher_answer: str = "two people",
             full_logits: bool = True) -> dict:
    from transformers import BlipForQuestionAnswering, BlipProcessor
    import safetensors.torch
    import transformers

    torch.set_num_threads(2)
    processor = BlipProcessor.from_pretrained(str(model_dir))
    model = BlipForQuestionAnswering.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    tok = processor.tokenizer
    spec, pil = ref.load_image(image)
    json_dir = json_out.resolve().parent
    image_name = spec if spec.startswith("skimage:") else os.path.relpath(Path(spec).resolve(), json_dir)

    tensors: dict[str, torch.Tensor] = {}
    pixel_values = processor(images=[pil], return_tensors="pt")["pixel_values"].float()
    tensors["pixel_values"] = pixel_values
    image_embeds = model.vision_model(pixel_values=pixel_values).last_hidden_state
    tensors["vision_last_hidden_state"] = image_embeds

    # Question encoder over the padded batch (as generate runs it), [CLS] first.
    q = tok(questions, padding="longest", return_tensors="pt")
    n = len(questions)
    enc = model.text_encoder(input_ids=q["input_ids"], attention_mask=q["attention_mask"],
                             encoder_hidden_states=image_embeds.repeat(n, 1, 1),
                             encoder_attention_mask=torch.ones(n, image_embeds.shape[1], dtype=torch.long),
                             return_dict=True).last_hidden_state
    tensors["question_input_ids"] = q["input_ids"].to(torch.int64)
    tensors["question_attention_mask"] = q["attention_mask"].to(torch.int64)
    tensors["question_last_hidden_state"] = enc

    # Teacher-forced decoder logits (forward(): decoder cross-attends with the question mask).
    q0 = tok([questions[0]], return_tensors="pt")
    ans = tok([teacher_answer], return_tensors="pt")["input_ids"].clone()
    ans[:, 0] = ref.BOS_ID
    dec_ids = ans
    fwd = model(input_ids=q0["input_ids"], attention_mask=q0["attention_mask"], pixel_values=pixel_values,
                decoder_input_ids=dec_ids, return_dict=True)
    # forward() returns no logits; rerun the decoder the same way to get them.
    q0_states = model.text_encoder(input_ids=q0["input_ids"], attention_mask=q0["attention_mask"],
                                   encoder_hidden_states=image_embeds, return_dict=True).last_hidden_state
    logits = model.text_decoder(input_ids=dec_ids, encoder_hidden_states=q0_states,
                                encoder_attention_mask=q0["attention_mask"], return_dict=True).logits
    del fwd
    tensors["decoder_input_ids"] = dec_ids.to(torch.int64)
    if full_logits:
        tensors["decoder_logits"] = logits.float()
    else:
        tensors["decoder_logits_top"] = logits.float()[:, :, :1024]
    tensors["decoder_logits_max"] = logits.float().amax(-1)

    # generate(): each question alone, and all in one padded batch.
    cases = []
    # The fixture model's answers are short; min_new_tokens forces longer multi-step decodes.
    kinds = [("greedy", dict(num_beams=1, do_sample=False)), ("beam3", dict(num_beams=3, do_sample=False)),
             ("greedy_min4", dict(num_beams=1, do_sample=False, min_new_tokens=4)),
             ("beam3_min4", dict(num_beams=3, do_sample=False, min_new_tokens=4))]
    for kind, kw in kinds:
        kw = dict(kw, max_new_tokens=max_new_tokens)
        alone = []
        for question in questions:
            qi = tok([question], return_tensors="pt")
            res = model.generate(input_ids=qi["input_ids"], attention_mask=qi["attention_mask"],
                                 pixel_values=pixel_values, **kw)
            alone.append(res[0].tolist())
        res = model.generate(input_ids=q["input_ids"], attention_mask=q["attention_mask"],
                             pixel_values=pixel_values.repeat(n, 1, 1, 1), **kw)
        batch = res.tolist()
        for name, rows in [(f"{kind}_alone", alone), (f"{kind}_batch", batch)]:
            texts = [processor.decode(r, skip_special_tokens=True) for r in rows]
            cases.append(dict(name=name, kwargs=kw, questions=questions, token_ids=rows, answers=texts))
            print(f"{name:>14}: {rows} {texts}")

    # Rank mode (official algorithm), two questions, k=5 and k=all, smoothing 0.1 and 0.
    ranks = []
    for question in questions[:2]:
        for k in (5, len(candidates)):
            for ls in (OFFICIAL_LABEL_SMOOTHING, 0.0):
                if ls == 0.0 and k != 5:
                    continue
                r = rank_reference(model, tok, pixel_values, question, candidates, k, ls)
                ranks.append(r)
                print(f"rank k={k} ls={ls} {question!r}: " +
                      ", ".join(f"{x['answer']!r}:{x['probability']:.3f}" for x in r["ranked"][:5]))

    meta = {
        "model": os.path.relpath(model_dir.resolve(), json_dir),
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "image": image_name,
        "questions": questions,
        "candidates": candidates,
        "teacher_forced": {"answer": teacher_answer, "question": questions[0],
                           "decoder_input_ids": dec_ids[0].tolist(),
                           "question_input_ids": q0["input_ids"][0].tolist()},
        "tensors": {k_: list(t.shape) for k_, t in tensors.items()},
        "generate": cases,
        "rank": ranks,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file({k_: v.contiguous() for k_, v in tensors.items()}, str(out))
    json_out.write_text(json.dumps(meta, indent=1) + "\n")
    return meta


def make_fixtures(root: Path) -> None:
    if root.exists():
        shutil.rmtree(root)
    make_model("tiny-vqa", root, seed=FIXTURE_SEED, dtype="bf16", eos_bias=FIXTURE_EOS_BIAS)
    # The tokenizer loads from vocab.txt + tokenizer_config.json + special_tokens_map.json.
    (root / "tokenizer.json").unlink()
    # Share the captioning fixture's photograph instead of adding another image.
    image = root.parent / "tiny" / "images" / "astronaut_96x80.png"
    expected(root, str(image), root / "expected.safetensors", root / "expected.json",
             FIXTURE_QUESTIONS, FIXTURE_CANDIDATES, max_new_tokens=10)
    total = 0
    for p in sorted(root.rglob("*")):
        if p.is_file():
            total += p.stat().st_size
            print(f"{p.stat().st_size:>9}  {p.relative_to(root)}")
    print(f"{total:>9}  total ({total / 1e6:.2f} MB)")


PARITY_QUESTIONS = {
    "astronaut": ["what is the woman holding?", "what color is her suit?",
                  "is there a flag behind the woman in the white space suit?"],
    "chelsea": ["what animal is this?", "what color is the cat?", "where is the cat lying?"],
}
PARITY_CANDIDATES = FIXTURE_CANDIDATES + ["ginger"]
PARITY_TEACHER_ANSWER = "a ginger cat lying on a red couch"
PARITY_GENERATE = {"greedy": dict(num_beams=1, do_sample=False, min_new_tokens=4, max_new_tokens=10),
                   "beam3": dict(num_beams=3, do_sample=False, min_new_tokens=4, max_new_tokens=10)}
PARITY_TOP_K = 8
PARITY_TOLERANCES = {"pixel_values": 1e-5, "vision_last_hidden_state": 1e-3, "question_states": 1e-3,
                     "answer_decoder_logits": 1e-3}
PARITY_SCORE_TOLERANCE = 1e-3


@torch.no_grad()
def parity(blip: str, model_dir: Path | None) -> int:
    """transformers vs the release `blip` on a full-size model (see the module docstring)."""
    import subprocess

    import numpy as np
    import skimage
    from safetensors.numpy import load_file
    from transformers import BlipForQuestionAnswering, BlipProcessor

    work = Path("/tmp/swift-blip-parity/vqa-base")
    work.mkdir(parents=True, exist_ok=True)
    model_dir = model_dir or work / "model"
    if not (model_dir / "model.safetensors").exists():
        print(f"making random base VQA weights in {model_dir} ...", file=sys.stderr)
        make_model("base", model_dir)
    if not os.access(blip, os.X_OK):
        sys.exit(f"{blip} not found: swift build -c release --product blip")
    torch.set_num_threads(2)
    processor = BlipProcessor.from_pretrained(str(model_dir))
    model = BlipForQuestionAnswering.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    tok = processor.tokenizer
    data = Path(skimage.__file__).parent / "data"
    answer_ids = tok([PARITY_TEACHER_ANSWER], return_tensors="pt")["input_ids"].clone()
    answer_ids[:, 0] = ref.BOS_ID
    candidates_file = work / "candidates.json"
    candidates_file.write_text(json.dumps(PARITY_CANDIDATES) + "\n")

    def run(cmd: list[str]) -> str:
        return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout

    failed = False
    tensor_rows, answer_rows, rank_rows = [], [], []
    for name, questions in PARITY_QUESTIONS.items():
        image = str(data / f"{name}.png")
        print(f"{name}: transformers ...", file=sys.stderr)
        _, pil = ref.load_image(image)
        pv = processor(images=[pil], return_tensors="pt")["pixel_values"].float()
        image_embeds = model.vision_model(pixel_values=pv).last_hidden_state
        q = tok(questions, padding="longest", return_tensors="pt")
        n = len(questions)
        states = model.text_encoder(input_ids=q["input_ids"], attention_mask=q["attention_mask"],
                                    encoder_hidden_states=image_embeds.repeat(n, 1, 1),
                                    encoder_attention_mask=torch.ones(n, image_embeds.shape[1], dtype=torch.long),
                                    return_dict=True).last_hidden_state
        # The decoder cross-attending to each question's states under the question attention
        # mask. transformers 5.23 drops that mask (module docstring), so the reference encodes
        # each question alone (no padding), which is what the masked padded batch computes.
        logits = []
        for question in questions:
            qi = tok([question], return_tensors="pt")
            alone = model.text_encoder(input_ids=qi["input_ids"], attention_mask=qi["attention_mask"],
                                       encoder_hidden_states=image_embeds, return_dict=True).last_hidden_state
            logits.append(model.text_decoder(input_ids=answer_ids, encoder_hidden_states=alone,
                                             return_dict=True).logits)
        logits = torch.cat(logits)
        want = {"pixel_values": pv, "vision_last_hidden_state": image_embeds, "question_states": states,
                "answer_decoder_logits": logits}

        print(f"{name}: blip ...", file=sys.stderr)
        dump = work / f"ours_{name}.safetensors"
        cmd = [blip, "dump", "--model", str(model_dir), "--output", str(dump),
               "--input-ids", ",".join(map(str, answer_ids[0].tolist()))]
        for question in questions:
            cmd += ["--question", question]
        run(cmd + [image])
        ours = load_file(str(dump))
        for key, tol in PARITY_TOLERANCES.items():
            a = want[key].numpy().astype(np.float64)
            b = ours[key].astype(np.float64)
            if a.shape != b.shape:
                tensor_rows.append((name, key, a.shape, float("inf"), float(np.abs(a).max())))
                failed = True
                continue
            d = float(np.abs(a - b).max())
            failed |= d > tol
            tensor_rows.append((name, key, a.shape, d, float(np.abs(a).max())))

        for mode, kw in PARITY_GENERATE.items():
            out = run([blip, "vqa", "--model", str(model_dir), "--json", "--beams", str(kw["num_beams"]),
                       "--min-new-tokens", str(kw["min_new_tokens"]), "--max-new-tokens", str(kw["max_new_tokens"]),
                       image, *questions])
            rows = [json.loads(line) for line in out.splitlines()]
            for question, row in zip(questions, rows):
                qi = tok([question], return_tensors="pt")
                ids = model.generate(input_ids=qi["input_ids"], attention_mask=qi["attention_mask"],
                                     pixel_values=pv, **kw)[0].tolist()
                ok = row["token_ids"] == ids
                failed |= not ok
                answer_rows.append((name, mode, question, ids, row["token_ids"], ok))

        out = run([blip, "vqa", "--model", str(model_dir), "--json", "--answers", str(candidates_file),
                   "--top-k", str(PARITY_TOP_K), image, *questions])
        rows = [json.loads(line) for line in out.splitlines()]
        for question, row in zip(questions, rows):
            r = rank_reference(model, tok, pv, question, PARITY_CANDIDATES, PARITY_TOP_K)
            want_order = [x["index"] for x in r["ranked"]]
            got_order = [x["index"] for x in row["answers"]]
            d_score = max(abs(x["score"] - y["score"]) for x, y in zip(r["ranked"], row["answers"]))
            d_prob = max(abs(x["probability"] - y["probability"]) for x, y in zip(r["ranked"], row["answers"]))
            ok = want_order == got_order and d_score <= PARITY_SCORE_TOLERANCE
            failed |= not ok
            rank_rows.append((name, question, want_order, got_order, d_score, d_prob, ok))

    print(f"{'image':<11}{'tensor':<26}{'shape':<22}{'max |diff|':>12}{'max |ref|':>12}")
    for name, key, shape, d, m in tensor_rows:
        print(f"{name:<11}{key:<26}{str(list(shape)):<22}{d:>12.3g}{m:>12.3g}")
    print(f"\n{'image':<11}{'mode':<8}{'tokens':>7}  match  question -> transformers answer")
    for name, mode, question, ids, got, ok in answer_rows:
        print(f"{name:<11}{mode:<8}{len(ids):>7}  {'yes' if ok else 'NO ':<5}  {question!r} -> "
              f"{processor.decode(ids, skip_special_tokens=True)!r}")
        if not ok:
            print(f"    transformers: {ids}\n    swift:        {got}")
    print(f"\nrank mode ({len(PARITY_CANDIDATES)} candidates, k={PARITY_TOP_K}, label smoothing "
          f"{OFFICIAL_LABEL_SMOOTHING}):")
    print(f"{'image':<11}{'order':<7}{'max |d score|':>14}{'max |d prob|':>13}  question -> best")
    for name, question, want_order, got_order, d_score, d_prob, ok in rank_rows:
        same = want_order == got_order
        print(f"{name:<11}{'same' if same else 'DIFF':<7}{d_score:>14.2e}{d_prob:>13.2e}  {question!r} -> "
              f"{PARITY_CANDIDATES[want_order[0]]!r}")
        if not ok:
            print(f"    transformers order: {want_order}\n    swift order:        {got_order}")
    print("\nVQA PARITY " + ("FAILED" if failed else "OK"))
    return 1 if failed else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    mm = sub.add_parser("make-model")
    mm.add_argument("--config", choices=sorted(ref.CONFIGS), required=True)
    mm.add_argument("--out", type=Path, required=True)
    mm.add_argument("--seed", type=int, default=0)
    mm.add_argument("--dtype", choices=["f32", "bf16"], default="f32")
    mm.add_argument("--init-std", type=float, default=None)
    mm.add_argument("--eos-bias", type=float, default=0.0)
    ex = sub.add_parser("expected")
    ex.add_argument("--model", type=Path, required=True)
    ex.add_argument("--image", required=True, help="path or skimage:NAME")
    ex.add_argument("--out", type=Path, required=True)
    ex.add_argument("--json", type=Path, default=None)
    ex.add_argument("--questions", nargs="+", default=FIXTURE_QUESTIONS[:2])
    ex.add_argument("--candidates", nargs="+", default=FIXTURE_CANDIDATES)
    ex.add_argument("--max-new-tokens", type=int, default=10)
    ex.add_argument("--no-full-logits", action="store_true", help="store only max logits (big models)")
    mf = sub.add_parser("make-fixtures")
    mf.add_argument("--root", type=Path,
                    default=Path(__file__).resolve().parent.parent / "Tests/BLIPTests/Fixtures/tiny-vqa")
    pa = sub.add_parser("parity")
    pa.add_argument("--blip", default=str(Path(__file__).resolve().parent.parent / ".build/release/blip"))
    pa.add_argument("--model", type=Path, default=None,
                    help="base VQA model directory (default: random weights in /tmp/swift-blip-parity/vqa-base/model)")
    args = ap.parse_args()
    if args.cmd == "parity":
        sys.exit(parity(args.blip, args.model))
    if args.cmd == "make-model":
        make_model(args.config, args.out, args.seed, args.dtype, args.init_std, args.eos_bias)
    elif args.cmd == "expected":
        expected(args.model, args.image, args.out, args.json or args.out.with_suffix(".json"),
                 args.questions, args.candidates, args.max_new_tokens, full_logits=not args.no_full_logits)
    else:
        make_fixtures(args.root)


if __name__ == "__main__":
    main()
