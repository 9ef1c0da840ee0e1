import Foundation
import XCTest
@testable import BLIP

/// Official BLIP `.pth` checkpoints (`scripts/make_official_fixtures.py make`: the tiny
/// transformers fixtures saved under the official key names, `{"model": state_dict}`, with the
/// extra tensors official checkpoints carry): renaming, task choice, config from shapes,
/// position-embedding resizing and the converted directory.
final class OfficialCheckpointTests: XCTestCase {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    static let official = fixtures.appendingPathComponent("official")

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("official-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testKeyRenamesAreTransformers() {
        let cases = [
            ("visual_encoder.blocks.3.attn.qkv.weight", "vision_model.encoder.layers.3.self_attn.qkv.weight"),
            ("visual_encoder.blocks.0.attn.proj.bias", "vision_model.encoder.layers.0.self_attn.projection.bias"),
            ("visual_encoder.blocks.11.norm1.weight", "vision_model.encoder.layers.11.layer_norm1.weight"),
            ("visual_encoder.blocks.2.mlp.fc2.weight", "vision_model.encoder.layers.2.mlp.fc2.weight"),
            ("visual_encoder.norm.bias", "vision_model.post_layernorm.bias"),
            ("visual_encoder.pos_embed", "vision_model.embeddings.position_embedding"),
            ("visual_encoder.cls_token", "vision_model.embeddings.class_embedding"),
            ("visual_encoder.patch_embed.proj.weight", "vision_model.embeddings.patch_embedding.weight"),
            ("text_decoder.cls.predictions.decoder.weight", "text_decoder.cls.predictions.decoder.weight"),
        ]
        for (official, transformers) in cases {
            XCTAssertEqual(OfficialBlipCheckpoint.transformersName(official), transformers, official)
        }
    }

    /// mmpretrain's converted BLIP checkpoints (`BlipCaption`: `visual_encoder` as its
    /// `VisionTransformer` names it, `seq_gen_head.decoder`) map to the same transformers names.
    func testMmpretrainNamesMapToTransformers() {
        let cases = [
            ("visual_encoder.patch_embed.projection.weight", "vision_model.embeddings.patch_embedding.weight"),
            ("visual_encoder.layers.4.ln1.bias", "vision_model.encoder.layers.4.layer_norm1.bias"),
            ("visual_encoder.layers.4.ln2.weight", "vision_model.encoder.layers.4.layer_norm2.weight"),
            ("visual_encoder.layers.0.attn.qkv.weight", "vision_model.encoder.layers.0.self_attn.qkv.weight"),
            ("visual_encoder.layers.0.attn.proj.bias", "vision_model.encoder.layers.0.self_attn.projection.bias"),
            ("visual_encoder.layers.11.ffn.layers.0.0.weight", "vision_model.encoder.layers.11.mlp.fc1.weight"),
            ("visual_encoder.layers.11.ffn.layers.1.bias", "vision_model.encoder.layers.11.mlp.fc2.bias"),
            ("visual_encoder.ln1.weight", "vision_model.post_layernorm.weight"),
            ("visual_encoder.pos_embed", "vision_model.embeddings.position_embedding"),
            ("seq_gen_head.decoder.bert.encoder.layer.3.crossattention.self.key.weight",
             "text_decoder.bert.encoder.layer.3.crossattention.self.key.weight"),
            ("seq_gen_head.decoder.cls.predictions.bias", "text_decoder.cls.predictions.bias"),
            // BlipRetrieval's backbones, necks and ITM head.
            ("vision_backbone.layers.1.attn.qkv.bias", "vision_model.encoder.layers.1.self_attn.qkv.bias"),
            ("text_backbone.encoder.layer.0.attention.self.query.weight", "text_encoder.encoder.layer.0.attention.self.query.weight"),
            ("vision_neck.weight", "vision_proj.weight"),
            ("text_neck.bias", "text_proj.bias"),
            ("multimodal_head.fc.weight", "itm_head.weight"),
            // Official names pass through unchanged.
            ("visual_encoder.blocks.2.norm1.weight", "vision_model.encoder.layers.2.layer_norm1.weight"),
        ]
        for (mmpretrain, transformers) in cases {
            XCTAssertEqual(OfficialBlipCheckpoint.transformersName(OfficialBlipCheckpoint.officialName(mmpretrain: mmpretrain)),
                           transformers, mmpretrain)
        }
        // Momentum copies and the ITC head's buffers become the modules a retrieval model leaves out.
        XCTAssertEqual(OfficialBlipCheckpoint.officialName(mmpretrain: "vision_backbone_m.layers.0.ln1.weight"),
                       "visual_encoder_m.blocks.0.norm1.weight")
        XCTAssertEqual(OfficialBlipCheckpoint.officialName(mmpretrain: "head.temp"), "temp")
    }

