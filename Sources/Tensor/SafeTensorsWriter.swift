import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Writer

/// Writes F32 safetensors files.
public enum SafeTensorsWriter {
    /// Writes `tensors` (in the given order, as F32) and optional `__metadata__` to `url`.
    ///
    /// The JSON header is padded with spaces to a multiple of 8 bytes, so every tensor's data
    /// is 8-byte aligned in the file. The file is written to a temporary file in the same
    /// directory and renamed into place, so readers never see a partial file.
    public static func write(_ tensors: [(name: String, tensor: Tensor)], to url: URL,
                             metadata: [String: String]? = nil) throws
    {
        let file = url.path
        var seen = Set<String>()
        var entries: [String] = []
        if let metadata {
            let items = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            entries.append("\"__metadata__\":{\(items.joined(separator: ","))}")
        }
        var offset = 0
        for (name, t) in tensors {
            guard name != "__metadata__" else {
                throw SafeTensorsError.invalidArgument(file: file, reason: "\"__metadata__\" cannot name a tensor")
            }
            guard seen.insert(name).inserted else {
                throw SafeTensorsError.invalidArgument(file: file, reason: "duplicate tensor name \"\(name)\"")
            }
            let bytes = t.count * MemoryLayout<Float>.size
            let shape = t.shape.map(String.init).joined(separator: ",")
            entries.append("\(jsonString(name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }

        let directory = url.deletingLastPathComponent()
        let temp = directory.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        let fd = open(temp.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else {
            throw SafeTensorsError.io(file: file, reason: "cannot create \(temp.path): \(MappedFile.errnoString())")
        }
        var fdOpen = true
        var finished = false
        defer {
            if fdOpen { close(fd) }
            if !finished { unlink(temp.path) }
        }
        func put(_ p: UnsafeRawPointer?, _ count: Int) throws {
            var done = 0
            while done < count {
                let r = posixWrite(fd, p! + done, count - done)
                if r < 0 {
                    if errno == EINTR { continue }
                    throw SafeTensorsError.io(file: file, reason: "write failed: \(MappedFile.errnoString())")
                }
                done += r
            }
        }
        var length = UInt64(header.count).littleEndian
        try withUnsafeBytes(of: &length) { try put($0.baseAddress, 8) }
        try header.withUnsafeBytes { try put($0.baseAddress, header.count) }
        for (_, t) in tensors where t.count > 0 {
            let c = t.contiguous()
            try put(UnsafeRawPointer(c.pointer), c.count * MemoryLayout<Float>.size)
        }
        let synced = fsync(fd) == 0
        fdOpen = false
        guard close(fd) == 0, synced else {
            throw SafeTensorsError.io(file: file, reason: "cannot flush \(temp.path): \(MappedFile.errnoString())")
        }
        guard rename(temp.path, file) == 0 else {
            throw SafeTensorsError.io(file: file, reason: "cannot rename \(temp.path) into place: \(MappedFile.errnoString())")
        }
        finished = true
    }

    /// A JSON string literal for `s`.
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}

@inline(__always)
private func posixWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    write(fd, p, n)
}
