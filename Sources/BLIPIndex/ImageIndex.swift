import BLIP
import Foundation
import GRDB

/// A persistent image-text retrieval index: one SQLite file (WAL mode, through GRDB) holding the ITC
/// embedding of every indexed image.
///
/// Schema (migration "v1"):
/// - `index_meta`: a single row (`id = 1`) with `model_identifier`, `dimension` (floats per image:
///   `vectorsPerImage × dimension` of the embedder) and `created_at`. Written by
///   the first `add`; every later `add` or search with a different model or dimension is refused.
/// - `image`: `id`, `path` (absolute, unique), `content_hash` (SHA-256 of the file bytes, hex, indexed),
///   `file_size`, `mtime_ns`, `width`, `height`, `embedding` (Float32 little-endian BLOB, `dimension` values),
///   `model_identifier`, `added_at` (seconds since 1970).
///
/// Crash safety: `add` commits each batch (its rows and nothing else) in one SQLite transaction, so a process
/// killed at any point leaves the committed batches intact and no partial batch (SQLite's atomic commit; WAL
/// recovery on the next open). A row exists only once its embedding is stored, and the next `add` skips
/// exactly the committed files (same path, size and modification time, or same content hash), so re-running
/// completes the job with nothing lost or counted twice.
///
/// Concurrent writers: the schema of a new file is created in one IMMEDIATE transaction (a second process
/// opening the same new file waits for it, then sees the whole schema). Two `add` runs over the same files may
/// embed a batch twice when they race, but each path is inserted once: the second finds it stored (same
/// content) and counts it unchanged; contents the other process committed are reused, not embedded, from the
/// next batch on.
///
/// Identical content at several paths: every path is its own row (search can return both); an embedding
/// already stored for the same content hash is copied instead of running the model again. A moved file is
/// therefore added under its new path without model work; the old path stays until `prune()` removes it.
public final class ImageIndex: @unchecked Sendable {
    /// Absolute path of the SQLite file.
    public let path: String
    let pool: DatabasePool
    private let lock = NSLock()
    private var cachedMatrix: EmbeddingMatrix?

    /// Opens (and, when `create` is true, creates) the index at `path`, applying schema migrations.
    public init(path: String, create: Bool = true) throws {
        let absolute = FileScanner.absolutePath(path)
        self.path = absolute
        if !create && !FileManager.default.fileExists(atPath: absolute) {
            throw ImageIndexError.indexNotFound(absolute)
        }
        var isFolder: ObjCBool = false
        let parent = (absolute as NSString).deletingLastPathComponent
        guard FileManager.default.fileExists(atPath: parent, isDirectory: &isFolder), isFolder.boolValue else {
            throw ImageIndexError.invalidArgument("\(absolute): the folder \(parent) does not exist")
        }
        var config = Configuration()
        config.busyMode = .timeout(30)
        config.label = "BLIPIndex"
        do {
            pool = try Self.openPool(path: absolute, configuration: config)
            try Self.prepareSchema(pool, path: absolute)
            try Self.migrator.migrate(pool)
        } catch let error as DatabaseError {
            throw ImageIndexError.notAnIndex(path: absolute, detail: error.message ?? "\(error)")
        }
    }

    /// Opens the pool, retrying while another process holds the file's lock: switching a new file to
    /// WAL mode (`PRAGMA journal_mode = WAL`, run by `DatabasePool.init`) can fail with SQLITE_BUSY at
    /// once, without waiting for the busy timeout, when two processes open the same new file together.
    private static func openPool(path: String, configuration: Configuration) throws -> DatabasePool {
        let deadline = Date().addingTimeInterval(30)
        var delay = 0.01
        while true {
            do {
                return try DatabasePool(path: path, configuration: configuration)
            } catch let error as DatabaseError
                where (error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED) && Date() < deadline {
                Thread.sleep(forTimeInterval: delay)
                delay = min(delay * 2, 0.25)
            }
        }
    }