    /// The caption checkpoint reads as the tiny captioner: every tensor equal, config from shapes.
    func testCaptionCheckpointEqualsTheTransformersModel() throws {
        let checkpoint = try OfficialBlipCheckpoint(url: Self.official.appendingPathComponent("tiny_caption.pth"))
        XCTAssertEqual(checkpoint.task, .caption)
        XCTAssertEqual(checkpoint.checkpointImageSize, 48)
        let reference = try BlipConfig.load(directory: Self.fixtures.appendingPathComponent("tiny"))
        XCTAssertEqual(checkpoint.config.visionConfig.hiddenSize, reference.visionConfig.hiddenSize)
        XCTAssertEqual(checkpoint.config.visionConfig.numHiddenLayers, reference.visionConfig.numHiddenLayers)
        XCTAssertEqual(checkpoint.config.visionConfig.imageSize, 48)
        XCTAssertEqual(checkpoint.config.textConfig.vocabSize, reference.textConfig.vocabSize)
        XCTAssertEqual(checkpoint.config.textConfig.numHiddenLayers, reference.textConfig.numHiddenLayers)
        XCTAssertEqual(checkpoint.config.textConfig.encoderHiddenSize, reference.textConfig.encoderHiddenSize)
        let original = try SafeTensorsCheckpoint(directory: Self.fixtures.appendingPathComponent("tiny"))
        let weights = checkpoint.weights
        XCTAssertEqual(Set(weights.tensorNames.filter { !$0.hasSuffix("position_ids") }), Set(original.names))
        for name in original.names {
            XCTAssertEqual(try weights.loadTensor(name)?.scalars, try original.tensor(name).scalars, name)
        }
    }

    /// Official interpolate_pos_embed: the class token kept, the grid bicubic (align_corners
    /// false), up and down, equal to PyTorch's F.interpolate.
    func testPositionEmbeddingsResizeAsOfficialBlip() throws {
        let expected = try SafeTensorsFile(url: Self.official.appendingPathComponent("expected.safetensors"))
        for grid in [8, 4, 7] {
            let checkpoint = try OfficialBlipCheckpoint(url: Self.official.appendingPathComponent("tiny_caption.pth"),
                                                        imageSize: grid * 8)
            let got = try XCTUnwrap(checkpoint.weights.loadTensor("vision_model.embeddings.position_embedding"))
            let want = try expected.tensor("pos_embed_grid\(grid)")
            XCTAssertEqual(got.shape, want.shape)
            let worst = zip(got.scalars, want.scalars).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThan(worst, 1e-6, "grid \(grid)")
        }
    }

    func testTaskChoiceAndUnknownKeys() throws {
        let retrieval = try OfficialBlipCheckpoint(url: Self.official.appendingPathComponent("tiny_retrieval.pth"))
        XCTAssertEqual(retrieval.task, .itm)
        // Momentum encoders, queues and temp are the official loader's to drop; listed, not loaded.
        XCTAssertEqual(Set(retrieval.unusedByTask), ["visual_encoder_m.cls_token", "text_encoder_m.embeddings.LayerNorm.weight",
                                                    "vision_proj_m.weight", "image_queue", "text_queue", "idx_queue",
                                                    "ptr_queue", "temp"])
        let itm = try BlipConfig.load(directory: Self.fixtures.appendingPathComponent("tiny-itm"))
        XCTAssertEqual(retrieval.config.imageTextHiddenSize, itm.imageTextHiddenSize)
        XCTAssertThrowsError(try OfficialBlipCheckpoint(url: Self.official.appendingPathComponent("pretrain_like.pth"))) { error in
            XCTAssertTrue("\(error)".contains("say which task"), "\(error)")
        }
        XCTAssertThrowsError(try OfficialBlipCheckpoint(url: Self.official.appendingPathComponent("unknown_key.pth"))) { error in
            XCTAssertTrue("\(error)".contains("head.weight belongs to no official BLIP module"), "\(error)")
        }
        XCTAssertThrowsError(try OfficialBlipCheckpoint(url: Self.official.appendingPathComponent("bad_shapes.pth"))) { error in
            XCTAssertTrue("\(error)".contains("visual_encoder.pos_embed has shape []"), "\(error)")
        }
        XCTAssertThrowsError(try OfficialBlipCheckpoint(url: Self.official.appendingPathComponent("duplicate_names.pth"))) { error in
            XCTAssertTrue("\(error)".contains("are both visual_encoder.blocks.0.norm1.weight"), "\(error)")
        }
        XCTAssertThrowsError(try OfficialBlipCheckpoint(url: Self.official.appendingPathComponent("empty_key.pth"))) { error in
            XCTAssertTrue("\(error)".contains("belongs to no official BLIP module"), "\(error)")
        }
        XCTAssertThrowsError(try OfficialBlipCheckpoint(url: Self.official.appendingPathComponent("tiny_caption.pth"), task: .itm)) { error in
            XCTAssertTrue("\(error)".contains("has no text_encoder"), "\(error)")
        }
    }

