import BLIP
import BLIPHub
import Foundation
import GRDB

/// Adding images to an index: scan, hash, embed in batches, one transaction per batch.
extension ImageIndex {
    // MARK: - Adding images

    /// Options of `add(paths:embedder:options:progress:)`.
    public struct AddOptions: Sendable {
        /// Images run through the model together and committed in one transaction.
        public var batchSize: Int
        /// Images whose header declares more pixels are reported as failures.
        public var maxPixels: Int
        /// Hash every file even when its size and modification time match the indexed row
        /// (by default such files are taken as unchanged without reading them).
        public var rehash: Bool
        /// Turn photos upright for their EXIF orientation before embedding them (as transformers'
        /// `load_image` does).
        public var applyExifOrientation = true
        /// Called inside each batch's transaction just before it commits, with the batch number (from 1).
        /// For instrumentation and crash tests.
        public var beforeCommit: (@Sendable (Int) -> Void)?

        public init(batchSize: Int = 8, maxPixels: Int = RGBImage.defaultMaxPixels, rehash: Bool = false,
                    beforeCommit: (@Sendable (Int) -> Void)? = nil) {
            self.batchSize = batchSize
            self.maxPixels = maxPixels
            self.rehash = rehash
            self.beforeCommit = beforeCommit
        }
    }

    /// What one `add` did.
    public struct AddSummary: Sendable, Equatable {
        /// Paths indexed for the first time.
        public var added = 0
        /// Paths whose content changed: re-embedded and replaced.
        public var updated = 0
        /// Paths already indexed with the same content.
        public var unchanged = 0
        /// Of `added + updated`, how many copied the embedding of identical content instead of running the model.
        public var reused = 0
        /// Images run through the model.
        public var embedded = 0
        /// Indexed paths whose file now fails to decode: their stale row was removed (also listed in `failures`).
        public var removed = 0
        /// Files (or named paths) that could not be indexed, with the reason.
        public var failures: [IndexFailure] = []
        /// Named paths that do not exist (also in `failures`).
        public var missingPaths: [String] = []
        /// Indexed files under the named folders (or named files) that no longer exist; their rows
        /// stay until `prune`.
        public var vanished: [String] = []
        public var failed: Int { failures.count }

        public init() {}
    }

    /// Reported after every file and every committed batch.
    public struct AddProgress: Sendable {
        /// Files decided so far (skipped, queued or failed) out of `total`.
        public let processed: Int
        public let total: Int
        public let embedded: Int
        public let committedBatches: Int
        /// Seconds since `add` started.
        public let elapsed: Double
    }

    /// What the background stage learns of one file: its size and time and — unless those say
    /// it is unchanged — its bytes' SHA-256 and its decoded image (decoded unless the index
    /// already holds this content for this path).
    private struct PreparedFile: Sendable {
        let path: String
        var stat: (size: Int64, mtime: Int64)?
        var hash: String?
        var readError: String?
        var image: Result<IndexMedia, Error>?
    }

