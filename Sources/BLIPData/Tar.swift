import Foundation

/// A tar archive that cannot be read on, with where and why.
public struct TarError: Error, LocalizedError, Equatable, Sendable {
    public var path: String
    /// Byte offset of the header or data that is bad.
    public var offset: UInt64
    public var reason: String

    public var errorDescription: String? { "\(path): bad tar archive at byte \(offset): \(reason)" }
}

/// One regular file of a tar archive.
public struct TarMember: Sendable, Equatable {
    public var name: String
    public var data: Data
}

/// Reads a tar archive as a stream, one member at a time, without extracting anything: ustar,
/// GNU and pax (POSIX.1-2001, Python's `tarfile` default) headers, long names from pax `path`
/// records and GNU `L` entries. Only regular files are returned; directories, links and the
/// like are skipped. A member larger than `maxMemberBytes` is an error (a hostile size field
/// must not allocate gigabytes).
public final class TarReader {
    public let path: String
    public let maxMemberBytes: Int
    private let handle: FileHandle
    private var buffer = Data()
    private var bufferStart = 0
    private var offset: UInt64 = 0
    private var finished = false

    public init(path: String, maxMemberBytes: Int = 256 << 20) throws {
        self.path = path
        self.maxMemberBytes = maxMemberBytes
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw TarError(path: path, offset: 0, reason: "cannot open the file")
        }
        self.handle = handle
    }

    deinit { try? handle.close() }

    /// Exactly `count` bytes, or fewer at the end of the file.
    private func read(_ count: Int) throws -> Data {
        while buffer.count - bufferStart < count {
            let chunk = try handle.read(upToCount: max(1 << 20, count)) ?? Data()
            if chunk.isEmpty { break }
            if bufferStart > 0 {
                buffer.removeSubrange(0..<bufferStart)
                bufferStart = 0
            }
            buffer.append(chunk)
        }
        let n = min(count, buffer.count - bufferStart)
        let out = buffer.subdata(in: (buffer.startIndex + bufferStart)..<(buffer.startIndex + bufferStart + n))
        bufferStart += n
        offset += UInt64(n)
        return out
    }

    private func fail(_ reason: String, at position: UInt64? = nil) -> TarError {
        finished = true
        return TarError(path: path, offset: position ?? offset, reason: reason)
    }

    /// The next regular file, or nil at the end of the archive.
    public func next() throws -> TarMember? {
        var longName: String?
        var paxPath: String?
        while !finished {
            let headerOffset = offset
            let header = try read(512)
            if header.isEmpty { finished = true; return nil }  // no end-of-archive blocks: accepted, as tarfile does
            guard header.count == 512 else { throw fail("the file ends inside a header", at: headerOffset) }
            if header.allSatisfy({ $0 == 0 }) { finished = true; return nil }
            let bytes = [UInt8](header)
            guard Self.checksumMatches(bytes) else { throw fail("header checksum mismatch (not a tar file, or corrupt)", at: headerOffset) }
            guard let size = Self.number(bytes[124..<136]), size >= 0, size <= maxMemberBytes else {
                throw fail("bad or too large member size", at: headerOffset)
            }
            let padded = (size + 511) / 512 * 512
            let dataOffset = offset
            let body = try read(padded)
            guard body.count == padded else { throw fail("the file ends inside a member's data", at: dataOffset) }
            let data = body.prefix(size)
            let type = bytes[156]
            switch type {
            case UInt8(ascii: "L"):  // GNU long name of the next member
                longName = Self.string(data)
            case UInt8(ascii: "x"):  // pax header of the next member
                paxPath = Self.paxRecords(data)["path"]
            case UInt8(ascii: "g"):
                break  // global pax header: nothing we need
            case UInt8(ascii: "0"), 0, UInt8(ascii: "7"):
                let name = paxPath ?? longName ?? Self.ustarName(bytes)
                return TarMember(name: name, data: Data(data))
            default:
                longName = nil  // directories, links, devices: skipped
                paxPath = nil
            }
        }
        return nil
    }

    static func checksumMatches(_ h: [UInt8]) -> Bool {
        guard let stored = number(h[148..<156]) else { return false }
        var unsigned = 0
        var signed = 0
        for (i, b) in h.enumerated() {
            let v = (148..<156).contains(i) ? 32 : Int(b)
            unsigned += v
            signed += (148..<156).contains(i) ? 32 : Int(Int8(bitPattern: b))
        }
        return stored == unsigned || stored == signed
    }

    /// An octal field (NUL/space terminated), or GNU base-256 when the high bit is set.
    static func number(_ field: ArraySlice<UInt8>) -> Int? {
        guard let first = field.first else { return nil }
        if first & 0x80 != 0 {
            var v = Int(first & 0x7f)
            for b in field.dropFirst() {
                guard v < (Int.max >> 8) else { return nil }
                v = v << 8 | Int(b)
            }
            return v
        }
        var v = 0
        var seen = false
        for b in field {
            if b == 0 || b == 32 { if seen { break } else { continue } }
            guard (48...55).contains(b) else { return nil }
            guard v < (Int.max >> 3) else { return nil }
            v = v * 8 + Int(b - 48)
            seen = true
        }
        return v
    }

    static func string(_ bytes: some Collection<UInt8>) -> String {
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    static func ustarName(_ h: [UInt8]) -> String {
        let name = string(h[0..<100])
        let isUstar = h[257..<262].elementsEqual("ustar".utf8)
        let prefix = isUstar ? string(h[345..<500]) : ""
        return prefix.isEmpty ? name : prefix + "/" + name
    }

    /// pax records: "LEN key=value\n" each.
    static func paxRecords(_ data: Data) -> [String: String] {
        var out: [String: String] = [:]
        var rest = Substring(String(decoding: data, as: UTF8.self))
        while let space = rest.firstIndex(of: " "), let length = Int(rest[..<space]), length > 0 {
            let recordEnd = rest.utf8.index(rest.startIndex, offsetBy: length, limitedBy: rest.endIndex) ?? rest.endIndex
            let record = rest[rest.index(after: space)..<recordEnd]
            if let eq = record.firstIndex(of: "=") {
                out[String(record[..<eq])] = String(record[record.index(after: eq)...].dropLast(record.hasSuffix("\n") ? 1 : 0))
            }
            rest = rest[recordEnd...]
        }
        return out
    }
}

