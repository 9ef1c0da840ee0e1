#!/usr/bin/env python3
"""Golden values for BLIPEval (`blip eval`): pycocoevalcap 1.2's caption scorers and the official
VQA evaluation (vqaEval.py as LAVIS ships it), on small deterministic test sets with the awkward
cases in them.

Test tool only: the Swift package never runs Python. Needs `pip install pycocoevalcap` (it ships
the Stanford tokenizer jar; Java 17 runs it) and `pip install --no-deps salesforce-lavis` (only
its lavis/common/vqa_tools files are loaded, without importing the lavis package).

  python3 scripts/eval_reference.py make-fixtures [--root Tests/BLIPEvalTests/Fixtures]
      caption_sets.json: several sets of {image_id: {"refs": [...], "candidate": ...}} with the
        captions as written, as PTBTokenizer + pycocoevalcap tokenised them, and COCOEvalCap's
        Bleu_1..4, ROUGE_L, CIDEr (and per-image CIDEr / ROUGE_L);
      vqa_sets.json: VQAv2-format questions, annotations and results and the official
        evaluation's overall / per question type / per answer type / per question accuracy;
      retrieval_split.json, retrieval_i2t.npy (float32, C order), retrieval_t2i.npy (float64,
        Fortran order, different from the transpose, as after ITM re-ranking) and retrieval_expected.json: BLIP's official `itm_eval` (train_retrieval.py) on them.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WORDS = ("a man woman dog cat two three people sitting standing on in the of with and at next to table "
         "street bus train plate pizza red white blue large small bench beach kitchen field grass ball frisbee "
         "holding riding playing group young old black wooden parked near front top sign water").split()
ODD = ["A man's hat, (red)!", "two dogs -- playing...", "\"Quoted\" text here.", "it's 3.5 feet; isn't it?",
       "  spaced   out  ", "U.S. flag at 12:30", "café au lait", "rock-n-roll band", "ALL CAPS CAPTION",
       "a (very) {odd} [caption]", "no-punctuation", "", "...", "dog dog dog dog dog", "a", "a a a a"]


def sentence(rng: random.Random, lo=3, hi=14) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(lo, hi))]
    s = " ".join(words)
    if rng.random() < 0.3:
        s = s.capitalize() + rng.choice([".", "!", "", " .", ","])
    return s


def caption_sets() -> list[dict]:
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    rng = random.Random(12)
    sets = []
    for name, images, odd in [("small", 3, False), ("coco-like", 40, False), ("awkward", 25, True), ("one-image", 1, True)]:
        data = {}
        for i in range(images):
            refs = [sentence(rng) for _ in range(rng.choice([1, 3, 5, 5, 5, 7]))]
            if odd and rng.random() < 0.5:
                refs[0] = rng.choice(ODD)
            r = rng.random()
            if r < 0.15:
                candidate = refs[0]
            elif odd and r < 0.5:
                candidate = rng.choice(ODD)
            else:
                candidate = sentence(rng)
            data[str(1000 + i)] = {"refs": refs, "candidate": candidate}
        gts = {k: [{"caption": c} for c in v["refs"]] for k, v in data.items()}
        res = {k: [{"caption": v["candidate"]}] for k, v in data.items()}
        tok = PTBTokenizer()
        gts_t, res_t = tok.tokenize(gts), tok.tokenize(res)
        scores = {}
        bleu, _ = Bleu(4).compute_score(gts_t, res_t)
        for k, b in enumerate(bleu):
            scores[f"Bleu_{k + 1}"] = b
        rouge, rouge_each = Rouge().compute_score(gts_t, res_t)
        cider, cider_each = Cider().compute_score(gts_t, res_t)
        scores["ROUGE_L"], scores["CIDEr"] = float(rouge), float(cider)
        ids = list(gts_t.keys())
        for k in ids:
            data[k]["refs_tokenized"] = gts_t[k]
            data[k]["candidate_tokenized"] = res_t[k][0]
        sets.append({"name": name, "ids": ids, "images": data, "scores": scores,
                     "cider_per_image": [float(x) for x in cider_each], "rouge_per_image": [float(x) for x in rouge_each]})
    return sets


def load(name: str):
    path = Path(sysconfig.get_paths()["purelib"]) / "lavis/common/vqa_tools" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ANSWERS = ["yes", "no", "2", "two", "Two", "red", "the red one", "a dog", "dog", "dogs", "3", "three", "dont know",
           "don't", "dont", "none", "zero", "0", "tennis racket", "tennis-racket", "tennis, racket", "1,000", "1000",
           "10.5", "left.", "left", "right!", "N/A", "n/a", "(blue)", "blue", "ten", "10", "an apple", "apple", "isnt",
           "isn't", "hes", "he's", "a.b.c", "e.g.", "wait...", "... " * 20, "yes ", " yes", "YES", "teddy bear",
           "teddy_bear", "hot-dog", "hot dog", "hotdog", "@home", "3:30", "1/2", "half", "#1", "c++", "smile :)"]


def vqa_sets() -> list[dict]:
    vqa_eval = load("vqa_eval")
    rng = random.Random(5)
    sets = []
    for name, count in [("small", 6), ("varied", 120)]:
        questions, annotations, results = [], [], []
        for i in range(count):
            qid = 500000 + i
            pool = rng.sample(ANSWERS, rng.choice([1, 2, 3, 4]))
            answers = [rng.choice(pool) for _ in range(10)]
            qtype = rng.choice(["what color is the", "how many", "is the", "what is", "none of the above"])
            atype = {"how many": "number", "is the": "yes/no"}.get(qtype, "other")
            questions.append({"question_id": qid, "image_id": 9000 + i // 3, "question": f"{qtype} thing {i}?"})
            annotations.append({"question_id": qid, "image_id": 9000 + i // 3, "question_type": qtype, "answer_type": atype,
                                "multiple_choice_answer": answers[0],
                                "answers": [{"answer": a, "answer_confidence": "yes", "answer_id": j + 1} for j, a in enumerate(answers)]})
            guess = rng.choice(pool) if rng.random() < 0.6 else rng.choice(ANSWERS)
            results.append({"question_id": qid, "answer": guess})

        class Holder:  # the attributes VQAEval reads of its `vqa` and `vqaRes` objects
            def __init__(self, qa):
                self.qa = qa

            def getQuesIds(self):
                return list(self.qa.keys())

        import copy
        gt = Holder({a["question_id"]: copy.deepcopy(a) for a in annotations})
        res = Holder({r["question_id"]: r for r in results})
        ev = vqa_eval.VQAEval(gt, res, n=2)
        import io, contextlib
        with contextlib.redirect_stdout(io.StringIO()):
            ev.evaluate()
        sets.append({"name": name, "questions": {"questions": questions}, "annotations": {"annotations": annotations},
                     "results": results, "accuracy": ev.accuracy,
                     "per_question": {str(k): v for k, v in ev.evalQA.items()}})
    return sets


def normalisation_cases() -> list[dict]:
    vqa_eval = load("vqa_eval")

    class Empty:
        qa = {}

        def getQuesIds(self):
            return []

    ev = vqa_eval.VQAEval(Empty(), Empty(), n=2)
    cases = ANSWERS + ["a.b", "3.14", "end.", "x. y", "many....... dots" + "." * 40, "one, two", "1,2", "no - way",
                       "semi;colon", "[bracket]", "under_score", "a/b", "<tag>", "it's", "the cat's", "An Apple",
                       "one two three", "\tyes\n", "ÇA VA", "٣ cats", "the", "a an the"]
    return [{"input": c, "punctuation": ev.processPunctuation(c),
             "digit_article": ev.processDigitArticle(ev.processPunctuation(c))} for c in cases]


def itm_eval(scores_i2t, scores_t2i, txt2img, img2txt):
    """BLIP's train_retrieval.py itm_eval, verbatim in behaviour."""
    import numpy as np
    ranks = np.zeros(scores_i2t.shape[0])
    for index, score in enumerate(scores_i2t):
        inds = np.argsort(score)[::-1]
        rank = 1e20
        for i in img2txt[index]:
            tmp = np.where(inds == i)[0][0]
            if tmp < rank:
                rank = tmp
        ranks[index] = rank
    tr1, tr5, tr10 = (100.0 * len(np.where(ranks < k)[0]) / len(ranks) for k in (1, 5, 10))
    ranks = np.zeros(scores_t2i.shape[0])
    for index, score in enumerate(scores_t2i):
        inds = np.argsort(score)[::-1]
        ranks[index] = np.where(inds == txt2img[index])[0][0]
    ir1, ir5, ir10 = (100.0 * len(np.where(ranks < k)[0]) / len(ranks) for k in (1, 5, 10))
    tr_mean, ir_mean = (tr1 + tr5 + tr10) / 3, (ir1 + ir5 + ir10) / 3
    return {"txt_r1": tr1, "txt_r5": tr5, "txt_r10": tr10, "txt_r_mean": tr_mean, "img_r1": ir1, "img_r5": ir5,
            "img_r10": ir10, "img_r_mean": ir_mean, "r_mean": (tr_mean + ir_mean) / 2}