    private static func prepare(_ file: String, stored old: StoredFile?, rehash: Bool, maxPixels: Int,
                                upright: Bool) -> PreparedFile {
        var p = PreparedFile(path: file)
        guard let (size, mtime) = FileScanner.sizeAndModificationTime(file) else { return p }
        p.stat = (size, mtime)
        if let old, !rehash, old.size == size, old.mtime == mtime { return p }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            p.readError = error.localizedDescription
            return p
        }
        let hash = SHA256.hex(data)
        p.hash = hash
        if old?.hash != hash {
            let url = URL(fileURLWithPath: file)
            p.image = VideoFrames.isVideo(url)
                ? Result { .video(try VideoFrames.load(url, frames: IndexMedia.videoFrames, maxPixels: maxPixels)) }
                : Result { .image(try RGBImage(data: data, maxPixels: maxPixels, source: file, applyingExifOrientation: upright)) }
        }
        return p
    }

    private struct StoredFile: Sendable {
        let hash: String
        let size: Int64
        let mtime: Int64
    }

    private struct PendingRow {
        let path: String
        let hash: String
        let size: Int64
        let mtime: Int64
        let width: Int
        let height: Int
        var embedding: [Float]?
        var slot: Int?  // index into the batch's images when the model must run
        let isUpdate: Bool
        var isReuse: Bool
    }

    private struct Batch {
        var rows: [PendingRow] = []
        var images: [IndexMedia] = []
        var touches: [(path: String, size: Int64, mtime: Int64)] = []
        var deletions: [String] = []
        var byHash: [String: Int] = [:]  // content hash → index in rows
        var isEmpty: Bool { rows.isEmpty && touches.isEmpty && deletions.isEmpty }
    }

    /// Indexes the image files under `paths` (files, or folders walked recursively for .jpg, .jpeg, .png and
    /// .webp, hidden entries skipped).
    ///
    /// Unchanged files are skipped (same size and modification time, or else same SHA-256), changed files are
    /// re-embedded and replaced, unreadable or undecodable files are reported in `failures` and skipped. The
    /// model runs on `batchSize` images at a time and each batch is committed in its own transaction.
    /// Errors thrown by the model or the database stop the run; batches committed before stay.
    @discardableResult
    public func add(paths: [String], embedder: any ImageEmbedder, options: AddOptions = AddOptions(),
                    progress: ((AddProgress) -> Void)? = nil) throws -> AddSummary {
        guard options.batchSize > 0 else { throw ImageIndexError.invalidArgument("batch size must be at least 1") }
        try checkModel(embedder, record: true)
        let start = Date()
        let (files, missing) = FileScanner.expand(paths)
        var summary = AddSummary()
        summary.failures = missing.map { IndexFailure(path: $0.path, reason: $0.reason) }
        summary.missingPaths = missing.filter { $0.reason == FileScanner.noSuchPath }.map(\.path)
        summary.vanished = try vanished(under: paths.map(FileScanner.absolutePath))

        var stored: [String: StoredFile] = [:]
        try pool.read { db in
            let rows = try Row.fetchCursor(db, sql: "SELECT path, content_hash, file_size, mtime_ns FROM image")
            while let row = try rows.next() {
                stored[row[0]] = StoredFile(hash: row[1], size: row[2], mtime: row[3])
            }
        }

        var batch = Batch()
        var processed = 0
        var committedBatches = 0
        func report() {
            progress?(AddProgress(processed: processed, total: files.count, embedded: summary.embedded,
                                  committedBatches: committedBatches, elapsed: Date().timeIntervalSince(start)))
        }
        func flush() throws {
            if batch.isEmpty { return }
            // Another process adding to the same index may have committed some of these contents since
            // they were queued: take its embeddings rather than run the model on them again.
            try reuseCommittedEmbeddings(in: &batch, dimension: embedder.imageVectorLength)
            var embeddings: [[Float]] = []
            if !batch.images.isEmpty {
                embeddings = try embedImages(batch.images, embedder: embedder)
            }
            let now = Date().timeIntervalSince1970
            let model = embedder.modelIdentifier
            let batchNumber = committedBatches + 1
            let current = batch
            let alreadyStored = try pool.write { db -> Set<String> in
                var alreadyStored: Set<String> = []
                for row in current.rows {
                    // Written with this content by another process since this one read the index.
                    if try String.fetchOne(
                        db, sql: "SELECT content_hash FROM image WHERE path = ?", arguments: [row.path]) == row.hash {
                        alreadyStored.insert(row.path)
                        continue
                    }
                    let vector = row.embedding ?? embeddings[row.slot!]
                    try db.execute(
                        sql: """
                            INSERT INTO image (path, content_hash, file_size, mtime_ns, width, height, embedding,
                                               model_identifier, added_at)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                            ON CONFLICT(path) DO UPDATE SET
                                content_hash = excluded.content_hash, file_size = excluded.file_size,
                                mtime_ns = excluded.mtime_ns, width = excluded.width, height = excluded.height,
                                embedding = excluded.embedding, model_identifier = excluded.model_identifier,
                                added_at = excluded.added_at
                            """,
                        arguments: [row.path, row.hash, row.size, row.mtime, row.width, row.height,
                                    EmbeddingCoding.blob(vector), model, now])
                }
                for t in current.touches {
                    try db.execute(sql: "UPDATE image SET file_size = ?, mtime_ns = ? WHERE path = ?",
                                   arguments: [t.size, t.mtime, t.path])
                }
                for p in current.deletions {
                    try db.execute(sql: "DELETE FROM image WHERE path = ?", arguments: [p])
                }
                options.beforeCommit?(batchNumber)
                return alreadyStored
            }
            committedBatches += 1
            // Counted only once committed, so the summary never claims work a crash undid.
            for row in current.rows {
                if alreadyStored.contains(row.path) {
                    summary.unchanged += 1
                    continue
                }
                if row.isUpdate { summary.updated += 1 } else { summary.added += 1 }
                if row.isReuse { summary.reused += 1 }
            }
            summary.embedded += current.images.count
            summary.removed += current.deletions.count
            batch = Batch()
            invalidateCache()
            report()
        }

        // Reading, hashing and decoding run on a background thread, a chunk of files ahead of the
        // model and the database (the pipeline `blip capfilt` and `blip caption` use).
        let storedFiles = stored
        let chunks = stride(from: 0, to: files.count, by: options.batchSize).map { $0..<min($0 + options.batchSize, files.count) }
        let (rehash, maxPixels, upright) = (options.rehash, options.maxPixels, options.applyExifOrientation)
        try forEachPrepared(chunks.count, prepare: { c in
            files[chunks[c]].map { Self.prepare($0, stored: storedFiles[$0], rehash: rehash, maxPixels: maxPixels, upright: upright) }
        }, consume: { (_: Int, chunk: [PreparedFile]) in
            for prepared in chunk {
                try consider(prepared)
            }
        })
        func consider(_ prepared: PreparedFile) throws {
            let file = prepared.path
            defer {
                processed += 1
                report()
            }
            guard let (size, mtime) = prepared.stat else {
                summary.failures.append(IndexFailure(path: file, reason: "cannot read the file"))
                return
            }
            let old = stored[file]
            guard let hash = prepared.hash else {
                if let error = prepared.readError {
                    summary.failures.append(IndexFailure(path: file, reason: "cannot read the file: \(error)"))
                } else {
                    summary.unchanged += 1  // same size and modification time
                }
                return
            }
            if let old, old.hash == hash {
                summary.unchanged += 1
                if old.size != size || old.mtime != mtime { batch.touches.append((file, size, mtime)) }
            } else if let i = batch.byHash[hash] {
                // Same content earlier in this batch: share its embedding (or its pending model run).
                let src = batch.rows[i]
                batch.rows.append(PendingRow(path: file, hash: hash, size: size, mtime: mtime, width: src.width,
                                             height: src.height, embedding: src.embedding, slot: src.slot,
                                             isUpdate: old != nil, isReuse: true))
            } else if let (vector, width, height) = try storedEmbedding(hash: hash, dimension: embedder.imageVectorLength) {
                batch.byHash[hash] = batch.rows.count
                batch.rows.append(PendingRow(path: file, hash: hash, size: size, mtime: mtime, width: width,
                                             height: height, embedding: vector, slot: nil,
                                             isUpdate: old != nil, isReuse: true))
            } else {
                let image: IndexMedia
                do {
                    guard let decoded = prepared.image else { return }
                    image = try decoded.get()
                } catch {
                    summary.failures.append(IndexFailure(path: file, reason: Self.reason(error, path: file)))
                    // The indexed content is gone: drop the stale row rather than keep returning it.
                    if old != nil { batch.deletions.append(file) }
                    return
                }
                batch.byHash[hash] = batch.rows.count
                batch.rows.append(PendingRow(path: file, hash: hash, size: size, mtime: mtime, width: image.width,
                                             height: image.height, embedding: nil, slot: batch.images.count,
                                             isUpdate: old != nil, isReuse: false))
                batch.images.append(image)
            }
            if batch.images.count >= options.batchSize || batch.rows.count + batch.touches.count >= 1024 {
                try flush()
            }
        }
        try flush()
        return summary
    }

    /// `add(paths:embedder:options:progress:)` for file URLs.
    @discardableResult
    public func add(paths: [URL], embedder: any ImageEmbedder, options: AddOptions = AddOptions(),
                    progress: ((AddProgress) -> Void)? = nil) throws -> AddSummary {
        try add(paths: paths.map(\.path), embedder: embedder, options: options, progress: progress)
    }

    /// The stored embedding of some row with this content hash, if any.
    private func storedEmbedding(hash: String, dimension: Int) throws -> ([Float], Int, Int)? {
        try pool.read { db in
            guard let row = try Row.fetchOne(
                db, sql: "SELECT embedding, width, height FROM image WHERE content_hash = ? LIMIT 1", arguments: [hash])
            else { return nil }
            let blob: Data = row[0]
            guard blob.count == dimension * 4 else { return nil }
            var v: [Float] = []
            EmbeddingCoding.append(blob, to: &v)
            return (v, row[1], row[2])
        }
    }

    /// Gives the rows of `batch` waiting for the model the embedding stored since for their content hash
    /// (by another process adding to this index), and drops their images from the model run.
    private func reuseCommittedEmbeddings(in batch: inout Batch, dimension: Int) throws {
        var found: [Int: [Float]] = [:]  // image slot → stored embedding
        for row in batch.rows {
            guard let slot = row.slot, found[slot] == nil else { continue }
            if let (vector, _, _) = try storedEmbedding(hash: row.hash, dimension: dimension) { found[slot] = vector }
        }
        if found.isEmpty { return }
        var images: [IndexMedia] = []
        var newSlot: [Int: Int] = [:]
        for (slot, image) in batch.images.enumerated() where found[slot] == nil {
            newSlot[slot] = images.count
            images.append(image)
        }
        for k in batch.rows.indices {
            guard let slot = batch.rows[k].slot else { continue }
            if let vector = found[slot] {
                batch.rows[k].embedding = vector
                batch.rows[k].slot = nil
                batch.rows[k].isReuse = true
            } else {
                batch.rows[k].slot = newSlot[slot]
            }
        }
        batch.images = images
    }

    /// The embeddings of a batch, in order: its images together, each video on its own.
    private func embedImages(_ media: [IndexMedia], embedder: any ImageEmbedder) throws -> [[Float]] {
        let stills = media.compactMap { if case .image(let image) = $0 { return image } else { return nil } }
        var stillVectors = try embedder.embed(images: stills)[...]
        guard stillVectors.count == stills.count else {
            throw ImageIndexError.badEmbeddings(model: embedder.modelIdentifier, detail: "\(stillVectors.count) vectors for \(stills.count) inputs")
        }
        let vectors = try media.map { item -> [Float] in
            switch item {
            case .image: return stillVectors.popFirst()!
            case .video(let frames): return try embedder.embed(videoFrames: frames)
            }
        }
        return try Self.validated(vectors, count: media.count, embedder: embedder, images: true)
    }

    /// `vectors` checked against the embedder's contract (`count` of them, each of the image or
    /// text length, finite) and renormalised vector by vector.
    static func validated(_ vectors: [[Float]], count: Int, embedder: any ImageEmbedder, images: Bool) throws -> [[Float]] {
        guard vectors.count == count else {
            throw ImageIndexError.badEmbeddings(
                model: embedder.modelIdentifier, detail: "\(vectors.count) vectors for \(count) inputs")
        }
        let d = embedder.dimension, length = images ? embedder.imageVectorLength : d
        return try vectors.map { v in
            guard v.count == length else {
                throw ImageIndexError.badEmbeddings(
                    model: embedder.modelIdentifier, detail: "a vector of length \(v.count), expected \(length)")
            }
            guard v.allSatisfy(\.isFinite) else {
                throw ImageIndexError.badEmbeddings(model: embedder.modelIdentifier, detail: "a non-finite value")
            }
            // Cosine similarity is a dot product of unit vectors; renormalising costs nothing and guards drift.
            if length == d { return Ranking.normalized(v) }
            return stride(from: 0, to: length, by: d).flatMap { Ranking.normalized(Array(v[$0..<($0 + d)])) }
        }
    }

    /// The error text without the path (failures carry the path separately).
    static func reason(_ error: Error, path: String) -> String {
        var text = (error as? LocalizedError)?.errorDescription ?? String(describing: error)
        if text.hasPrefix(path + ": ") { text.removeFirst(path.count + 2) }
        return text
    }
}
