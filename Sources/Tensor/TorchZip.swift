import Foundation

// A minimal, bounds-checked reader for the zip container PyTorch writes (`torch.save` since
// 1.6): every entry STORED (uncompressed), so an entry's bytes are a plain range of the file
// and storages can be zero-copy views into the mapping. Only the central directory and the
// local headers are read; compressed or encrypted entries, multi-disk archives and
// inconsistent offsets are rejected. ZIP64 (archives or entries past 4 GB) is supported
// through the ZIP64 end-of-central-directory record and the ZIP64 extra field.
//
// Written from the PKWARE APPNOTE description. CRC-32s are not verified (that would mean
// reading every byte of multi-GB checkpoints at open).

/// One entry of a stored zip archive: its name and the byte range of its data in the file.
struct ZipEntry: Sendable, Equatable {
    let name: String
    /// Offset of the entry's data from the start of the file.
    let dataOffset: Int
    /// Bytes of data (compressed size == uncompressed size: entries are stored).
    let size: Int

    var range: Range<Int> { dataOffset..<(dataOffset + size) }
}

/// Little-endian reads with bounds checks over a byte buffer.
struct ZipBytes {
    let bytes: UnsafeRawBufferPointer
    let fail: (String) -> TorchCheckpointError

    func check(_ offset: Int, _ count: Int, _ what: String) throws {
        guard offset >= 0, count >= 0, offset <= bytes.count, count <= bytes.count - offset else {
            throw fail("\(what) at offset \(offset) (\(count) bytes) runs past the end of the \(bytes.count)-byte file")
        }
    }