def retrieval_fixtures(root: Path) -> None:
    import numpy as np
    rng = np.random.default_rng(3)
    split = [{"image": f"val2014/COCO_val2014_{i:012d}.jpg", "caption": [f"caption {j} of image {i}" for j in range(int(rng.integers(1, 6)))]}
             for i in range(40)]
    txt2img, img2txt, t = {}, {}, 0
    for i, x in enumerate(split):
        img2txt[i] = []
        for _ in x["caption"]:
            img2txt[i].append(t)
            txt2img[t] = i
            t += 1
    i2t = rng.standard_normal((len(split), t)).astype(np.float32)
    i2t[np.arange(len(split)), [img2txt[i][0] for i in range(len(split))]] += 1.5  # better than chance
    t2i = (i2t.T + 0.3 * rng.standard_normal((t, len(split)))).astype(np.float64)
    (root / "retrieval_split.json").write_text(json.dumps(split, indent=1) + "\n")
    np.save(root / "retrieval_i2t.npy", i2t)
    np.save(root / "retrieval_t2i.npy", np.asfortranarray(t2i))
    expected = {"i2t_only": itm_eval(i2t, i2t.T, txt2img, img2txt), "both": itm_eval(i2t, t2i, txt2img, img2txt)}
    (root / "retrieval_expected.json").write_text(json.dumps(expected, indent=1) + "\n")


