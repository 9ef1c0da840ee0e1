import Foundation

/// An official BLIP checkpoint (salesforce/BLIP's and LAVIS's `.pth`: `model_base_capfilt_large.pth`,
/// `model_large_caption.pth`, `model_base_retrieval_coco.pth`, `model_base_vqa_capfilt_large.pth`, …)
/// seen with transformers' names, for one task.
///
/// Keys are renamed as transformers' `convert_blip_original_pytorch_to_hf.py` renames them
/// (`visual_encoder.blocks.N.attn.qkv` → `vision_model.encoder.layers.N.self_attn.qkv`,
/// `attn.proj` → `self_attn.projection`, `norm1/2` → `layer_norm1/2`, `visual_encoder.norm` →
/// `vision_model.post_layernorm`, `cls_token`, `pos_embed` and `patch_embed.proj` → the
/// embeddings'; text keys unchanged). The task's modules are loaded (caption: `visual_encoder`,
/// `text_decoder`; vqa: + `text_encoder`; itm: `visual_encoder`, `text_encoder`, `vision_proj`,
/// `text_proj`, `itm_head`); the other BLIP modules a pretraining checkpoint also holds (momentum
/// encoders, queues, other heads) are listed in ``unusedByTask``, as the official loaders drop
/// them; any other key is an error that names it. When the configured image size differs from
/// the checkpoint's, the position embeddings' 2-D grid is resized bicubically, as official
/// `interpolate_pos_embed` does. The config comes from the checkpoint's shapes (64-wide attention
/// heads, as every released BLIP has), or is given.
public struct OfficialBlipCheckpoint {
    /// The model a checkpoint is read as.
    public enum Task: String, Sendable, CaseIterable {
        case caption, vqa, itm
        /// NLVR2 (official `blip_nlvr`): no transformers class; read by `BlipForNLVR`.
        case nlvr
        /// Visual grounding (mmpretrain `BlipGrounding`): read by `BlipForGrounding`.
        case grounding

        /// transformers' class of the task (config.json `architectures`; `BlipForNLVR` is this
        /// package's own).
        public var architecture: String {
            switch self {
            case .caption: return "BlipForConditionalGeneration"
            case .vqa: return "BlipForQuestionAnswering"
            case .itm: return "BlipForImageTextRetrieval"
            case .nlvr: return "BlipForNLVR"
            case .grounding: return "BlipForGrounding"
            }
        }

        var modules: [String] {
            switch self {
            case .caption: return ["visual_encoder", "text_decoder"]
            case .vqa: return ["visual_encoder", "text_encoder", "text_decoder"]
            case .itm: return ["visual_encoder", "text_encoder", "vision_proj", "text_proj", "itm_head"]
            case .nlvr: return ["visual_encoder", "text_encoder", "cls_head"]
            case .grounding: return ["visual_encoder", "text_encoder", "multimodal_encoder", "grounding_head"]
            }
        }
    }

    /// Every top-level module or tensor of official BLIP models.
    static let knownModules: Set<String> = [
        "visual_encoder", "text_encoder", "text_decoder", "vision_proj", "text_proj", "itm_head", "cls_head",
        "multimodal_encoder", "grounding_head",
        "visual_encoder_m", "text_encoder_m", "text_decoder_m", "vision_proj_m", "text_proj_m",
        "image_queue", "text_queue", "idx_queue", "ptr_queue", "temp",
    ]

    public let file: TorchCheckpointFile
    public let task: Task
    /// The config the checkpoint's shapes describe (image size as given, else the checkpoint's).
    public let config: BlipConfig
    /// Keys of other BLIP modules, which this task does not use (the official loader drops them).
    public let unusedByTask: [String]
    /// The image size the checkpoint's position embeddings were trained at.
    public let checkpointImageSize: Int
    /// transformers name → checkpoint key, for the task's keys.
    let sourceFor: [String: String]

