import Foundation

// The opcode machine of the restricted unpickler (what it accepts and its safety limits are
// described in TorchPickle.swift): argument reading, the stack, MARKs and the memo, and the
// dispatch of every opcode. Items and containers are in TorchUnpicklerItems.swift, the
// allow-listed globals and persistent ids in TorchPickleGlobals.swift, the conversion of the
// result in TorchPickleConverter.swift.

final class Unpickler {
    let bytes: UnsafeRawBufferPointer
    let file: String
    let record: String
    private(set) var pos: Int
    private(set) var opStart = 0
    private var stack: [Item] = []
    private var marks: [Int] = []
    private var memo: [Int: Item] = [:]
    private var boxes: [Box] = []
    /// Root storages by key, as first referenced.
    var storages: [String: PickleStorageRef] = [:]
    /// Keys in first-reference order.
    var storageOrder: [String] = []

    /// An unpickler for the pickle starting at `start` in `bytes`.
    init(bytes: UnsafeRawBufferPointer, start: Int = 0, file: String, record: String) {
        self.bytes = bytes
        self.pos = start
        self.file = file
        self.record = record
    }

    // MARK: Errors

    func invalid(_ reason: String) -> TorchCheckpointError {
        .invalidPickle(file: file, record: record, offset: opStart, reason: reason)
    }

    func limit(_ reason: String) -> TorchCheckpointError {
        .limitExceeded(file: file, record: record, offset: opStart, reason: reason)
    }

    // MARK: Reading

