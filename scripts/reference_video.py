#!/usr/bin/env python3
"""Reference outputs for Swift BLIP's zero-shot video retrieval (official BLIP `eval_retrieval_video.py`).

    python3 scripts/reference_video.py [--out Tests/BLIPTests/Fixtures/video]

Writes `clip.mov`, a 21-frame 64×48 test video (PyAV, PNG frames in a QuickTime container: lossless
RGB, so every decoder gives the same pixels), and `expected.json`: the official frame sample
(`np.arange(0, vlen, vlen / 8, dtype=int)`, as `video_dataset.py`) and, for the tiny retrieval
fixture (Tests/BLIPTests/Fixtures/tiny-itm, transformers' `BlipForImageTextRetrieval`) and three
texts, the official scores: ITC = normalize(mean over frames of vision_proj(CLS)) · the text's
ITC vector; ITM = itm_head of the text encoder (`[ENC]` first) cross-attending to all frames'
states concatenated; score = ITM logit[1] + ITC. Frames are preprocessed by `BlipImageProcessor`
(Pillow bicubic) where the official code lets decord resize them while decoding. Also `vqa`:
greedy answers (4 to 6 new tokens) of the tiny VQA fixture to two questions about the clip,
its question encoder cross-attending to every frame's states concatenated.
"""
import argparse
import json
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "Tests/BLIPTests/Fixtures/video")
    args = ap.parse_args()
    import av
    from PIL import Image
    from transformers import AutoTokenizer, BlipForImageTextRetrieval, BlipImageProcessorPil

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    photo = np.asarray(Image.open(ROOT / "Tests/BLIPTests/Fixtures/tiny/images/astronaut_96x80.png").convert("RGB"))
    frames = []
    for i in range(21):  # a window panning over the photo
        frames.append(np.ascontiguousarray(photo[i:i + 48, i:i + 64]))
    with av.open(str(out / "clip.mov"), "w") as container:
        stream = container.add_stream("png", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "rgb24"
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with av.open(str(out / "clip.mov")) as container:
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert all((a == b).all() for a, b in zip(decoded, frames)) and len(decoded) == len(frames)
    vlen = len(decoded)
    indices = np.arange(0, vlen, vlen / 8, dtype=int).tolist()

    model_dir = ROOT / "Tests/BLIPTests/Fixtures/tiny-itm"
    model = BlipForImageTextRetrieval.from_pretrained(model_dir, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    processor = BlipImageProcessorPil.from_pretrained(model_dir)
    pixels = processor([Image.fromarray(decoded[i]) for i in indices], return_tensors="pt").pixel_values
    texts = ["a man in a space suit", "a dog on the beach", "a rocket"]
    enc = tokenizer.convert_tokens_to_ids("[ENC]")
    cases = []
    with torch.no_grad():
        states = model.vision_model(pixel_values=pixels).last_hidden_state  # [F, N, C]
        video = torch.nn.functional.normalize(model.vision_proj(states[:, 0, :]).mean(0), dim=-1)
        concatenated = states.reshape(1, -1, states.shape[-1])  # [1, F·N, C]
        for text in texts:
            ids = tokenizer(text, return_tensors="pt")
            feature = model.text_encoder(input_ids=ids.input_ids, attention_mask=ids.attention_mask).last_hidden_state
            text_embed = torch.nn.functional.normalize(model.text_proj(feature[:, 0, :]), dim=-1)[0]
            itm_ids = ids.input_ids.clone()
            itm_ids[:, 0] = enc
            fused = model.text_encoder(input_ids=itm_ids, attention_mask=ids.attention_mask, encoder_hidden_states=concatenated,
                                       encoder_attention_mask=torch.ones(concatenated.shape[:-1], dtype=torch.long)).last_hidden_state
            logits = model.itm_head(fused[:, 0, :])[0]
            itc = float(video @ text_embed)
            cases.append({"text": text, "itc": itc, "itm_logits": logits.tolist(), "score": float(logits[1]) + itc})
    # Video QA (BLIP's zero-shot video question answering): the VQA model's question encoder
    # cross-attends to all frames' states concatenated; then transformers' answer generation.
    from transformers import BlipForQuestionAnswering
    vqa_dir = ROOT / "Tests/BLIPTests/Fixtures/tiny-vqa"
    vqa = BlipForQuestionAnswering.from_pretrained(vqa_dir, dtype=torch.float32).eval()
    vqa_tok = AutoTokenizer.from_pretrained(vqa_dir)
    vqa_pixels = BlipImageProcessorPil.from_pretrained(vqa_dir)([Image.fromarray(decoded[i]) for i in indices],
                                                                return_tensors="pt").pixel_values
    answers = []
    with torch.no_grad():
        frames_states = vqa.vision_model(pixel_values=vqa_pixels).last_hidden_state
        video_states = frames_states.reshape(1, -1, frames_states.shape[-1])
        for question in ["what is in the video?", "is it moving?"]:
            q = vqa_tok(question, return_tensors="pt")
            question_states = vqa.text_encoder(input_ids=q.input_ids, attention_mask=q.attention_mask,
                                               encoder_hidden_states=video_states,
                                               encoder_attention_mask=torch.ones(video_states.shape[:-1], dtype=torch.long))[0]
            ids = vqa.text_decoder.generate(input_ids=torch.full((1, 1), vqa.decoder_start_token_id),
                                            eos_token_id=vqa.config.text_config.sep_token_id,
                                            pad_token_id=vqa.config.text_config.pad_token_id,
                                            encoder_hidden_states=question_states,
                                            encoder_attention_mask=torch.ones(question_states.shape[:-1], dtype=torch.long),
                                            max_new_tokens=6, min_new_tokens=4, do_sample=False, num_beams=1)
            answers.append({"question": question, "token_ids": ids[0].tolist(),
                            "answer": vqa_tok.decode(ids[0], skip_special_tokens=True)})
    (out / "expected.json").write_text(json.dumps({"frame_count": vlen, "indices": indices, "cases": cases, "vqa": answers},
                                                  indent=1) + "\n")
    print(f"wrote {out}: {vlen} frames, indices {indices}, {cases}")


if __name__ == "__main__":
    main()
