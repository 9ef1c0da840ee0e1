import Foundation

extension OfficialBlipCheckpoint {
    /// The tokenizer files a converted directory takes from `tokenizerDirectory` (official BLIP
    /// uses bert-base-uncased with `[DEC]` as bos and `[ENC]` added: any transformers BLIP
    /// directory holds them).
    public static let tokenizerFiles = ["vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]

    /// Writes a transformers-layout directory at `output` (config.json, model.safetensors in fp32,
    /// preprocessor_config.json with BLIP's image processor at the config's size, and the
    /// tokenizer files of `tokenizerDirectory`), which transformers' `from_pretrained` and this
    /// package load. Everything is written to a sibling temporary directory, loaded back strictly
    /// and only then renamed to `output`, which must not exist yet: a failure leaves nothing
    /// behind.
    public func writeTransformersDirectory(_ output: URL, tokenizerDirectory: URL) throws {
        let fm = FileManager.default
        guard task != .nlvr, task != .grounding else {
            throw BlipModelError.unsupportedModel("\(task == .nlvr ? "NLVR2" : "grounding") has no transformers class to convert to: "
                + "give the .pth to `blip \(task == .nlvr ? "nlvr2" : "ground")` as it is")
        }
        guard !fm.fileExists(atPath: output.path) else {
            throw BlipModelError.invalidInput("\(output.path) exists already: give a new directory")
        }
        let tokenizerFiles = Self.tokenizerFiles.filter { fm.fileExists(atPath: tokenizerDirectory.appendingPathComponent($0).path) }
        guard tokenizerFiles.contains("vocab.txt") || tokenizerFiles.contains("tokenizer.json") else {
            throw BlipModelError.missingFile(tokenizerDirectory.appendingPathComponent("vocab.txt").path
                + " (the tokenizer files: a transformers BLIP model directory has them)")
        }
        let partial = output.deletingLastPathComponent()
            .appendingPathComponent(".\(output.lastPathComponent).partial-\(ProcessInfo.processInfo.processIdentifier)")
        try? fm.removeItem(at: partial)
        try fm.createDirectory(at: partial, withIntermediateDirectories: true)
        do {
            let store = weights
            var tensors = [(name: String, tensor: Tensor)]()
            for name in store.tensorNames.sorted() where !WeightLoader.ignoredSuffixes.contains(where: { name.hasSuffix($0) }) {
                if let t = try store.loadTensor(name) { tensors.append((name, t)) }
            }
            try SafeTensorsWriter.write(tensors, to: partial.appendingPathComponent("model.safetensors"),
                                        metadata: ["format": "pt", "converted_from": file.url.lastPathComponent])
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(config).write(to: partial.appendingPathComponent("config.json"))
            try Self.preprocessorJSON(size: config.visionConfig.imageSize).write(to: partial.appendingPathComponent("preprocessor_config.json"))
            for name in tokenizerFiles {
                try fm.copyItem(at: tokenizerDirectory.appendingPathComponent(name), to: partial.appendingPathComponent(name))
            }
            try Self.verify(partial, task: task)
            try fm.createDirectory(at: output.deletingLastPathComponent(), withIntermediateDirectories: true)
            try fm.moveItem(at: partial, to: output)
        } catch {
            try? fm.removeItem(at: partial)
            throw error
        }
    }

    /// transformers' `BlipImageProcessor` settings of the released BLIP checkpoints at `size`.
    static func preprocessorJSON(size: Int) throws -> Data {
        let object: [String: Any] = [
            "do_convert_rgb": true, "do_normalize": true, "do_rescale": true, "do_resize": true,
            "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
            "image_processor_type": "BlipImageProcessor", "processor_class": "BlipProcessor", "resample": 3,
            "rescale_factor": 1.0 / 255.0, "size": ["height": size, "width": size],
        ]
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }

    /// Loads a written directory as its task's pipeline (strict weights, tokenizer, processor).
    static func verify(_ directory: URL, task: Task) throws {
        switch task {
        case .caption: _ = try BlipCaptioner(modelDirectory: directory)
        case .vqa: _ = try BlipQuestionAnswerer(modelDirectory: directory)
        case .itm: _ = try BlipImageTextMatcher(modelDirectory: directory)
        case .nlvr, .grounding: break  // refused before anything is written
        }
    }
}

extension OfficialBlipCheckpoint {
    /// Whether `url` names a PyTorch checkpoint file (`.pth`, `.pt`, `.bin`) rather than a directory.
    public static func isCheckpointFile(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && !isDirectory.boolValue
            && ["pth", "pt", "bin"].contains(url.pathExtension.lowercased())
    }

    /// The transformers directory converted from the checkpoint file `url` for `task`, made once
    /// under `cacheRoot` (default `$XDG_CACHE_HOME/swift-blip/converted`, else
    /// `~/.cache/swift-blip/converted`) and reused while the file's size and modification time
    /// stay the same.
    public static func convertedDirectory(for url: URL, task: Task, imageSize: Int? = nil, config: BlipConfig? = nil,
                                          tokenizerDirectory: URL, cacheRoot: URL? = nil) throws -> URL {
        let fm = FileManager.default
        let attributes = try fm.attributesOfItem(atPath: url.path)
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        let mtime = Int64(((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0) * 1000)
        let xdg = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
        let root = cacheRoot ?? (xdg ?? fm.homeDirectoryForCurrentUser.appendingPathComponent(".cache"))
            .appendingPathComponent("swift-blip/converted")
        let stem = url.deletingPathExtension().lastPathComponent
        var name = "\(stem)-\(task.rawValue)-\(imageSize.map(String.init) ?? "native")-\(String(size, radix: 16))-\(String(mtime, radix: 16))"
        if let config, let data = try? JSONEncoder().encode(config) {  // another config, another directory
            name += "-" + String(data.reduce(UInt64(14_695_981_039_346_656_037)) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 }, radix: 16)
        }
        let directory = root.appendingPathComponent(name)
        if fm.fileExists(atPath: directory.appendingPathComponent("config.json").path) { return directory }
        let checkpoint = try OfficialBlipCheckpoint(url: url, task: task, imageSize: imageSize, config: config)
        try checkpoint.writeTransformersDirectory(directory, tokenizerDirectory: tokenizerDirectory)
        return directory
    }
}