    private func take(_ n: Int, _ what: String) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= bytes.count - pos else {
            throw invalid("truncated: \(what) needs \(n) bytes, \(bytes.count - pos) left")
        }
        defer { pos += n }
        return UnsafeRawBufferPointer(rebasing: bytes[pos..<(pos + n)])
    }

    private func u8() throws -> Int { Int(try take(1, "argument")[0]) }

    private func le<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        let b = try take(MemoryLayout<T>.size, "argument")
        return T(littleEndian: b.loadUnaligned(as: T.self))
    }

    /// A length that must fit the remaining bytes.
    private func length<T: FixedWidthInteger>(_ type: T.Type) throws -> Int {
        let v = try le(type)
        guard v >= 0, UInt64(v) <= UInt64(bytes.count - pos) else {
            throw invalid("truncated: length \(v) runs past the end of the \(bytes.count)-byte pickle")
        }
        return Int(v)
    }

    /// Bytes up to (not including) the next newline, which is consumed.
    private func line() throws -> UnsafeRawBufferPointer {
        var j = pos
        while j < bytes.count, bytes[j] != 0x0A { j += 1 }
        guard j < bytes.count else { throw invalid("truncated: unterminated text argument") }
        defer { pos = j + 1 }
        return UnsafeRawBufferPointer(rebasing: bytes[pos..<j])
    }

    private func text(_ b: UnsafeRawBufferPointer) throws -> String {
        guard let s = String(bytes: b, encoding: .utf8) else { throw invalid("string is not valid UTF-8") }
        return s
    }

    private func decimal(_ b: UnsafeRawBufferPointer) throws -> Int64 {
        var s = String(decoding: b, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        if s.hasSuffix("L") { s.removeLast() }
        guard let v = Int64(s) else { throw invalid("\"\(s.prefix(40))\" is not a 64-bit integer") }
        return v
    }

    /// The argument of GLOBAL and INST: a module and a name on two text lines, resolved
    /// against the allow-list.
    private func globalLine() throws -> Item {
        let module = try text(try line()), name = try text(try line())
        return try resolve(module: module, name: name)
    }

    // MARK: Stack

    private var floor: Int { marks.last ?? 0 }

    private func push(_ item: Item) { stack.append(item) }

    private func pop() throws -> Item {
        guard stack.count > floor else { throw invalid("stack underflow") }
        return stack.removeLast()
    }

    private func top() throws -> Item {
        guard stack.count > floor else { throw invalid("stack underflow") }
        return stack[stack.count - 1]
    }

    private func popMark() throws -> [Item] {
        guard let m = marks.popLast() else { throw invalid("no MARK on the stack") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    /// The items since the last MARK as key/value pairs (DICT, SETITEMS).
    private func popPairs(_ op: String) throws -> [(key: Item, value: Item)] {
        let items = try popMark()
        guard items.count % 2 == 0 else { throw invalid("\(op) needs key/value pairs") }
        return stride(from: 0, to: items.count, by: 2).map { (items[$0], items[$0 + 1]) }
    }

    func newBox(_ kind: Box.Kind, _ items: [Item] = []) -> Item {
        let b = Box(kind, items)
        boxes.append(b)
        return .box(b)
    }

    // MARK: Main loop

    /// Runs the pickle up to STOP and returns the converted result; `pos` is then just past STOP.
    func load() throws -> PickleValue {
        defer { teardown() }
        let result = try run()
        var converter = Converter(unpickler: self)
        return try converter.convert(result)
    }

    /// Empties every container iteratively so releasing them never recurses deeply.
    private func teardown() {
        stack = []
        memo = [:]
        for b in boxes {
            b.items = []
            b.values = []
            b.index = [:]
        }
        boxes = []
    }

    private func run() throws -> Item {
        while true {
            opStart = pos
            guard pos < bytes.count else { throw invalid("truncated: no STOP opcode") }
            let op = bytes[pos]
            pos += 1
            switch op {
            case 0x80:  // PROTO
                let v = try u8()
                guard v <= 5 else { throw invalid("unsupported pickle protocol \(v)") }
            case 0x95:  // FRAME
                _ = try length(UInt64.self)
            case 0x2E:  // STOP
                return try pop()
            case 0x28:  // MARK
                marks.append(stack.count)
            case 0x30:  // POP
                if stack.count > floor { stack.removeLast() } else { _ = try popMark() }
            case 0x31:  // POP_MARK
                _ = try popMark()
            case 0x32:  // DUP
                push(try top())

            // Scalars
            case 0x4E: push(.none)  // NONE
            case 0x88: push(.bool(true))  // NEWTRUE
            case 0x89: push(.bool(false))  // NEWFALSE
            case 0x4A: push(.int(Int64(try le(Int32.self))))  // BININT
            case 0x4B: push(.int(Int64(try u8())))  // BININT1
            case 0x4D: push(.int(Int64(try le(UInt16.self))))  // BININT2
            case 0x49:  // INT
                let l = try line()
                let s = String(decoding: l, as: UTF8.self)
                if s == "00" { push(.bool(false)) } else if s == "01" { push(.bool(true)) } else { push(.int(try decimal(l))) }
            case 0x4C: push(.int(try decimal(try line())))  // LONG
            case 0x8A, 0x8B:  // LONG1, LONG4
                let n = op == 0x8A ? try u8() : try length(Int32.self)
                let b = try take(n, "LONG")
                if n == 0 {
                    push(.int(0))
                } else if n <= 8 {
                    var v: UInt64 = 0
                    for i in 0..<n { v |= UInt64(b[i]) << (8 * UInt64(i)) }
                    if n < 8, b[n - 1] & 0x80 != 0 { v |= ~0 << (8 * UInt64(n)) }  // sign-extend
                    push(.int(Int64(bitPattern: v)))
                } else {
                    push(.bigInt(Array(b)))
                }
            case 0x47:  // BINFLOAT (big-endian)
                push(.float(Double(bitPattern: UInt64(bigEndian: try take(8, "BINFLOAT").loadUnaligned(as: UInt64.self)))))
            case 0x46:  // FLOAT
                let s = String(decoding: try line(), as: UTF8.self)
                guard let d = Double(s) else { throw invalid("\"\(s.prefix(40))\" is not a float") }
                push(.float(d))

            // Strings and bytes
            case 0x58: push(.string(try text(try take(try length(UInt32.self), "BINUNICODE"))))
            case 0x8C: push(.string(try text(try take(try u8(), "SHORT_BINUNICODE"))))
            case 0x8D: push(.string(try text(try take(try length(UInt64.self), "BINUNICODE8"))))
            case 0x56: push(.string(try rawUnicodeEscape(try line())))  // UNICODE
            case 0x42: push(.bytes(Array(try take(try length(UInt32.self), "BINBYTES"))))
            case 0x43: push(.bytes(Array(try take(try u8(), "SHORT_BINBYTES"))))
            case 0x8E, 0x96: push(.bytes(Array(try take(try length(UInt64.self), "BINBYTES8"))))  // + BYTEARRAY8
            case 0x54: push(byteString(try take(try length(Int32.self), "BINSTRING")))
            case 0x55: push(byteString(try take(try u8(), "SHORT_BINSTRING")))
            case 0x53:  // STRING
                let raw = try unescapeString(try line())
                push(raw.withUnsafeBytes { byteString($0) })

            // Containers
            case 0x5D: push(newBox(.list))  // EMPTY_LIST
            case 0x7D: push(newBox(.dict))  // EMPTY_DICT
            case 0x29: push(newBox(.tuple))  // EMPTY_TUPLE
            case 0x85, 0x86, 0x87:  // TUPLE1..3
                let n = Int(op - 0x84)
                guard stack.count - floor >= n else { throw invalid("stack underflow") }
                let items = Array(stack.suffix(n))
                stack.removeLast(n)
                push(newBox(.tuple, items))
            case 0x74: push(newBox(.tuple, try popMark()))  // TUPLE
            case 0x6C: push(newBox(.list, try popMark()))  // LIST
            case 0x64:  // DICT
                let pairs = try popPairs("DICT")
                let d = newBox(.dict)
                let b = try dictBox(d, "DICT")
                for p in pairs { try setItem(b, p.key, p.value) }
                push(d)
            case 0x61:  // APPEND
                let v = try pop()
                try listBox(try top(), "APPEND").items.append(v)
            case 0x65:  // APPENDS
                let items = try popMark()
                try listBox(try top(), "APPENDS").items.append(contentsOf: items)
            case 0x73:  // SETITEM
                let v = try pop(), k = try pop()
                try setItem(try dictBox(try top(), "SETITEM"), k, v)
            case 0x75:  // SETITEMS
                let pairs = try popPairs("SETITEMS")
                let d = try dictBox(try top(), "SETITEMS")
                for p in pairs { try setItem(d, p.key, p.value) }

            // Memo
            case 0x70, 0x71, 0x72, 0x94:  // PUT, BINPUT, LONG_BINPUT, MEMOIZE
                let key: Int
                switch op {
                case 0x70:
                    let v = try decimal(try line())
                    guard v >= 0, let k = Int(exactly: v) else { throw invalid("negative memo key") }
                    key = k
                case 0x71: key = try u8()
                case 0x72: key = Int(try le(UInt32.self))
                default: key = memo.count
                }
                memo[key] = try top()
            case 0x67, 0x68, 0x6A:  // GET, BINGET, LONG_BINGET
                let key: Int64
                switch op {
                case 0x67: key = try decimal(try line())
                case 0x68: key = Int64(try u8())
                default: key = Int64(try le(UInt32.self))
                }
                guard let k = Int(exactly: key), let v = memo[k] else { throw invalid("memo key \(key) is not defined") }
                push(v)

            // Globals and calls (allow-listed only)
            case 0x63: push(try globalLine())  // GLOBAL
            case 0x93:  // STACK_GLOBAL
                let n = try pop(), m = try pop()
                guard case let .string(name) = n, case let .string(module) = m else {
                    throw invalid("STACK_GLOBAL needs two strings")
                }
                push(try resolve(module: module, name: name))
            case 0x69:  // INST
                let g = try globalLine()
                push(try call(g, try popMark()))
            case 0x6F:  // OBJ
                let items = try popMark()
                guard let cls = items.first else { throw invalid("OBJ needs a class") }
                push(try call(cls, Array(items.dropFirst())))
            case 0x52:  // REDUCE
                let args = try pop(), callable = try pop()
                guard case let .box(t) = args, t.kind == .tuple else { throw invalid("REDUCE arguments must be a tuple") }
                push(try call(callable, t.items))
            case 0x81, 0x92:  // NEWOBJ, NEWOBJ_EX
                if op == 0x92 {
                    let kwargs = try pop()
                    guard case let .box(k) = kwargs, k.kind == .dict, k.items.isEmpty else {
                        throw invalid("NEWOBJ_EX keyword arguments are not supported")
                    }
                }
                let args = try pop(), cls = try pop()
                guard case let .box(t) = args, t.kind == .tuple else { throw invalid("NEWOBJ arguments must be a tuple") }
                guard case .global(.orderedDict, _) = cls else {
                    if case let .global(_, name) = cls { throw invalid("NEWOBJ of \(name) is not supported") }
                    throw invalid("NEWOBJ on something that is not a class")
                }
                push(try call(cls, t.items))
            case 0x62:  // BUILD
                let state = try pop()
                let target = try top()
                guard case let .box(b) = target, b.kind == .dict else {
                    throw invalid("BUILD is only accepted on an OrderedDict (its _metadata)")
                }
                switch state {
                case .none: break
                case let .box(s) where s.kind == .dict || s.kind == .tuple: break  // attributes: ignored
                default: throw invalid("BUILD state must be a dict")
                }

            // Persistent ids
            case 0x51: push(try persistentLoad(try pop()))  // BINPERSID
            case 0x50:  // PERSID (a string id: never a storage tuple)
                _ = try line()
                throw invalid("text persistent ids (PERSID) are not PyTorch storages")

            default:
                let names: [UInt8: String] = [
                    0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x8F: "EMPTY_SET", 0x90: "ADDITEMS",
                    0x91: "FROZENSET", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
                ]
                throw TorchCheckpointError.unsupportedOpcode(
                    file: file, record: record, offset: opStart, opcode: op, name: names[op])
            }
        }
    }
}
