import Foundation

// The unpickler's intermediate objects: the items on its stack and in its memo, the mutable
// containers they point to (registered so that teardown can empty them iteratively) and
// Python's dict-key equality; and the decoding of Python 2 string arguments (STRING's
// escapes, UNICODE's raw-unicode-escape, byte strings that may be text).

extension Unpickler {
    final class Box {
        enum Kind { case list, tuple, dict }
        let kind: Kind
        var items: [Item]
        /// Dict values (parallel to `items`, the keys).
        var values: [Item] = []
        /// Position of each hashable key in `items`.
        var index: [KeyID: Int] = [:]

        init(_ kind: Kind, _ items: [Item] = []) {
            self.kind = kind
            self.items = items
        }
    }

    enum Item {
        case none, bool(Bool), int(Int64), bigInt([UInt8]), float(Double), string(String), bytes([UInt8])
        case box(Box)
        case global(Global, String)
        case storage(PickleStorageRef)
        case tensor(TensorRef)
    }

    /// Python equality classes of dict keys (1 == 1.0 == True).
    enum KeyID: Hashable {
        case none, int(Int64), float(UInt64), string(String), bytes([UInt8]), bigInt([UInt8])
        indirect case tuple([KeyID])
    }

    // MARK: Dicts and lists

    private func keyID(_ item: Item, depth: Int = 0) throws -> KeyID? {
        switch item {
        case .none: return KeyID.none
        case let .bool(b): return .int(b ? 1 : 0)
        case let .int(i): return .int(i)
        case let .float(d):
            if d.isNaN { return nil }  // never equal to anything: always a new key
            if let i = Int64(exactly: d) { return .int(i) }
            return .float(d.bitPattern)
        case let .string(s): return .string(s)
        case let .bytes(b): return .bytes(b)
        case let .bigInt(b): return .bigInt(b)
        case let .box(b) where b.kind == .tuple:
            guard depth < PickleLimits.maxKeyDepth else { throw limit("dict key nested deeper than \(PickleLimits.maxKeyDepth) levels") }
            var parts: [KeyID] = []
            for e in b.items {
                guard let k = try keyID(e, depth: depth + 1) else { return nil }
                parts.append(k)
            }
            return .tuple(parts)
        case .box: throw invalid("unhashable dict key (a list or dict)")
        case .global, .storage, .tensor: return nil  // hashable by identity in Python: never merged here
        }
    }

    func setItem(_ dict: Box, _ key: Item, _ value: Item) throws {
        if let id = try keyID(key) {
            if let i = dict.index[id] {
                dict.values[i] = value
                return
            }
            dict.index[id] = dict.items.count
        }
        dict.items.append(key)
        dict.values.append(value)
    }

    func dictBox(_ item: Item, _ op: String) throws -> Box {
        guard case let .box(b) = item, b.kind == .dict else { throw invalid("\(op) on something that is not a dict") }
        return b
    }

    func listBox(_ item: Item, _ op: String) throws -> Box {
        guard case let .box(b) = item, b.kind == .list else { throw invalid("\(op) on something that is not a list") }
        return b
    }

    // MARK: Text escapes

    /// Python 2 `repr` string body (the STRING opcode): backslash escapes.
    func unescapeString(_ b: UnsafeRawBufferPointer) throws -> [UInt8] {
        guard b.count >= 2, b[0] == b[b.count - 1], b[0] == 0x22 || b[0] == 0x27 else {
            throw invalid("STRING argument is not a quoted string")
        }
        var out: [UInt8] = []
        var i = 1
        let end = b.count - 1
        while i < end {
            let c = b[i]
            i += 1
            guard c == 0x5C, i < end else { out.append(c); continue }
            let e = b[i]
            i += 1
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "a"): out.append(0x07)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "v"): out.append(0x0B)
            case UInt8(ascii: "x"):
                guard i + 2 <= end, let v = Unpickler.hex(b, i..<(i + 2)) else {
                    throw invalid("bad \\x escape in STRING")
                }
                out.append(UInt8(v))
                i += 2
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var v = Int(e - 0x30), k = 0
                while k < 2, i < end, (0x30...0x37).contains(b[i]) { v = v * 8 + Int(b[i] - 0x30); i += 1; k += 1 }
                out.append(UInt8(v & 0xFF))
            case 0x0A: break
            default: out.append(e)  // \\, \', \" and unknown escapes keep the character
            }
        }
        return out
    }

    /// `raw-unicode-escape` (the UNICODE opcode): latin-1 bytes plus \uXXXX and \UXXXXXXXX.
    func rawUnicodeEscape(_ b: UnsafeRawBufferPointer) throws -> String {
        var s = String.UnicodeScalarView()
        var i = 0
        while i < b.count {
            if b[i] == 0x5C, i + 1 < b.count, b[i + 1] == UInt8(ascii: "u") || b[i + 1] == UInt8(ascii: "U") {
                let digits = b[i + 1] == UInt8(ascii: "u") ? 4 : 8
                guard i + 2 + digits <= b.count,
                      let v = Unpickler.hex(b, (i + 2)..<(i + 2 + digits)),
                      let u = Unicode.Scalar(v)
                else { throw invalid("bad \\u escape in UNICODE") }
                s.append(u)
                i += 2 + digits
            } else {
                s.append(Unicode.Scalar(b[i]))
                i += 1
            }
        }
        return String(s)
    }

    /// The value of the hex digits `b[range]` (at most 8 of them), or nil.
    private static func hex(_ b: UnsafeRawBufferPointer, _ range: Range<Int>) -> UInt32? {
        UInt32(String(decoding: UnsafeRawBufferPointer(rebasing: b[range]), as: UTF8.self), radix: 16)
    }

    /// Python 2 byte strings: a string when they are UTF-8, else bytes.
    func byteString(_ b: UnsafeRawBufferPointer) -> Item {
        if let s = String(bytes: b, encoding: .utf8) { return .string(s) }
        return .bytes(Array(b))
    }
}
