import Foundation

// Parsing the two container formats described in TorchCheckpoint.swift: the archive or the
// chained legacy pickles are validated, the object is unpickled, and every storage it
// references is located in the file and checked against the bytes present.

extension TorchCheckpointFile {
    /// A parsed container: its format, the unpickled object and the byte offset in the file of
    /// each storage's first element.
    typealias Parsed = (format: Format, root: PickleValue, storageOffsets: [String: Int])

    // MARK: Zip

    static func parseZip(_ bytes: UnsafeRawBufferPointer, file: String) throws -> Parsed {
        let entries = try ZipReader.entries(bytes, file: file)
        var byName: [String: ZipEntry] = [:]
        for e in entries { byName[e.name] = e }

        // The pickle: `data.pkl` under the shallowest prefix (the first such in the directory).
        func depth(_ e: ZipEntry) -> Int { e.name.split(separator: "/", omittingEmptySubsequences: false).count }
        var best: ZipEntry?
        for e in entries where e.name == "data.pkl" || e.name.hasSuffix("/data.pkl") {
            if best == nil || depth(e) < depth(best!) { best = e }
        }
        guard let pickle = best else {
            throw TorchCheckpointError.invalidArchive(file: file, reason: "no data.pkl entry (a zip file, but not a PyTorch checkpoint)")
        }
        let prefix = String(pickle.name.dropLast("data.pkl".count))

        if let order = byName[prefix + "byteorder"] {
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[order.range]), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            switch text {
            case "little": break
            case "big":
                throw TorchCheckpointError.unsupportedArchive(file: file, reason: "the checkpoint is big-endian (byteorder \"big\")")
            default:
                throw TorchCheckpointError.invalidArchive(file: file, reason: "byteorder entry is \"\(text.prefix(20))\", not \"little\" or \"big\"")
            }
        }

        let record = pickle.name
        let unpickler = Unpickler(bytes: UnsafeRawBufferPointer(rebasing: bytes[pickle.range]), file: file, record: record)
        let root = try unpickler.load()

        var offsets: [String: Int] = [:]
        for key in unpickler.storageOrder {
            let s = unpickler.storages[key]!
            let name = prefix + "data/" + key
            guard let entry = byName[name] else {
                throw TorchCheckpointError.invalidStorage(file: file, storage: key, reason: "no entry \"\(name)\" in the archive")
            }
            let needed = s.numel * s.dtype.byteSize
            guard needed <= entry.size else {
                throw TorchCheckpointError.invalidStorage(
                    file: file, storage: key,
                    reason: "\(s.numel) × \(s.dtype.rawValue) needs \(needed) bytes but entry \"\(name)\" has \(entry.size)")
            }
            offsets[key] = entry.dataOffset
        }
        return (.zip(prefix: prefix), root, offsets)
    }

    // MARK: Legacy

    /// 0x1950a86a20f9469cfc6c as LONG1 bytes (little-endian).
    private static let legacyMagic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    static func parseLegacy(_ bytes: UnsafeRawBufferPointer, file: String) throws -> Parsed {
        func next(_ record: String, from start: Int) throws -> (PickleValue, Unpickler) {
            let u = Unpickler(bytes: bytes, start: start, file: file, record: record)
            return (try u.load(), u)
        }
        let (magic, u1) = try next("legacy magic number", from: 0)
        guard magic == .bigInt(legacyMagic) else {
            throw TorchCheckpointError.notACheckpoint(file: file, reason: "a pickle, but without the PyTorch magic number (corrupt file?)")
        }
        let (version, u2) = try next("legacy protocol version", from: u1.pos)
        guard version == .int(1001) else {
            throw TorchCheckpointError.unsupportedArchive(file: file, reason: "legacy protocol version \(version), expected 1001")
        }
        let (sysInfo, u3) = try next("legacy sys info", from: u2.pos)
        if sysInfo["little_endian"] == .bool(false) {
            throw TorchCheckpointError.unsupportedArchive(file: file, reason: "the checkpoint is big-endian (little_endian False)")
        }
        let (root, main) = try next("main pickle", from: u3.pos)
        let (keyList, u5) = try next("storage key list", from: main.pos)
        guard let keyValues = keyList.arrayValue else {
            throw TorchCheckpointError.invalidPickle(file: file, record: "storage key list", offset: main.pos, reason: "not a list")
        }

        var offsets: [String: Int] = [:]
        var pos = u5.pos
        for k in keyValues {
            guard let key = k.stringValue ?? k.intValue.map({ String($0) }) else {
                throw TorchCheckpointError.invalidPickle(file: file, record: "storage key list", offset: main.pos, reason: "storage keys must be strings")
            }
            guard let s = main.storages[key] else {
                throw TorchCheckpointError.invalidStorage(file: file, storage: key, reason: "listed in the storage keys but never referenced")
            }
            guard offsets[key] == nil else {
                throw TorchCheckpointError.invalidStorage(file: file, storage: key, reason: "listed twice in the storage keys")
            }
            guard pos <= bytes.count - 8 else {
                throw TorchCheckpointError.invalidStorage(file: file, storage: key, reason: "truncated: no element count at byte \(pos)")
            }
            let numel = Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: pos, as: Int64.self))
            guard numel == Int64(s.numel) else {
                throw TorchCheckpointError.invalidStorage(
                    file: file, storage: key, reason: "the data holds \(numel) elements, the pickle says \(s.numel)")
            }
            let size = s.numel * s.dtype.byteSize
            guard size <= bytes.count - pos - 8 else {
                throw TorchCheckpointError.invalidStorage(
                    file: file, storage: key, reason: "truncated: \(size) bytes of data at byte \(pos + 8) run past the end of the \(bytes.count)-byte file")
            }
            offsets[key] = pos + 8
            pos += 8 + size
        }
        for key in main.storageOrder where offsets[key] == nil {
            throw TorchCheckpointError.invalidStorage(file: file, storage: key, reason: "referenced by a tensor but missing from the storage key list")
        }
        return (.legacy, root, offsets)
    }
}
