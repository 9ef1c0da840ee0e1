import Foundation

/// Calls `consume(i, prepare(i))` for i in 0..<count, in order, with `prepare(i + 1)` running on
/// a background thread while `consume(i)` runs: image decoding and preprocessing of the next
/// batch overlap the model's work on this one. At most one item is prepared ahead; when
/// `consume` throws, the item being prepared is waited for and dropped.
public func forEachPrepared<T: Sendable>(_ count: Int, prepare: @escaping @Sendable (Int) -> T,
                                  consume: (Int, T) throws -> Void) rethrows {
    let counter = PrefetchCounter()
    var i = 0
    try forEachPrefetched(next: { () -> T? in
        let k = counter.take()
        return k < count ? prepare(k) : nil
    }, consume: { value in
        try consume(i, value)
        i += 1
    })
}

/// Calls `consume` with each value `next` produces until it returns nil, `next` running on a
/// background thread one value ahead of `consume` (a stream of unknown length: records read
/// from a tar archive, decoded and preprocessed while the model works on the previous batch).
/// `next` is never called concurrently with itself. When `consume` throws, the value being
/// produced is waited for and dropped.
public func forEachPrefetched<T: Sendable>(next: @escaping @Sendable () -> T?, consume: (T) throws -> Void) rethrows {
    let queue = DispatchQueue(label: "blip.prepare", qos: .userInitiated)
    func start() -> Prepared<T?> {
        let item = Prepared<T?>()
        queue.async { item.fulfil(next()) }
        return item
    }
    var pending: Prepared<T?>? = start()
    defer { _ = pending?.wait() }
    while let current = pending {
        guard let value = current.wait() else {
            pending = nil
            break
        }
        pending = start()
        try consume(value)
    }
}

/// The next index to prepare (read and advanced on the background queue only).
private final class PrefetchCounter: @unchecked Sendable {
    private var value = 0
    func take() -> Int {
        defer { value += 1 }
        return value
    }
}

/// A value another thread produces once.
private final class Prepared<T: Sendable>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var value: T?

    func fulfil(_ v: T) {
        lock.withLock { value = v }
        done.signal()
    }

    /// Blocks until the value is there (once: later calls return it at once).
    func wait() -> T {
        if let v = lock.withLock({ value }) { return v }
        done.wait()
        done.signal()  // later waits return at once
        return lock.withLock { value! }
    }
}

/// The captions of one input of `BlipCaptioner.captionBatches`: `numReturnSequences` captions,
/// or why the input could not be read.
public struct BatchCaptionResult<Source: Sendable>: Sendable {
    public var source: Source
    public var captions: Result<[Caption], Error>
}

extension BlipCaptioner {
    /// Captions `sources` in batches of `batchSize`, the way dataset work wants it: while the
    /// model captions one batch (vision encoder on the whole batch, every sequence decoded
    /// together), a background thread loads and preprocesses the next. `load` reads one source
    /// (a file, a URL, a record); a source it cannot read becomes a failed result and the others
    /// go on. `handle` gets each batch's results in source order. Model errors (bad options,
    /// cancellation through `monitor`) end the run by throwing.
    ///
    /// ```swift
    /// try captioner.captionBatches(urls, batchSize: 16, load: { try RGBImage(contentsOf: $0) }) { results in
    ///     for r in results { print(r.source.path, (try? r.captions.get().first?.text) ?? "error") }
    /// }
    /// ```
    public func captionBatches<Source: Sendable>(
        _ sources: [Source], batchSize: Int = 8, options: CaptionOptions? = nil, monitor: GenerationMonitor? = nil,
        load: @escaping @Sendable (Source) throws -> RGBImage,
        handle: ([BatchCaptionResult<Source>]) throws -> Void
    ) throws {
        guard (1...Self.maxBatchSize).contains(batchSize) else {
            throw BlipModelError.invalidInput("batch size must be in 1...\(Self.maxBatchSize), got \(batchSize)")
        }
        let options = options ?? defaultOptions
        try options.generation.validate()
        let batches = stride(from: 0, to: sources.count, by: batchSize).map { $0..<min($0 + batchSize, sources.count) }
        try forEachPrepared(batches.count, prepare: { b -> PreparedBatch in
            // Decode and preprocess one batch (on the background thread).
            let loaded = sources[batches[b]].map { source in Result { try load(source) } }
            let images = loaded.compactMap { try? $0.get() }
            return PreparedBatch(loaded: loaded.map { $0.map { _ in () } },
                                 pixels: images.isEmpty ? nil : Result { try pixelValues(images) })
        }, consume: { (b: Int, batch: PreparedBatch) in
            var captions: [[Caption]] = []
            if let pixels = batch.pixels {
                captions = try self.captions(pixelValues: pixels.get(), options: options, monitor: monitor)
            }
            var next = captions.makeIterator()
            let results = zip(sources[batches[b]], batch.loaded).map { source, loaded in
                BatchCaptionResult(source: source, captions: loaded.map { next.next() ?? [] })
            }
            try handle(results)
        })
    }

    /// `captionBatches` over image files (decoded with EXIF orientation applied unless
    /// `applyingExifOrientation` is false, refusing images whose header declares more than
    /// `maxPixels` pixels).
    public func captionFiles(_ files: [URL], batchSize: Int = 8, options: CaptionOptions? = nil,
                             maxPixels: Int = RGBImage.defaultMaxPixels, applyingExifOrientation: Bool = true,
                             handle: ([BatchCaptionResult<URL>]) throws -> Void) throws {
        try captionBatches(files, batchSize: batchSize, options: options, load: { url in
            try RGBImage(contentsOf: url, maxPixels: maxPixels, applyingExifOrientation: applyingExifOrientation)
        }, handle: handle)
    }
}

/// One batch as the background thread hands it over: which inputs loaded, and their pixel
/// values (nil when none loaded).
private struct PreparedBatch: Sendable {
    var loaded: [Result<Void, Error>]
    var pixels: Result<Tensor, Error>?
}