    /// Opens `url`; `task` nil picks the one the modules present allow (a pretraining checkpoint
    /// holds several: then `task` must be given); `imageSize` nil keeps the checkpoint's (or the
    /// given config's); `config` replaces the one read from the shapes (loading checks it).
    public init(url: URL, task: Task? = nil, imageSize: Int? = nil, config given: BlipConfig? = nil) throws {
        let file = try TorchCheckpointFile(url: url)
        let path = url.path
        // mmpretrain's converted checkpoints name the same tensors otherwise: read them as official.
        let names = file.names.map { Self.officialName(mmpretrain: $0) }
        var fileKey = [String: String]()
        for (name, key) in zip(names, file.names) {
            if let other = fileKey[name] {  // official and mmpretrain names for one tensor
                throw BlipModelError.unsupportedModel("\(path): \(other) and \(key) are both \(name)")
            }
            fileKey[name] = key
        }
        let modules = Set(names.map(Self.module))
        if let unknown = names.first(where: { !Self.knownModules.contains(Self.module($0)) }) {
            throw BlipModelError.unsupportedModel("\(path): \(unknown) belongs to no official BLIP module (known: "
                + Self.knownModules.sorted().joined(separator: ", ") + ")")
        }
        let chosen: Task
        if let task {
            chosen = task
        } else {
            let candidates = Task.allCases.filter { Set($0.modules).isSubset(of: modules) }
            // A checkpoint with a decoder and an encoder but no ITM head is VQA; one with all is pretraining.
            let exact = candidates.filter { t in
                modules.subtracting(t.modules).isDisjoint(with: ["text_decoder", "text_encoder", "itm_head", "cls_head",
                                                                 "multimodal_encoder", "grounding_head"])
            }
            guard exact.count == 1 else {
                throw BlipModelError.unsupportedModel("\(path) holds the modules of "
                    + (candidates.isEmpty ? "no BLIP task" : candidates.map(\.rawValue).joined(separator: ", "))
                    + " (\(modules.sorted().joined(separator: ", "))): say which task to read it as")
            }
            chosen = exact[0]
        }
        if let missing = chosen.modules.first(where: { !modules.contains($0) }) {
            throw BlipModelError.unsupportedModel("\(path) has no \(missing), which a \(chosen.rawValue) model needs")
        }
        let taskModules = Set(chosen.modules)
        var map = [String: String](), unused = [String]()
        for key in names {
            if taskModules.contains(Self.module(key)) {
                map[Self.transformersName(key)] = fileKey[key]
            } else {
                unused.append(key)
            }
        }
        var (config, trained) = try Self.config(names: names, info: { fileKey[$0].flatMap(file.info) }, task: chosen,
                                                imageSize: imageSize, source: path)
        if var given {
            given.architectures = [chosen.architecture]
            if let imageSize { given.visionConfig.imageSize = imageSize }
            config = given
        }
        self.file = file
        self.task = chosen
        self.config = config
        self.unusedByTask = unused
        self.checkpointImageSize = trained
        self.sourceFor = map
    }

    /// mmpretrain's module names → official BLIP's: `BlipCaption`'s `seq_gen_head.decoder`,
    /// `BlipRetrieval`'s backbones, necks and heads (momentum copies included).
    static let mmpretrainModules: [(String, String)] = [
        ("seq_gen_head.decoder.", "text_decoder."),
        ("vision_backbone_m.", "visual_encoder_m."), ("vision_backbone.", "visual_encoder."),
        ("text_backbone_m.", "text_encoder_m."), ("text_backbone.", "text_encoder."),
        ("vision_neck_m.", "vision_proj_m."), ("vision_neck.", "vision_proj."),
        ("text_neck_m.", "text_proj_m."), ("text_neck.", "text_proj."),
        ("multimodal_head.fc.", "itm_head."),
        ("head.temp", "temp"), ("head.image_queue", "image_queue"), ("head.text_queue", "text_queue"),
        ("head.idx_queue", "idx_queue"), ("head.ptr_queue", "ptr_queue"),
    ]