    func u16(_ offset: Int, _ what: String) throws -> Int {
        try check(offset, 2, what)
        return Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    func u32(_ offset: Int, _ what: String) throws -> UInt32 {
        try check(offset, 4, what)
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    /// A 64-bit value that must fit an `Int` (offsets and sizes).
    func u64(_ offset: Int, _ what: String) throws -> Int {
        try check(offset, 8, what)
        let v = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        guard v <= UInt64(Int.max) else { throw fail("\(what) \(v) is too large") }
        return Int(v)
    }
}

enum ZipReader {
    static let localHeaderSignature: UInt32 = 0x0403_4B50
    static let centralHeaderSignature: UInt32 = 0x0201_4B50
    static let endSignature: UInt32 = 0x0605_4B50
    static let zip64EndSignature: UInt32 = 0x0606_4B50
    static let zip64LocatorSignature: UInt32 = 0x0706_4B50

    /// Whether `bytes` starts like a zip archive (a local file header), as `torch.load` checks.
    static func looksLikeZip(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 4 && UInt32(littleEndian: bytes.loadUnaligned(as: UInt32.self)) == localHeaderSignature
    }

    /// The archive's entries in central-directory order. Every offset and size is checked
    /// against the file; duplicate names, compressed or encrypted entries throw.
    static func entries(_ bytes: UnsafeRawBufferPointer, file: String) throws -> [ZipEntry] {
        let invalid = { (reason: String) in TorchCheckpointError.invalidArchive(file: file, reason: reason) }
        let unsupported = { (reason: String) in TorchCheckpointError.unsupportedArchive(file: file, reason: reason) }
        let r = ZipBytes(bytes: bytes, fail: invalid)
        let n = bytes.count

        // End of central directory: 22 bytes + a comment of at most 65535 bytes, at the end.
        guard n >= 22 else { throw invalid("file is \(n) bytes, too short for a zip end-of-central-directory record") }
        var eocd = -1
        var p = n - 22
        let lowest = max(0, n - 22 - 0xFFFF)
        while p >= lowest {
            if try r.u32(p, "end record") == endSignature, try p + 22 + r.u16(p + 20, "comment length") <= n {
                eocd = p
                break
            }
            p -= 1
        }
        guard eocd >= 0 else { throw invalid("no end-of-central-directory record (truncated or not a zip file)") }

        let disk = try r.u16(eocd + 4, "disk number"), cdDisk = try r.u16(eocd + 6, "central directory disk")
        var diskEntries = try r.u16(eocd + 8, "entry count")
        var count = try r.u16(eocd + 10, "entry count")
        var cdSize = Int(try r.u32(eocd + 12, "central directory size"))
        var cdOffset = Int(try r.u32(eocd + 16, "central directory offset"))
        var directoryEnd = eocd  // the central directory must end before this

        // ZIP64: a locator 20 bytes before the end record points at the ZIP64 end record.
        if eocd >= 20, try r.u32(eocd - 20, "ZIP64 locator") == zip64LocatorSignature {
            let locator = eocd - 20
            let z64Disk = try r.u32(locator + 4, "ZIP64 end record disk")
            let z64 = try r.u64(locator + 8, "ZIP64 end record offset")
            let disks = try r.u32(locator + 16, "ZIP64 disk count")
            guard z64Disk == 0, disks <= 1 else { throw unsupported("multi-disk (split) zip archives are not supported") }
            guard z64 <= locator - 56 else {
                throw invalid("ZIP64 end record offset \(z64) does not leave room before the locator at \(locator)")
            }
            guard try r.u32(z64, "ZIP64 end record") == zip64EndSignature else {
                throw invalid("no ZIP64 end record at offset \(z64)")
            }
            guard try r.u32(z64 + 16, "ZIP64 disk") == 0, try r.u32(z64 + 20, "ZIP64 central directory disk") == 0 else {
                throw unsupported("multi-disk (split) zip archives are not supported")
            }
            diskEntries = try r.u64(z64 + 24, "ZIP64 entry count")
            count = try r.u64(z64 + 32, "ZIP64 entry count")
            cdSize = try r.u64(z64 + 40, "ZIP64 central directory size")
            cdOffset = try r.u64(z64 + 48, "ZIP64 central directory offset")
            directoryEnd = z64
        } else if disk != 0 || cdDisk != 0 {
            throw unsupported("multi-disk (split) zip archives are not supported")
        }
        guard diskEntries == count else { throw unsupported("multi-disk (split) zip archives are not supported") }
        guard cdOffset <= directoryEnd, cdSize <= directoryEnd - cdOffset else {
            throw invalid("central directory [\(cdOffset), +\(cdSize)) lies outside the file's \(directoryEnd) bytes before its end record")
        }
        guard count <= cdSize / 46 else {
            throw invalid("\(count) entries cannot fit a \(cdSize)-byte central directory")
        }

        var entries: [ZipEntry] = []
        entries.reserveCapacity(count)
        var seen = Set<String>()
        let cdEnd = cdOffset + cdSize
        var q = cdOffset
        for index in 0..<count {
            let what = "central directory entry \(index)"
            guard q <= cdEnd - 46 else { throw invalid("\(what) at offset \(q) runs past the central directory") }
            guard try r.u32(q, what) == centralHeaderSignature else {
                throw invalid("\(what) at offset \(q) has a bad signature")
            }
            let flags = try r.u16(q + 8, what), method = try r.u16(q + 10, what)
            var compressed = Int(try r.u32(q + 20, what)), uncompressed = Int(try r.u32(q + 24, what))
            let nameLength = try r.u16(q + 28, what), extraLength = try r.u16(q + 30, what)
            let commentLength = try r.u16(q + 32, what)
            var startDisk = try r.u16(q + 34, what)
            var localOffset = Int(try r.u32(q + 42, what))
            let variable = nameLength + extraLength + commentLength
            guard variable <= cdEnd - q - 46 else { throw invalid("\(what) at offset \(q) runs past the central directory") }
            let nameBytes = UnsafeRawBufferPointer(rebasing: bytes[(q + 46)..<(q + 46 + nameLength)])
            let name = String(decoding: nameBytes, as: UTF8.self)

            // ZIP64 extended information: the 64-bit values, in this order, of whichever 32-bit
            // fields are saturated.
            let extraStart = q + 46 + nameLength
            var e = extraStart
            while e + 4 <= extraStart + extraLength {
                let id = try r.u16(e, what), size = try r.u16(e + 2, what)
                guard size <= extraStart + extraLength - e - 4 else {
                    throw invalid("\(what) (\"\(name)\"): extra field runs past its end")
                }
                if id == 0x0001 {
                    var f = e + 4
                    let fieldEnd = f + size
                    func next(_ label: String) throws -> Int {
                        guard f + 8 <= fieldEnd else { throw invalid("\(what) (\"\(name)\"): ZIP64 extra field lacks the \(label)") }
                        defer { f += 8 }
                        return try r.u64(f, "ZIP64 \(label)")
                    }
                    if uncompressed == 0xFFFF_FFFF { uncompressed = try next("uncompressed size") }
                    if compressed == 0xFFFF_FFFF { compressed = try next("compressed size") }
                    if localOffset == 0xFFFF_FFFF { localOffset = try next("local header offset") }
                    if startDisk == 0xFFFF {
                        guard f + 4 <= fieldEnd else { throw invalid("\(what) (\"\(name)\"): ZIP64 extra field lacks the disk number") }
                        startDisk = Int(try r.u32(f, "ZIP64 disk number"))
                    }
                }
                e += 4 + size
            }
            guard startDisk == 0 else { throw unsupported("entry \"\(name)\" is on disk \(startDisk) (split archives are not supported)") }
            guard flags & 0x1 == 0, flags & 0x40 == 0 else {
                throw unsupported("entry \"\(name)\" is encrypted")
            }
            guard method == 0 else {
                throw unsupported("entry \"\(name)\" is compressed (method \(method)); PyTorch checkpoints store entries uncompressed")
            }
            guard compressed == uncompressed else {
                throw invalid("stored entry \"\(name)\" has compressed size \(compressed) != uncompressed size \(uncompressed)")
            }
            guard seen.insert(name).inserted else { throw invalid("duplicate entry \"\(name)\"") }

            // Local header: the data follows its (own) name and extra field, which PyTorch uses
            // to pad the data to a 64-byte boundary.
            let local = localOffset
            guard cdOffset >= 30, local <= cdOffset - 30 else {
                throw invalid("entry \"\(name)\": local header offset \(local) is not before the central directory at \(cdOffset)")
            }
            guard try r.u32(local, "local header of \"\(name)\"") == localHeaderSignature else {
                throw invalid("entry \"\(name)\": no local header at offset \(local)")
            }
            let localMethod = try r.u16(local + 8, "local header of \"\(name)\"")
            let localName = try r.u16(local + 26, "local header of \"\(name)\"")
            let localExtra = try r.u16(local + 28, "local header of \"\(name)\"")
            guard localMethod == method else {
                throw invalid("entry \"\(name)\": local header method \(localMethod) differs from the central directory's \(method)")
            }
            guard localName == nameLength,
                  local + 30 + localName <= n,
                  nameLength == 0 || memcmp(bytes.baseAddress! + local + 30, nameBytes.baseAddress!, nameLength) == 0
            else { throw invalid("entry \"\(name)\": local header name differs from the central directory's") }
            let dataOffset = local + 30 + localName + localExtra
            guard dataOffset <= cdOffset, uncompressed <= cdOffset - dataOffset else {
                throw invalid("entry \"\(name)\": data [\(dataOffset), +\(uncompressed)) overlaps the central directory at \(cdOffset) or the end of the file")
            }
            entries.append(ZipEntry(name: name, dataOffset: dataOffset, size: uncompressed))
            q += 46 + variable
        }
        return entries
    }
}