    /// Checks the file's schema and, in a new file, creates it, all in one IMMEDIATE transaction: two
    /// processes opening the same new file serialise here (the second waits, up to the busy timeout, then
    /// sees the first one's complete schema), so neither sees the other's half-made schema. (GRDB's migrator
    /// alone creates `grdb_migrations` in a transaction of its own before the first migration's.)
    private static func prepareSchema(_ pool: DatabasePool, path: String) throws {
        try pool.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
                // A new file has no tables; an index has at least these (created in one transaction).
                // Anything else is someone else's database: never add our tables to it.
                if !tables.isEmpty && !Set(["grdb_migrations", "index_meta", "image"]).isSubset(of: tables) {
                    throw ImageIndexError.notAnIndex(path: path, detail: "the database holds other tables")
                }
                if try migrator.hasBeenSuperseded(db) {
                    throw ImageIndexError.notAnIndex(path: path, detail: "written by a newer version of this program")
                }
                if tables.isEmpty {
                    // Exactly what `migrator` would write for "v1" (so later migrations apply on top).
                    try db.execute(sql: "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
                    try db.execute(sql: schemaV1)
                    try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v1')")
                }
                return .commit
            }
        }
    }

    static let schemaV1 = """
        CREATE TABLE index_meta (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            model_identifier TEXT NOT NULL,
            dimension INTEGER NOT NULL CHECK (dimension > 0),
            created_at REAL NOT NULL
        );
        CREATE TABLE image (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            path TEXT NOT NULL UNIQUE,
            content_hash TEXT NOT NULL,
            file_size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            embedding BLOB NOT NULL,
            model_identifier TEXT NOT NULL,
            added_at REAL NOT NULL
        );
        CREATE INDEX image_content_hash ON image(content_hash);
        """

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in try db.execute(sql: schemaV1) }
        return migrator
    }

    // MARK: - Information

    /// What the index holds.
    public struct Info: Sendable, Equatable {
        /// nil until the first image is added.
        public let modelIdentifier: String?
        public let dimension: Int?
        public let imageCount: Int
        public let distinctContents: Int
    }

    public func info() throws -> Info {
        try pool.read { db in
            let meta = try Row.fetchOne(db, sql: "SELECT model_identifier, dimension FROM index_meta WHERE id = 1")
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM image") ?? 0
            let distinct = try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT content_hash) FROM image") ?? 0
            return Info(modelIdentifier: meta?[0], dimension: meta?[1], imageCount: count, distinctContents: distinct)
        }
    }

    /// Every indexed path, in insertion order.
    public func paths() throws -> [String] {
        try pool.read { try String.fetchAll($0, sql: "SELECT path FROM image ORDER BY id") }
    }

    /// Runs `PRAGMA integrity_check`; "ok" when the file is sound.
    public func integrityCheck() throws -> String {
        try pool.read { db in
            try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ")
        }
    }

    /// Why `prune` removed a row.
    public enum PruneReason: String, Sendable, Equatable {
        /// The file no longer exists.
        case gone
        /// The file's size or modification time differs from the indexed one: its embedding is stale.
        case changed
    }

    /// Removes the rows whose file no longer exists, or (with `changed`) no longer has the size and
    /// modification time it was indexed with; only rows under `paths` (files or folders) when given.
    /// Returns the removed paths with the reason, in path order.
    @discardableResult
    public func prune(under paths: [String]? = nil, changed: Bool = true) throws -> [(path: String, reason: PruneReason)] {
        let roots = paths.map { $0.map(FileScanner.absolutePath) }
        let rows = try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT path, file_size, mtime_ns FROM image ORDER BY path")
        }
        var removed: [(path: String, reason: PruneReason)] = []
        for row in rows {
            let path: String = row[0]
            if let roots, !roots.contains(where: { FileScanner.isUnder(path, root: $0) }) { continue }
            guard let now = FileScanner.sizeAndModificationTime(path) else {
                removed.append((path, .gone))
                continue
            }
            if changed, now.size != (row[1] as Int64) || now.mtimeNanoseconds != (row[2] as Int64) {
                removed.append((path, .changed))
            }
        }
        if removed.isEmpty { return [] }
        try pool.write { db in
            for r in removed { try db.execute(sql: "DELETE FROM image WHERE path = ?", arguments: [r.path]) }
        }
        invalidateCache()
        return removed
    }

    /// Indexed paths under `roots` (absolute files or folders) whose file no longer exists.
    func vanished(under roots: [String]) throws -> [String] {
        try paths().filter { path in
            roots.contains { FileScanner.isUnder(path, root: $0) } && !FileManager.default.fileExists(atPath: path)
        }
    }

    /// Checks that `embedder` matches the stored model; with `record`, stores it in an index that has none.
    /// Returns false when the index has no model yet (and `record` is false).
    @discardableResult
    func checkModel(_ embedder: any ImageEmbedder, record: Bool) throws -> Bool {
        let model = embedder.modelIdentifier, dimension = embedder.imageVectorLength
        guard dimension > 0, embedder.dimension > 0 else {
            throw ImageIndexError.badEmbeddings(model: model, detail: "dimension \(dimension)")
        }
        let check = { (db: Database) throws -> Bool in
            if let row = try Row.fetchOne(db, sql: "SELECT model_identifier, dimension FROM index_meta WHERE id = 1") {
                let storedModel: String = row[0], storedDimension: Int = row[1]
                let legacy = embedder.legacyIdentifiers.contains(storedModel)
                guard storedModel == model || legacy, storedDimension == dimension else {
                    throw ImageIndexError.modelMismatch(
                        indexPath: self.path, indexModel: storedModel, indexDimension: storedDimension,
                        model: model, dimension: dimension)
                }
                if legacy, record {  // written by an older version: identify the model by its weights now
                    try db.execute(sql: "UPDATE index_meta SET model_identifier = ? WHERE id = 1", arguments: [model])
                    try db.execute(sql: "UPDATE image SET model_identifier = ? WHERE model_identifier = ?",
                                   arguments: [model, storedModel])
                }
                return true
            }
            return false
        }
        if !record { return try pool.read(check) }
        return try pool.write { db in
            if try check(db) { return true }
            try db.execute(
                sql: "INSERT INTO index_meta (id, model_identifier, dimension, created_at) VALUES (1, ?, ?, ?)",
                arguments: [model, dimension, Date().timeIntervalSince1970])
            return true
        }
    }

    // MARK: - Embedding matrix

    struct EmbeddingMatrix {
        var paths: [String] = []
        var values: [Float] = []
        let dimension: Int
        /// What the table looked like when it was read (another process may add or prune since).
        var version: [Double] = []
        var rows: Int { paths.count }
    }

    /// Throws `modelMismatch` unless `embedder` is the model the index was built with (an empty
    /// index accepts any). A server checks this once at start.
    public func checkCompatible(with embedder: any ImageEmbedder) throws {
        try checkModel(embedder, record: false)
    }

    /// Whether `path` (absolute, as stored) is an indexed image.
    public func contains(path: String) throws -> Bool {
        try pool.read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM image WHERE path = ?", arguments: [path]) ?? false }
    }

    /// Row count, largest id and latest write time: changes whenever any process adds, updates or
    /// removes an image.
    private func tableVersion() throws -> [Double] {
        try pool.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT COUNT(*), COALESCE(MAX(id), 0), COALESCE(MAX(added_at), 0) FROM image")
            return [Double(row?[0] as Int? ?? 0), Double(row?[1] as Int? ?? 0), row?[2] as Double? ?? 0]
        }
    }

    func invalidateCache() {
        lock.lock()
        cachedMatrix = nil
        lock.unlock()
    }

    /// All embeddings in one contiguous row-major buffer, loaded once (and again after the table
    /// changed, by this object or another process).
    func matrix(for embedder: any ImageEmbedder) throws -> EmbeddingMatrix {
        guard try checkModel(embedder, record: false) else { return EmbeddingMatrix(dimension: embedder.imageVectorLength) }
        lock.lock()
        defer { lock.unlock() }
        let version = try tableVersion()
        if let cachedMatrix, cachedMatrix.dimension == embedder.imageVectorLength, cachedMatrix.version == version { return cachedMatrix }
        let dimension = embedder.imageVectorLength
        var matrix = EmbeddingMatrix(dimension: dimension, version: version)
        try pool.read { db in
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM image") ?? 0
            matrix.paths.reserveCapacity(count)
            matrix.values.reserveCapacity(count * dimension)
            let rows = try Row.fetchCursor(db, sql: "SELECT path, embedding FROM image ORDER BY id")
            while let row = try rows.next() {
                let path: String = row[0]
                let blob: Data = row[1]
                guard blob.count == dimension * 4 else {
                    throw ImageIndexError.notAnIndex(
                        path: self.path, detail: "the embedding of \(path) has \(blob.count) bytes, expected \(dimension * 4)")
                }
                matrix.paths.append(path)
                EmbeddingCoding.append(blob, to: &matrix.values)
            }
        }
        cachedMatrix = matrix
        return matrix
    }
}

/// A file that could not be indexed (or re-ranked), and why.
public struct IndexFailure: Sendable, Equatable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { "\(path): \(reason)" }
}

/// Float32 little-endian BLOBs.
enum EmbeddingCoding {
    static func blob(_ v: [Float]) -> Data {
        var data = Data(count: v.count * 4)
        data.withUnsafeMutableBytes { raw in
            for (i, x) in v.enumerated() {
                raw.storeBytes(of: x.bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self)
            }
        }
        return data
    }

    static func append(_ blob: Data, to values: inout [Float]) {
        blob.withUnsafeBytes { raw in
            let n = raw.count / 4
            for i in 0..<n {
                values.append(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))))
            }
        }
    }
}