/// Writes a tar archive (ustar; a pax header carries names over 100 bytes). Members get mode
/// 0644 and mtime 0, so the same members give the same bytes.
public struct TarWriter {
    public private(set) var data = Data()

    public init() {}

    public mutating func add(name: String, data body: Data) {
        let nameBytes = Array(name.utf8)
        if nameBytes.count > 100 {
            var record = " path=\(name)\n"
            var length = record.utf8.count
            while String(length).utf8.count + record.utf8.count != length { length = String(length).utf8.count + record.utf8.count }
            record = String(length) + record
            appendMember(name: "././@PaxHeader", type: UInt8(ascii: "x"), body: Data(record.utf8))
        }
        appendMember(name: String(decoding: nameBytes.prefix(100), as: UTF8.self), type: UInt8(ascii: "0"), body: body)
    }

    /// The archive with its two end-of-archive blocks.
    public func finished() -> Data {
        data + Self.endOfArchive
    }

    /// The bytes added since the last call (for writing an archive to a file as it grows).
    public mutating func drain() -> Data {
        defer { data = Data() }
        return data
    }

    /// The two zero blocks that end an archive.
    public static let endOfArchive = Data(count: 1024)

    private mutating func appendMember(name: String, type: UInt8, body: Data) {
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ s: String, _ at: Int, _ width: Int) {
            for (i, b) in s.utf8.prefix(width).enumerated() { h[at + i] = b }
        }
        func octal(_ v: Int, _ at: Int, _ width: Int) {
            put(String(repeating: "0", count: max(0, width - 1 - String(v, radix: 8).count)) + String(v, radix: 8), at, width - 1)
        }
        put(name, 0, 100)
        octal(0o644, 100, 8)
        octal(0, 108, 8)
        octal(0, 116, 8)
        octal(body.count, 124, 12)
        octal(0, 136, 12)
        for i in 148..<156 { h[i] = 32 }
        h[156] = type
        put("ustar", 257, 6)
        put("00", 263, 2)
        let sum = h.reduce(0) { $0 + Int($1) }
        octal(sum, 148, 7)  // six digits, then NUL and space, as tar(1) writes it
        h[154] = 0
        h[155] = 32
        data.append(contentsOf: h)
        data.append(body)
        let pad = (512 - body.count % 512) % 512
        if pad > 0 { data.append(Data(count: pad)) }
    }
}