    /// The official name of an mmpretrain key (its converted BLIP checkpoints: the module names of
    /// ``mmpretrainModules``, and its `VisionTransformer`'s `patch_embed.projection`,
    /// `layers.N.ln1/ln2`, `ffn.layers.0.0` / `ffn.layers.1` and final `ln1`); official keys are
    /// returned as they are.
    static func officialName(mmpretrain key: String) -> String {
        var key = key
        if let (from, to) = mmpretrainModules.first(where: { key.hasPrefix($0.0) }) { key = to + key.dropFirst(from.count) }
        let vision = ["visual_encoder.", "visual_encoder_m."].first { key.hasPrefix($0) }
        guard let vision, !key.hasPrefix(vision + "blocks.") else { return key }
        var k = String(key.dropFirst(vision.count))
        if k.hasPrefix("patch_embed.projection.") {
            k = "patch_embed.proj." + k.dropFirst("patch_embed.projection.".count)
        } else if k.hasPrefix("ln1.") {
            k = "norm." + k.dropFirst("ln1.".count)
        } else if k.hasPrefix("layers.") {
            k = "blocks." + k.dropFirst("layers.".count)
            for (from, to) in [(".ln1.", ".norm1."), (".ln2.", ".norm2."), (".ffn.layers.0.0.", ".mlp.fc1."), (".ffn.layers.1.", ".mlp.fc2.")] {
                k = k.replacingOccurrences(of: from, with: to)
            }
        }
        return vision + k
    }

    /// The top-level module of a key ("" for an empty one).
    static func module(_ key: String) -> String { key.split(separator: ".", maxSplits: 1).first.map(String.init) ?? "" }

    /// transformers' name of an official key (transformers' `rename_key`).
    public static func transformersName(_ key: String) -> String {
        guard key.hasPrefix("visual_encoder.") else { return key }
        var k = "vision_model.encoder." + key.dropFirst("visual_encoder.".count)
        let renames = [("blocks.", "layers."), (".attn.proj.", ".self_attn.projection."), (".attn.", ".self_attn."),
                       (".norm1.", ".layer_norm1."), (".norm2.", ".layer_norm2.")]
        for (from, to) in renames { k = k.replacingOccurrences(of: from, with: to) }
        let roots = [("vision_model.encoder.norm.", "vision_model.post_layernorm."),
                     ("vision_model.encoder.patch_embed.proj.", "vision_model.embeddings.patch_embedding."),
                     ("vision_model.encoder.pos_embed", "vision_model.embeddings.position_embedding"),
                     ("vision_model.encoder.cls_token", "vision_model.embeddings.class_embedding")]
        for (from, to) in roots where k.hasPrefix(from) { k = to + k.dropFirst(from.count) }
        return k
    }

    /// The task's weights under transformers' names (position embeddings resized to the config).
    public var weights: some WeightStore { OfficialBlipWeights(checkpoint: self) }

    // MARK: - Config from shapes