    /// The converted directory loads as the task's pipeline and captions as the original does;
    /// a failed conversion leaves nothing behind.
    func testConvertedDirectoryCaptionsAsTheOriginal() throws {
        let out = try temporaryDirectory().appendingPathComponent("converted")
        // The tiny model's heads are not 64 wide: its config is given (the shapes alone choose 1 head).
        let reference = try BlipConfig.load(directory: Self.fixtures.appendingPathComponent("tiny"))
        let inferred = try OfficialBlipCheckpoint(url: Self.official.appendingPathComponent("tiny_caption.pth"))
        XCTAssertEqual(inferred.config.textConfig.numAttentionHeads, 1)
        let checkpoint = try OfficialBlipCheckpoint(url: Self.official.appendingPathComponent("tiny_caption.pth"), config: reference)
        XCTAssertEqual(checkpoint.config.architectures, ["BlipForConditionalGeneration"])
        try checkpoint.writeTransformersDirectory(out, tokenizerDirectory: Self.fixtures.appendingPathComponent("tiny"))
        let names = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        XCTAssertEqual(names, ["config.json", "model.safetensors", "preprocessor_config.json", "special_tokens_map.json",
                               "tokenizer_config.json", "vocab.txt"])
        let image = try RGBImage(contentsOf: Self.fixtures.appendingPathComponent("tiny/images/astronaut_96x80.png"))
        var options = CaptionOptions()
        options.generation.maxNewTokens = 12
        let converted = try BlipCaptioner(modelDirectory: out).caption(image, options: options)
        let original = try BlipCaptioner(modelDirectory: Self.fixtures.appendingPathComponent("tiny")).caption(image, options: options)
        XCTAssertEqual(converted.tokenIds, original.tokenIds)
        XCTAssertFalse(converted.tokenIds.isEmpty)

        // The output exists now: refused, and a tokenizer-less source leaves no partial directory.
        XCTAssertThrowsError(try checkpoint.writeTransformersDirectory(out, tokenizerDirectory: Self.fixtures.appendingPathComponent("tiny")))
        let second = out.deletingLastPathComponent().appendingPathComponent("second")
        XCTAssertThrowsError(try checkpoint.writeTransformersDirectory(second, tokenizerDirectory: Self.official))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.deletingLastPathComponent().path), ["converted"])
    }

    /// A model directory that holds only pytorch_model.bin (transformers' names) loads directly
    /// and gives the numbers of its safetensors twin.
    func testPytorchModelBinDirectoryLoads() throws {
        let directory = try temporaryDirectory()
        let twin = Self.fixtures.appendingPathComponent("tiny-blip2-itm-matcher")
        for name in try FileManager.default.contentsOfDirectory(atPath: twin.path) where name != "model.safetensors" {
            try FileManager.default.copyItem(at: twin.appendingPathComponent(name), to: directory.appendingPathComponent(name))
        }
        XCTAssertThrowsError(try loadImageTextMatcher(modelDirectory: directory)) { error in  // no weights yet
            XCTAssertTrue("\(error)".contains("model.safetensors"), "\(error)")
        }
        try FileManager.default.copyItem(at: Self.official.appendingPathComponent("blip2_itm_pytorch_model.bin"),
                                         to: directory.appendingPathComponent("pytorch_model.bin"))
        let image = try RGBImage(contentsOf: Self.fixtures.appendingPathComponent("tiny-itm/images/astronaut_64x64.png"))
        let fromBin = try loadImageTextMatcher(modelDirectory: directory).match(image, texts: ["a cup of coffee"])
        let fromSafetensors = try loadImageTextMatcher(modelDirectory: twin).match(image, texts: ["a cup of coffee"])
        XCTAssertEqual(fromBin, fromSafetensors)
    }
}
