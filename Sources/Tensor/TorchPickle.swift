import Foundation

// A restricted unpickler for what `torch.save` writes: state dicts and nested plain containers
// of tensors. Nothing is ever executed or imported. GLOBAL / STACK_GLOBAL / INST / OBJ resolve
// a name against a fixed allow-list (anything else throws `forbiddenGlobal` on the spot) and
// REDUCE / NEWOBJ / BUILD only apply the handful of allowed callables, implemented here:
//
//     collections.OrderedDict                      → a dict (BUILD state such as `_metadata` ignored)
//     torch._utils._rebuild_tensor_v2 / _rebuild_tensor
//                                                  → a tensor view of a storage
//     torch._utils._rebuild_parameter(_with_state) → its tensor (nn.Parameter)
//     torch.{Float,Half,BFloat16,Double,Long,Int,Short,Char,Byte,Bool}Storage
//                                                  → only as the type in a persistent id
//     _codecs.encode(str, "latin1"), builtins.bytes() / __builtin__.bytes()
//                                                  → bytes (how protocol 2 spells a `bytes` value)
//
// Persistent ids (BINPERSID) must be `('storage', storage_type, key, location, numel)` (zip
// format) or the legacy 6-tuple with a trailing view-metadata `None` or `(key, offset, size)`.
//
// Safety limits: every length is checked against the remaining bytes before anything is
// allocated; the memo is a dictionary (a huge memo index is just a missing key); popping past
// the last MARK is a stack underflow; containers are nested at most `maxDepth` levels; cyclic
// structures are rejected. All intermediate containers are registered and emptied iteratively
// when loading ends, so a hostile, deeply nested pickle cannot overflow the stack on release.
//
// This file holds the decoded values and the limits. The unpickler itself is split by concern:
//
//     TorchUnpickler.swift        the opcode machine (reading arguments, the stack and memo)
//     TorchUnpicklerItems.swift   its intermediate items and containers, dict keys, text escapes
//     TorchPickleGlobals.swift    the allow-list, REDUCE and friends, persistent ids
//     TorchPickleConverter.swift  items → `PickleValue`, with tensor views checked

// MARK: - Values

/// One key/value pair of a pickled dict, in insertion order.
public struct PickleEntry: Sendable, Equatable {
    public let key: PickleValue
    public let value: PickleValue

    public init(key: PickleValue, value: PickleValue) {
        self.key = key
        self.value = value
    }
}

/// A value decoded by the restricted unpickler. Dicts and `OrderedDict`s keep insertion order.
public indirect enum PickleValue: Sendable, Equatable {
    case none
    case bool(Bool)
    case int(Int64)
    /// An integer beyond 64 bits, as little-endian two's-complement bytes (LONG1 / LONG4).
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case list([PickleValue])
    case tuple([PickleValue])
    case dict([PickleEntry])
    case tensor(TorchTensorInfo)
    case storage(TorchStorageInfo)

    /// The value for string key `key` of a dict (the last one if repeated), or nil.
    public subscript(key: String) -> PickleValue? {
        guard case let .dict(entries) = self else { return nil }
        return entries.last(where: { $0.key == .string(key) })?.value
    }

    public var dictEntries: [PickleEntry]? {
        if case let .dict(e) = self { return e }
        return nil
    }

    /// Elements of a list or tuple.
    public var arrayValue: [PickleValue]? {
        switch self {
        case let .list(a), let .tuple(a): return a
        default: return nil
        }
    }

    public var stringValue: String? {
        if case let .string(s) = self { return s }
        return nil
    }

    /// An int (or bool) that fits `Int`.
    public var intValue: Int? {
        switch self {
        case let .int(i): return Int(exactly: i)
        case let .bool(b): return b ? 1 : 0
        default: return nil
        }
    }

    /// A float, int or bool as a Double.
    public var doubleValue: Double? {
        switch self {
        case let .float(d): return d
        case let .int(i): return Double(i)
        case let .bool(b): return b ? 1 : 0
        default: return nil
        }
    }

    public var boolValue: Bool? {
        if case let .bool(b) = self { return b }
        return nil
    }

    public var tensorInfo: TorchTensorInfo? {
        if case let .tensor(t) = self { return t }
        return nil
    }
}

// MARK: - Limits

struct PickleLimits {
    /// Deepest accepted container nesting.
    static let maxDepth = 256
    /// Deepest accepted nesting inside a dict key (tuples of tuples...).
    static let maxKeyDepth = 32
    /// Most dimensions a tensor may have.
    static let maxRank = 64
    /// A tensor with more elements than its storage (stride-0 views) may have at most this many.
    static let maxExpandedElements = 1 << 24
}