    static func config(names: [String], info: (String) -> TorchTensorInfo?, task: Task, imageSize: Int?,
                       source: String) throws -> (BlipConfig, Int) {
        func shape(_ key: String, rank: Int = 2) throws -> [Int] {
            guard let info = info(key) else { throw BlipModelError.missingWeight("\(key) (in \(source))") }
            guard info.shape.count == rank, info.shape.allSatisfy({ $0 > 0 }) else {
                throw BlipModelError.unsupportedModel("\(source): \(key) has shape \(info.shape), not a \(rank)-d weight")
            }
            return info.shape
        }
        func layers(_ prefix: String) -> Int {
            Set(names.compactMap { name -> Int? in
                guard name.hasPrefix(prefix) else { return nil }
                return name.dropFirst(prefix.count).split(separator: ".").first.flatMap { Int($0) }
            }).count
        }
        var config = BlipConfig()
        config.architectures = [task.architecture]
        let pos = try shape("visual_encoder.pos_embed", rank: 3), patch = try shape("visual_encoder.patch_embed.proj.weight", rank: 4)
        guard pos[1] >= 2, patch[2] == patch[3] else {
            throw BlipModelError.unsupportedModel("\(source): pos_embed \(pos) / patch_embed \(patch) are not a ViT's")
        }
        let grid = Int(Double(pos[1] - 1).squareRoot())
        guard grid * grid == pos[1] - 1 else {
            throw BlipModelError.unsupportedModel("\(source): pos_embed has \(pos[1]) positions, not 1 + a square grid")
        }
        var v = BlipVisionConfig()
        v.hiddenSize = pos[2]
        v.patchSize = patch[2]
        v.numHiddenLayers = layers("visual_encoder.blocks.")
        v.numAttentionHeads = max(1, pos[2] / 64)
        v.intermediateSize = try shape("visual_encoder.blocks.0.mlp.fc1.weight")[0]
        v.imageSize = imageSize ?? grid * patch[2]
        // Official BLIP's ViT (and mmpretrain's) uses LayerNorm eps 1e-6; transformers' BLIP configs
        // (and so the converted tasks) say 1e-5. NLVR2 and grounding have no transformers class:
        // they keep the official value.
        if task == .nlvr || task == .grounding { v.layerNormEps = 1e-6 }
        guard v.imageSize % v.patchSize == 0, v.imageSize > 0 else {
            throw BlipModelError.invalidInput("image size \(v.imageSize) is not a multiple of the patch size \(v.patchSize)")
        }
        config.visionConfig = v
        let text = task == .caption ? "text_decoder.bert." : "text_encoder."
        let words = try shape(text + "embeddings.word_embeddings.weight")
        var t = BlipTextConfig()
        t.vocabSize = task == .vqa ? try shape("text_decoder.bert.embeddings.word_embeddings.weight")[0] : words[0]
        t.hiddenSize = words[1]
        t.numHiddenLayers = layers(text + "encoder.layer.")
        t.numAttentionHeads = max(1, words[1] / 64)
        t.intermediateSize = try shape(text + "encoder.layer.0.intermediate.dense.weight")[0]
        t.maxPositionEmbeddings = try shape(text + "embeddings.position_embeddings.weight")[0]
        let cross = task == .nlvr ? "self0" : "self"  // NLVR2's first branch
        t.encoderHiddenSize = try shape(text + "encoder.layer.0.crossattention.\(cross).key.weight")[1]
        config.textConfig = t
        if task == .itm { config.imageTextHiddenSize = try shape("vision_proj.weight")[0] }
        return (config, grid * patch[2])
    }
}

/// `OfficialBlipCheckpoint`'s weights under transformers' names.
struct OfficialBlipWeights: WeightStore {
    let checkpoint: OfficialBlipCheckpoint

    var tensorNames: [String] { Array(checkpoint.sourceFor.keys) }

    func loadTensor(_ name: String) throws -> Tensor? {
        guard let key = checkpoint.sourceFor[name] else { return nil }
        let tensor = try checkpoint.file.loadTensor(key)
        guard name == "vision_model.embeddings.position_embedding", let pos = tensor else { return tensor }
        return Self.resizedPositions(pos, grid: checkpoint.config.visionConfig.gridSize)
    }

    func loadStoredMatrix(_ name: String, for precision: Precision) -> WeightMatrix? {
        checkpoint.sourceFor[name].flatMap { checkpoint.file.loadStoredMatrix($0, for: precision) }
    }

    /// Position embeddings [1, 1 + g², C] with the grid resized to `grid` × `grid` (official
    /// `interpolate_pos_embed`: the class token kept, the grid bicubic); unchanged when equal.
    static func resizedPositions(_ pos: Tensor, grid: Int) -> Tensor {
        guard pos.rank == 3, pos.shape[1] >= 2, grid > 0 else { return pos }  // the loader's shape check names it
        let c = pos.shape[2], old = Int(Double(pos.shape[1] - 1).squareRoot())
        guard old != grid, old > 0, old * old == pos.shape[1] - 1 else { return pos }
        let p = pos.contiguous()
        let planes = Tensor(uninitializedShape: [1, c, old, old])  // [1, g², C] → [1, C, g, g]
        for i in 0..<(old * old) {
            for k in 0..<c { planes.mutablePointer[k * old * old + i] = p.pointer[(1 + i) * c + k] }
        }
        let resized = planes.bicubicResized(height: grid, width: grid)  // [1, C, G, G]
        let out = Tensor(uninitializedShape: [1, 1 + grid * grid, c])
        out.mutablePointer.update(from: p.pointer, count: c)
        for i in 0..<(grid * grid) {
            for k in 0..<c { out.mutablePointer[(1 + i) * c + k] = resized.pointer[k * grid * grid + i] }
        }
        return out
    }
}