RETRIEVAL_SPLIT = [
    {"image": "astronaut_64x64.png", "caption": ["An astronaut.", "a woman in a white space suit"]},
    {"image": "chelsea_72x48.png", "caption": ["a cat", "A ginger cat, lying down!"]},
    {"image": "coffee_60x40.png", "caption": ["a cup of coffee on a saucer"]},
]


def retrieval_model_fixture(root: Path, k_test: int = 2) -> None:
    """BLIP's official `evaluation()` (ITC for all pairs, ITM logit with [ENC] + ITC for each
    image's and each text's top k_test) with transformers' BlipForImageTextRetrieval on the tiny
    ITM model and its three images: the expected score matrices and itm_eval of `blip eval
    retrieval --model`."""
    import numpy as np
    import torch
    from PIL import Image
    from transformers import BlipForImageTextRetrieval, BlipProcessor
    sys.path.insert(0, str(ROOT / "scripts"))
    from capfilt_reference import pre_caption

    model_dir = ROOT / "Tests/BLIPTests/Fixtures/tiny-itm"
    torch.set_num_threads(2)
    model = BlipForImageTextRetrieval.from_pretrained(model_dir, dtype=torch.float32).eval()
    processor = BlipProcessor.from_pretrained(model_dir)
    texts, txt2img, img2txt = [], {}, {}
    for i, x in enumerate(RETRIEVAL_SPLIT):
        img2txt[i] = []
        for c in x["caption"]:
            img2txt[i].append(len(texts))
            txt2img[len(texts)] = i
            texts.append(pre_caption(c, 30))
    images = [Image.open(model_dir / "images" / x["image"]).convert("RGB") for x in RETRIEVAL_SPLIT]
    enc = processor.tokenizer.convert_tokens_to_ids("[ENC]")
    with torch.no_grad():
        pixels = processor(images=images, return_tensors="pt").pixel_values
        image_embeds = model.vision_model(pixel_values=pixels).last_hidden_state
        image_feat = torch.nn.functional.normalize(model.vision_proj(image_embeds[:, 0]), dim=-1)
        tok = processor.tokenizer(texts, padding=True, return_tensors="pt")
        text_out = model.text_encoder(input_ids=tok.input_ids, attention_mask=tok.attention_mask, return_dict=True)
        text_feat = torch.nn.functional.normalize(model.text_proj(text_out.last_hidden_state[:, 0]), dim=-1)
        sims = image_feat @ text_feat.t()

        def itm_logit(i, ts):
            ids = tok.input_ids[ts].clone()
            ids[:, 0] = enc
            states = image_embeds[i:i + 1].repeat(len(ts), 1, 1)
            out = model.text_encoder(input_ids=ids, attention_mask=tok.attention_mask[ts], encoder_hidden_states=states,
                                     encoder_attention_mask=torch.ones(states.shape[:2], dtype=torch.long), return_dict=True)
            return model.itm_head(out.last_hidden_state[:, 0])[:, 1]

        i2t = torch.full((len(images), len(texts)), -100.0)
        for i in range(len(images)):
            topk_sim, topk_idx = sims[i].topk(k=k_test)
            i2t[i, topk_idx] = itm_logit(i, topk_idx) + topk_sim
        t2i = torch.full((len(texts), len(images)), -100.0)
        for t in range(len(texts)):
            topk_sim, topk_idx = sims[:, t].topk(k=k_test)
            for i, s in zip(topk_idx.tolist(), topk_sim):
                t2i[t, i] = itm_logit(i, torch.tensor([t]))[0] + s
    (root / "retrieval_model_split.json").write_text(json.dumps(RETRIEVAL_SPLIT, indent=1) + "\n")
    expected = {"k_test": k_test, "texts": texts, "itc": sims.tolist(), "i2t": i2t.tolist(), "t2i": t2i.tolist(),
                "itm_eval": itm_eval(i2t.numpy(), t2i.numpy(), txt2img, img2txt)}
    (root / "retrieval_model_expected.json").write_text(json.dumps(expected, indent=1) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    mf = sub.add_parser("make-fixtures")
    mf.add_argument("--root", type=Path, default=ROOT / "Tests/BLIPEvalTests/Fixtures")
    args = ap.parse_args()
    args.root.mkdir(parents=True, exist_ok=True)
    (args.root / "caption_sets.json").write_text(json.dumps(caption_sets(), indent=1, ensure_ascii=False) + "\n")
    (args.root / "vqa_sets.json").write_text(json.dumps({"sets": vqa_sets(), "normalisation": normalisation_cases()},
                                                        indent=1, ensure_ascii=False) + "\n")
    retrieval_fixtures(args.root)
    retrieval_model_fixture(args.root)
    print(f"wrote {args.root}/caption_sets.json, vqa_sets.json and the retrieval files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
