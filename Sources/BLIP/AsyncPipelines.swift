import Foundation

/// Runs `body` on a Dispatch worker (model work blocks; it must not hold a Swift concurrency
/// thread) with a monitor whose `isCancelled` follows the calling task's cancellation.
func runCancellable<T: Sendable>(onStep: (@Sendable ([[Int]]) -> Void)? = nil,
                                 _ body: @escaping @Sendable (GenerationMonitor) throws -> T) async throws -> T {
    let flag = CancellationFlag()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(with: Result {
                    try body(GenerationMonitor(onStep: onStep, isCancelled: { flag.isCancelled }))
                })
            }
        }
    } onCancel: {
        flag.cancel()
    }
}

extension BlipCaptioner {
    /// Captions one image without blocking the caller's executor. Cancelling the task stops the
    /// generation between two tokens (throws `CancellationError`).
    ///
    /// ```swift
    /// let caption = try await captioner.caption(image)
    /// ```
    public func caption(_ image: RGBImage, options: CaptionOptions? = nil) async throws -> Caption {
        try await captions(for: [image], options: options)[0][0]
    }

    /// Captions `images` in batches of `batchSize` without blocking the caller's executor,
    /// calling `progress(done, total)` after each batch; the next batch is preprocessed while
    /// the model works on this one. Cancelling the task stops the work.
    public func captions(for images: [RGBImage], options: CaptionOptions? = nil, batchSize: Int = 8,
                         progress: (@Sendable (Int, Int) -> Void)? = nil) async throws -> [[Caption]] {
        guard batchSize >= 1 else { throw BlipModelError.invalidInput("batch size must be at least 1, got \(batchSize)") }
        try Task.checkCancellation()
        return try await runCancellable { monitor in
            var results: [[Caption]] = []
            results.reserveCapacity(images.count)
            try self.captionBatches(Array(images.indices), batchSize: min(batchSize, Self.maxBatchSize), options: options,
                                    monitor: monitor, load: { images[$0] }) { batch in
                for r in batch { results.append(try r.captions.get()) }
                progress?(results.count, images.count)
            }
            return results
        }
    }

    /// The caption of `image` as it grows, token by token: each element is the text so far
    /// (the last one is the final caption). Greedy and sampled decoding stream every token; beam
    /// search yields only its final caption. Ending the iteration (or cancelling its task)
    /// stops the generation.
    ///
    /// ```swift
    /// for try await partial in captioner.captionStream(image) { print(partial) }
    /// ```
    public func captionStream(_ image: RGBImage, options: CaptionOptions? = nil) -> AsyncThrowingStream<String, Error> {
        textStream { isCancelled, onText in
            try self.captionStreaming(image, options: options, isCancelled: isCancelled, onText: onText).text
        }
    }

    /// Captions one image on the calling thread, calling `onText` with the text so far after
    /// every token that changes it, and last with the final caption (beam search: only that).
    /// `isCancelled` is checked before every step (`CancellationError` when it returns true).
    public func captionStreaming(_ image: RGBImage, options: CaptionOptions? = nil,
                                 isCancelled: @escaping @Sendable () -> Bool = { false },
                                 onText: @escaping @Sendable (String) -> Void) throws -> Caption {
        let options = options ?? defaultOptions
        let strip = strippedPrompt(options)
        let last = LastText()
        let monitor = GenerationMonitor(onStep: { rows in
            guard let ids = rows.first else { return }
            let text = self.text(of: ids, strippingPrompt: strip)
            if last.replace(with: text) { onText(text) }
        }, isCancelled: isCancelled)
        var single = options
        single.generation.numReturnSequences = 1
        let caption = try captions(for: [image], options: single, monitor: monitor)[0][0]
        if last.replace(with: caption.text) { onText(caption.text) }
        return caption
    }
}

/// A stream of texts produced by `body` on a Dispatch worker; ending the iteration (or cancelling
/// its task) makes `isCancelled` true.
private func textStream(
    _ body: @escaping @Sendable (_ isCancelled: @escaping @Sendable () -> Bool, _ onText: @escaping @Sendable (String) -> Void) throws -> String
) -> AsyncThrowingStream<String, Error> {
    AsyncThrowingStream { continuation in
        let flag = CancellationFlag()
        continuation.onTermination = { _ in flag.cancel() }
        DispatchQueue.global(qos: .userInitiated).async {
            do {
                _ = try body({ flag.isCancelled }) { continuation.yield($0) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
    }
}

extension BlipQuestionAnswerer {
    /// Answers one question about an image without blocking the caller's executor (the image is
    /// encoded first). Cancelling the task stops the generation between two tokens.
    public func answer(_ question: String, image: RGBImage, options: GenerationOptions? = nil) async throws -> VQAAnswer {
        try await runCancellable { monitor in
            try monitor.checkCancelled()
            let encoding = try self.encode(image)
            return try self.answers([question], image: encoding, options: options, monitor: monitor)[0]
        }
    }

    /// The answer to `question` as it grows, token by token (the last element is the final
    /// answer; beam search yields only that). Ending the iteration stops the generation.
    public func answerStream(_ question: String, image: VQAImageEncoding,
                             options: GenerationOptions? = nil) -> AsyncThrowingStream<String, Error> {
        textStream { isCancelled, onText in
            try self.answerStreaming(question, image: image, options: options, isCancelled: isCancelled, onText: onText).text
        }
    }

    /// Answers one question on the calling thread, calling `onText` with the answer so far after
    /// every token that changes it, and last with the final answer (beam search: only that).
    public func answerStreaming(_ question: String, image: VQAImageEncoding, options: GenerationOptions? = nil,
                                isCancelled: @escaping @Sendable () -> Bool = { false },
                                onText: @escaping @Sendable (String) -> Void) throws -> VQAAnswer {
        let last = LastText()
        let tokenizer = self.tokenizer
        let monitor = GenerationMonitor(onStep: { rows in
            guard let ids = rows.first else { return }
            let text = tokenizer.decode(ids, skipSpecialTokens: true)
            if last.replace(with: text) { onText(text) }
        }, isCancelled: isCancelled)
        var single = options ?? defaultGeneration
        single.numReturnSequences = 1
        let answer = try answers([question], image: image, options: single, monitor: monitor)[0]
        if last.replace(with: answer.text) { onText(answer.text) }
        return answer
    }

    /// Answers questions about an encoded image without blocking the caller's executor.
    public func answers(_ questions: [String], image: VQAImageEncoding,
                        options: GenerationOptions? = nil) async throws -> [VQAAnswer] {
        try await runCancellable { monitor in try self.answers(questions, image: image, options: options, monitor: monitor) }
    }
}

/// The last text a stream yielded (steps that add no visible text are not repeated).
final class LastText: @unchecked Sendable {
    private let lock = NSLock()
    private var text: String?

    /// Stores `new`; true when it differs from the previous text.
    func replace(with new: String) -> Bool {
        lock.withLock {
            if text == new { return false }
            text = new
            return true
        }
    }
}
