import Foundation

extension Unpickler {
    /// Builds the public value tree: each container converted once (shared references stay
    /// shared), cycles and over-deep nesting rejected, every tensor's view checked against
    /// its storage.
    struct Converter {
        let unpickler: Unpickler
        var done: [ObjectIdentifier: PickleValue] = [:]
        var active: Set<ObjectIdentifier> = []
        var path: [String] = []

        init(unpickler: Unpickler) { self.unpickler = unpickler }

        var pathName: String { path.joined(separator: ".") }

        /// A leaf's value, or a container's if already converted; nil for a container to descend into.
        private mutating func immediate(_ item: Item) throws -> PickleValue? {
            switch item {
            case .none: return PickleValue.none
            case let .bool(b): return .bool(b)
            case let .int(i): return .int(i)
            case let .bigInt(b): return .bigInt(b)
            case let .float(d): return .float(d)
            case let .string(s): return .string(s)
            case let .bytes(b): return .bytes(b)
            case let .global(_, name):
                throw unpickler.invalid("the global \(name) is not a value")
            case let .storage(s):
                return .storage(TorchStorageInfo(key: s.key, dtype: s.dtype, numel: s.count, location: s.location))
            case let .tensor(t):
                return .tensor(try Converter.validate(t, name: pathName, file: unpickler.file))
            case let .box(b):
                return done[ObjectIdentifier(b)]
            }
        }

        /// A container being converted: its children so far (dicts: key, value, key, value...).
        private struct Frame {
            let box: Box
            var values: [PickleValue] = []
            var childCount: Int { box.kind == .dict ? 2 * box.items.count : box.items.count }
            func child(_ j: Int) -> Item { box.kind == .dict ? (j % 2 == 0 ? box.items[j / 2] : box.values[j / 2]) : box.items[j] }
        }

        /// Converts `item` without recursion (an explicit stack of at most `maxDepth` frames).
        mutating func convert(_ item: Item) throws -> PickleValue {
            if let v = try immediate(item) { return v }
            guard case let .box(rootBox) = item else { preconditionFailure("only containers are deferred") }
            var frames = [Frame(box: rootBox)]
            active.insert(ObjectIdentifier(rootBox))
            while !frames.isEmpty {
                let f = frames.count - 1
                let j = frames[f].values.count
                if j < frames[f].childCount {
                    // Path component of the child: its index, or its (converted) dict key.
                    switch frames[f].box.kind {
                    case .list, .tuple: path.append(String(j))
                    case .dict:
                        if j % 2 == 0 {
                            path.append("<key>")
                        } else {
                            switch frames[f].values[j - 1] {
                            case let .string(s): path.append(s)
                            case let .int(i): path.append(String(i))
                            default: path.append("<key>")
                            }
                        }
                    }
                    let child = frames[f].child(j)
                    if let v = try immediate(child) {
                        frames[f].values.append(v)
                        path.removeLast()
                        continue
                    }
                    guard case let .box(b) = child else { preconditionFailure("only containers are deferred") }
                    guard frames.count < PickleLimits.maxDepth else {
                        throw unpickler.limit("containers nested deeper than \(PickleLimits.maxDepth) levels")
                    }
                    guard active.insert(ObjectIdentifier(b)).inserted else {
                        throw unpickler.invalid("recursive (self-containing) structure")
                    }
                    frames.append(Frame(box: b))
                } else {
                    let frame = frames.removeLast()
                    let v: PickleValue
                    switch frame.box.kind {
                    case .list: v = .list(frame.values)
                    case .tuple: v = .tuple(frame.values)
                    case .dict:
                        v = .dict(stride(from: 0, to: frame.values.count, by: 2).map {
                            PickleEntry(key: frame.values[$0], value: frame.values[$0 + 1])
                        })
                    }
                    let id = ObjectIdentifier(frame.box)
                    done[id] = v
                    active.remove(id)
                    if frames.isEmpty { return v }
                    frames[frames.count - 1].values.append(v)
                    path.removeLast()
                }
            }
            preconditionFailure("unreachable")
        }

        /// Checks a tensor view against its storage view: shape and strides non-negative and of one
        /// rank, and every addressed element inside the storage.
        static func validate(_ t: TensorRef, name: String, file: String) throws -> TorchTensorInfo {
            func fail(_ reason: String) -> TorchCheckpointError {
                .invalidTensor(file: file, tensor: name.isEmpty ? "<root>" : name, reason: reason)
            }
            let s = t.storage
            guard t.shape.count == t.strides.count else {
                throw fail("size \(t.shape) and stride \(t.strides) have different ranks")
            }
            guard t.shape.allSatisfy({ $0 >= 0 }), t.strides.allSatisfy({ $0 >= 0 }), t.offset >= 0 else {
                throw fail("negative size, stride or storage offset (size \(t.shape), stride \(t.strides), offset \(t.offset))")
            }
            var count = 1
            for d in t.shape {
                let (p, o) = count.multipliedReportingOverflow(by: d)
                guard !o else { throw fail("size \(t.shape) overflows") }
                count = p
            }
            if count > 0 {
                var last = t.offset
                for (d, st) in zip(t.shape, t.strides) {
                    let (p, o1) = (d - 1).multipliedReportingOverflow(by: st)
                    let (q, o2) = last.addingReportingOverflow(p)
                    guard !o1, !o2 else { throw fail("size \(t.shape) × stride \(t.strides) overflows") }
                    last = q
                }
                guard last < s.count else {
                    throw fail("view (offset \(t.offset), size \(t.shape), stride \(t.strides)) reads element \(last) of storage \"\(s.key)\", which has \(s.count)")
                }
                guard count <= max(s.count, PickleLimits.maxExpandedElements) else {
                    throw fail("\(count) elements from a \(s.count)-element storage (stride-0 views are limited to \(PickleLimits.maxExpandedElements) elements)")
                }
            } else {
                guard t.offset <= s.count else {
                    throw fail("storage offset \(t.offset) is past the \(s.count)-element storage \"\(s.key)\"")
                }
            }
            return TorchTensorInfo(name: name, dtype: s.dtype, shape: t.shape, strides: t.strides,
                                   storageOffset: s.base + t.offset, storageKey: s.key, storageNumel: s.numel,
                                   location: s.location)
        }
    }
}
