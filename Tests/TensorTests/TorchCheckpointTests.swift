import Foundation
import XCTest
@testable import Tensor

/// Checkpoints written by `torch.save` (scripts/make_pth_fixtures.py) and hand-made hostile files.
let pthFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures/pth")

/// `Fixtures/pth/expected.json`.
struct PthExpectations: Decodable {
    struct TensorExpectation: Decodable {
        let dtype: String
        let shape: [Int]
        let strides: [Int]
        let storageOffset: Int
        let storageGroup: Int
        let f32bits: [UInt32]?
        let halfBits: [UInt16]?
        let int64: [Int64]?
    }

    struct Valid: Decodable {
        let format: String
        let prefix: String?
        let stateDictPath: [String]
        let names: [String]
        let tensors: [String: TensorExpectation]
        let torchLoads: Bool
    }

    struct Hostile: Decodable {
        let file: String
        let error: String
        let mentions: [String]
        let note: String
        let torchWeightsOnly: String
    }

    let valid: [String: Valid]
    let hostile: [Hostile]

    static func load() throws -> PthExpectations {
        let data = try Data(contentsOf: pthFixtures.appendingPathComponent("expected.json"))
        return try JSONDecoder().decode(PthExpectations.self, from: data)
    }
}

/// The case name of an error, to compare with expected.json.
func caseName(_ error: TorchCheckpointError) -> String {
    switch error {
    case .io: return "io"
    case .notACheckpoint: return "notACheckpoint"
    case .invalidArchive: return "invalidArchive"
    case .unsupportedArchive: return "unsupportedArchive"
    case .invalidPickle: return "invalidPickle"
    case .unsupportedOpcode: return "unsupportedOpcode"
    case .forbiddenGlobal: return "forbiddenGlobal"
    case .limitExceeded: return "limitExceeded"
    case .invalidStorage: return "invalidStorage"
    case .invalidTensor: return "invalidTensor"
    case .tensorNotFound: return "tensorNotFound"
    case .unsupportedDType: return "unsupportedDType"
    case .noStateDict: return "noStateDict"
    }
}

/// Every NaN as one pattern: torch widens the half NaN 0x7E00 to 0x7FFFFFFF, the CKernels
/// conversion (payload-preserving) to 0x7FC00000; the half bits themselves are compared exactly.
func canonicalNaN(_ bits: UInt32) -> UInt32 { Float(bitPattern: bits).isNaN ? 0x7FC0_0000 : bits }

/// A stored zip archive (32-bit records), for hand-made checkpoints.
func storedZip(_ entries: [(String, [UInt8])], align: Int = 64) -> [UInt8] {
    func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
    func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
    var out: [UInt8] = [], central: [UInt8] = []
    for (name, data) in entries {
        let nb = Array(name.utf8), offset = out.count
        var pad = (align - (offset + 30 + nb.count) % align) % align
        if pad > 0, pad < 4 { pad += align }
        let extra: [UInt8] = pad == 0 ? [] : [0x46, 0x42] + le16(pad - 4) + [UInt8](repeating: 0x5A, count: pad - 4)
        out += le32(0x0403_4B50) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(0)
        out += le32(data.count) + le32(data.count) + le16(nb.count) + le16(extra.count) + nb + extra + data
        central += le32(0x0201_4B50) + le16(20) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(0)
        central += le32(data.count) + le32(data.count) + le16(nb.count) + le16(0) + le16(0) + le16(0) + le16(0)
        central += le32(0) + le32(offset) + nb
    }
    let cdOffset = out.count
    out += central
    out += le32(0x0605_4B50) + le16(0) + le16(0) + le16(entries.count) + le16(entries.count)
    out += le32(central.count) + le32(cdOffset) + le16(0)
    return out
}

/// A checkpoint archive around a hand-made pickle (and storages `data/<key>`).
func checkpointZip(_ pickle: [UInt8], storages: [String: [UInt8]] = [:], prefix: String = "archive/") -> [UInt8] {
    var entries: [(String, [UInt8])] = [(prefix + "data.pkl", pickle), (prefix + "byteorder", Array("little".utf8))]
    for key in storages.keys.sorted() { entries.append((prefix + "data/" + key, storages[key]!)) }
    entries.append((prefix + "version", Array("3\n".utf8)))
    return storedZip(entries)
}

/// Pickle opcodes as bytes (`X` + u32 length + UTF-8).
func binunicode(_ s: String) -> [UInt8] {
    let b = Array(s.utf8)
    return [0x58] + (0..<4).map { UInt8((b.count >> (8 * $0)) & 0xFF) } + b
}

final class TorchCheckpointTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("TorchCheckpointTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    private func write(_ bytes: [UInt8], _ name: String = "t.pth") throws -> URL {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    /// Asserts that `body` throws a TorchCheckpointError of case `expected` mentioning `needles`.
    private func assertThrows<T>(_ expected: String, _ needles: [String] = [], file: StaticString = #filePath,
                                 line: UInt = #line, _ body: () throws -> T) {
        do {
            _ = try body()
            XCTFail("expected \(expected) mentioning \(needles)", file: file, line: line)
        } catch let error as TorchCheckpointError {
            XCTAssertEqual(caseName(error), expected, "\(error)", file: file, line: line)
            for needle in needles where !error.description.contains(needle) {
                XCTFail("error \"\(error)\" does not mention \"\(needle)\"", file: file, line: line)
            }
        } catch {
            XCTFail("unexpected error type: \(error)", file: file, line: line)
        }
    }

    // MARK: Parity with torch.save fixtures

    func testValidFixturesMatchTorch() throws {
        let expectations = try PthExpectations.load()
        XCTAssertGreaterThanOrEqual(expectations.valid.count, 12)
        for (fileName, exp) in expectations.valid.sorted(by: { $0.key < $1.key }) {
            let ckpt = try TorchCheckpointFile(url: pthFixtures.appendingPathComponent(fileName))
            switch ckpt.format {
            case let .zip(prefix):
                XCTAssertEqual(exp.format, "zip", fileName)
                XCTAssertEqual(prefix, exp.prefix, fileName)
            case .legacy:
                XCTAssertEqual(exp.format, "legacy", fileName)
            }
            XCTAssertEqual(ckpt.stateDictPath, exp.stateDictPath, fileName)
            XCTAssertEqual(ckpt.names, exp.names, fileName)
            var keyOfGroup: [Int: String] = [:], groupOfKey: [String: Int] = [:]
            for name in exp.names {
                let want = exp.tensors[name]!
                let where_ = "\(fileName): \(name)"
                let info = try XCTUnwrap(ckpt.info(name), where_)
                XCTAssertEqual(info.name, name)
                XCTAssertEqual(info.dtype.rawValue, want.dtype, where_)
                XCTAssertEqual(info.shape, want.shape, where_)
                XCTAssertEqual(info.strides, want.strides, where_)
                XCTAssertEqual(info.storageOffset, want.storageOffset, where_)
                XCTAssertEqual(info.location, "cpu", where_)
                // Shared storages: same storage in torch <=> same storage key here.
                if let k = keyOfGroup[want.storageGroup] { XCTAssertEqual(info.storageKey, k, where_) }
                if let g = groupOfKey[info.storageKey] { XCTAssertEqual(g, want.storageGroup, where_) }
                keyOfGroup[want.storageGroup] = info.storageKey
                groupOfKey[info.storageKey] = want.storageGroup

                if let bits = want.f32bits {
                    let t = try ckpt.tensor(name)
                    XCTAssertEqual(t.shape, want.shape, where_)
                    XCTAssertTrue(t.isContiguous, where_)
                    XCTAssertEqual(t.scalars.map(\.bitPattern).map(canonicalNaN), bits.map(canonicalNaN), where_)
                    XCTAssertThrowsError(try ckpt.int64Values(name), where_)
                    let raw = try ckpt.rawBytes(name)
                    XCTAssertEqual(raw == nil, !info.isContiguous, where_)
                    if let raw { XCTAssertEqual(raw.count, info.byteCount, where_) }
                    if info.dtype == .f32, info.isContiguous, info.elementCount > 0, raw.map({ Int(bitPattern: $0.baseAddress!) % 4 == 0 }) == true {
                        XCTAssertTrue(ckpt.isMapped(t), "\(where_): aligned contiguous F32 should be zero-copy")
                    }
                } else {
                    assertThrows("unsupportedDType", [name]) { try ckpt.tensor(name) }
                }
                if let half = want.halfBits {
                    XCTAssertEqual(ckpt.halfBits(name), half, where_)
                    if info.shape.count == 2 {
                        let m = try XCTUnwrap(info.dtype == .bf16 ? ckpt.bf16Matrix(name) : ckpt.f16Matrix(name), where_)
                        XCTAssertEqual(m.toFloat().scalars.map(\.bitPattern).map(canonicalNaN), want.f32bits?.map(canonicalNaN), where_)
                        XCTAssertNil(info.dtype == .bf16 ? ckpt.f16Matrix(name) : ckpt.bf16Matrix(name), where_)
                    }
                } else {
                    XCTAssertNil(ckpt.halfBits(name), where_)
                }
                if let ints = want.int64 {
                    XCTAssertEqual(try ckpt.int64Values(name), ints, where_)
                }
            }
        }
    }

    func testPlainStateDict() throws {
        let ckpt = try TorchCheckpointFile(url: pthFixtures.appendingPathComponent("plain.pth"))
        // A module's own buffers come before its children's parameters.
        XCTAssertEqual(ckpt.names, ["position_ids", "scale", "empty", "proj.weight", "proj.bias", "norm.weight", "norm.bias"])
        XCTAssertEqual(ckpt.info("scale")?.shape, [])
        XCTAssertEqual(try ckpt.tensor("scale").scalars, [0.125])
        XCTAssertEqual(try ckpt.int64Values("position_ids"), [0, 1, 2, 3, 4])
        XCTAssertEqual(ckpt.info("position_ids")?.dtype, .i64)
        XCTAssertEqual(try ckpt.tensor("empty").shape, [0, 3])
        XCTAssertTrue(ckpt.isMapped(try ckpt.tensor("proj.weight")))
        assertThrows("tensorNotFound", ["nope", "plain.pth"]) { try ckpt.tensor("nope") }
        // The tensor outlives the file object (the mapping is kept alive by its storage).
        var t: Tensor?
        do { t = try TorchCheckpointFile(url: pthFixtures.appendingPathComponent("plain.pth")).tensor("proj.bias") }
        XCTAssertEqual(t?.count, 4)
        XCTAssertEqual(t?.scalars, try ckpt.tensor("proj.bias").scalars)
    }

    func testNestedCheckpointKeepsConfig() throws {
        let ckpt = try TorchCheckpointFile(url: pthFixtures.appendingPathComponent("nested.pth"))
        XCTAssertEqual(ckpt.stateDictPath, ["model"])
        XCTAssertEqual(ckpt.root["epoch"], .int(3))
        let config = try XCTUnwrap(ckpt.root["config"])
        XCTAssertEqual(config["hidden"]?.intValue, 4)
        XCTAssertEqual(config["lr"], .float(0.001))
        XCTAssertEqual(config["name"]?.stringValue, "tiny")
        XCTAssertEqual(config["layers"], .list([.int(1), .int(2), .int(3)]))
        XCTAssertEqual(config["flag"], .bool(true))
        XCTAssertEqual(config["nothing"], PickleValue.none)
        XCTAssertEqual(config["blob"], .bytes([0, 1, 255]))
        XCTAssertEqual(config["pair"], .tuple([.int(1), .string("a")]))
        XCTAssertEqual(config["big"], .bigInt([0, 0, 0, 0, 0, 0, 0, 0, 0x40]))  // 2**70
        XCTAssertEqual(config["neg"], .int(-5))
        XCTAssertEqual(config["unicode"], .string("caf\u{e9} \u{2603}"))
        // Tensors in the tree carry their path from the root.
        XCTAssertEqual(ckpt.root["model"]?["proj.weight"]?.tensorInfo?.name, "model.proj.weight")
        XCTAssertEqual(ckpt.info("proj.weight")?.name, "proj.weight")

        // Explicit state dict choice; the root (every tensor, dotted paths).
        let whole = try TorchCheckpointFile(url: pthFixtures.appendingPathComponent("nested.pth"), stateDictPath: [])
        XCTAssertEqual(whole.names.first, "model.position_ids")
        XCTAssertEqual(whole.names.count, ckpt.names.count)
        assertThrows("noStateDict", ["\"optimizer\""]) {
            try TorchCheckpointFile(url: pthFixtures.appendingPathComponent("nested.pth"), stateDictPath: ["optimizer"])
        }
        assertThrows("noStateDict", ["not a dict"]) {
            try TorchCheckpointFile(url: pthFixtures.appendingPathComponent("nested.pth"), stateDictPath: ["epoch"])
        }
    }

    func testSharedStoragesAndViews() throws {
        let ckpt = try TorchCheckpointFile(url: pthFixtures.appendingPathComponent("shared.pth"))
        let a = try XCTUnwrap(ckpt.info("embed.weight")), b = try XCTUnwrap(ckpt.info("head.weight"))
        let s = try XCTUnwrap(ckpt.info("slice")), t = try XCTUnwrap(ckpt.info("transposed"))
        XCTAssertEqual(a.storageKey, b.storageKey)
        XCTAssertEqual(a.storageKey, s.storageKey)
        XCTAssertEqual(s.storageOffset, 4)
        XCTAssertEqual(t.strides, [1, 4])
        XCTAssertFalse(t.isContiguous)
        let base = try ckpt.tensor("embed.weight"), tt = try ckpt.tensor("transposed")
        XCTAssertTrue(ckpt.isMapped(base))
        XCTAssertFalse(ckpt.isMapped(tt))
        XCTAssertEqual(tt.scalars, base.transposed(0, 1).scalars)
        XCTAssertEqual(try ckpt.tensor("slice").scalars, Array(base.scalars[4...]))
        XCTAssertEqual(try ckpt.tensor("column").scalars, [-3.5, 0.5, 4.5])
        XCTAssertEqual(try ckpt.tensor("expanded").scalars, [0, 1, 2, 0, 1, 2])
        XCTAssertNil(try ckpt.rawBytes("transposed"))
    }

    func testLegacyFormat() throws {
        let ckpt = try TorchCheckpointFile(url: pthFixtures.appendingPathComponent("legacy.pth"))
        XCTAssertEqual(ckpt.format, .legacy)
        XCTAssertEqual(ckpt.info("weight")?.storageKey, ckpt.info("tail")?.storageKey)
        XCTAssertEqual(try ckpt.tensor("tail").scalars, [2.5, 3.5, 4.5, 5.5])
        XCTAssertEqual(try ckpt.tensor("scalar").scalars, [-3.25])
        XCTAssertEqual(try ckpt.tensor("half").scalars, [1, -0.5, 2])
        XCTAssertEqual(try ckpt.int64Values("ids"), [0, 1, 2, 3])
    }

    func testPrefixes() throws {
        for (file, prefix) in [("tiny.model.v2.pth", "tiny.model.v2/"), ("archive_prefix.pth", "archive/"),
                               ("deep_prefix.pth", "outer/inner/"), ("zip64.pth", "zip64/")] {
            XCTAssertEqual(try TorchCheckpointFile(url: pthFixtures.appendingPathComponent(file)).format, .zip(prefix: prefix))
        }
        // No prefix at all.
        let url = try write(checkpointZip([0x80, 0x02, 0x7D, 0x2E], prefix: ""))
        XCTAssertEqual(try TorchCheckpointFile(url: url).format, .zip(prefix: ""))
    }

    func testConcurrentReads() throws {
        let ckpt = try TorchCheckpointFile(url: pthFixtures.appendingPathComponent("half.pth"))
        let reference = try ckpt.names.map { try ckpt.tensor($0).scalars.map(\.bitPattern) }
        final class Failures: @unchecked Sendable {
            let lock = NSLock()
            var count = 0
        }
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 64) { i in
            let name = ckpt.names[i % ckpt.names.count]
            if (try? ckpt.tensor(name).scalars.map(\.bitPattern)) != reference[i % ckpt.names.count] {
                failures.lock.lock()
                failures.count += 1
                failures.lock.unlock()
            }
        }
        XCTAssertEqual(failures.count, 0)
    }

    // MARK: Hostile files

    private func removePwned() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: "/tmp").filter { $0.hasPrefix("pwned-pth") }
    }

    func testHostileFixturesThrowAndExecuteNothing() throws {
        for leftover in try removePwned() { try? FileManager.default.removeItem(atPath: "/tmp/" + leftover) }
        let expectations = try PthExpectations.load()
        XCTAssertGreaterThanOrEqual(expectations.hostile.count, 40)
        for h in expectations.hostile {
            let url = pthFixtures.appendingPathComponent(h.file)
            assertThrows(h.error, [h.file] + h.mentions) { try TorchCheckpointFile(url: url) }
        }
        XCTAssertEqual(try removePwned(), [], "a payload ran")
    }

    func testForbiddenGlobalNamesTheGlobal() throws {
        let url = pthFixtures.appendingPathComponent("evil_os_system.pth")
        do {
            _ = try TorchCheckpointFile(url: url)
            XCTFail("loaded")
        } catch let e as TorchCheckpointError {
            guard case let .forbiddenGlobal(file, record, offset, global) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(file, url.path)
            XCTAssertEqual(record, "evil_os_system/data.pkl")
            XCTAssertEqual(offset, 2)
            XCTAssertEqual(global, "os.system")
        }
    }

    // MARK: Unpickler details (hand-made pickles)

    private func root(_ pickle: [UInt8], storages: [String: [UInt8]] = [:]) throws -> PickleValue {
        try TorchCheckpointFile(url: try write(checkpointZip(pickle, storages: storages)), stateDictPath: []).root
    }

    func testProtocol0Opcodes() throws {
        // MARK DICT PUT, STRING with an escape, PUT, INT, SETITEM, FLOAT, UNICODE with \u, LONG,
        // GET, MARK LIST PUT, INT 01/00 (bools), APPEND, NONE: the value of "a\n" is replaced in place.
        let p0 = Array("(dp0\nS'a\\n'\np1\nI3\nsS'b'\nF1.5\nsVx\\u00e9\nL-7L\nsg1\n(lp2\nI01\naI00\naNas.".utf8)
        XCTAssertEqual(try root(p0), .dict([
            PickleEntry(key: .string("a\n"), value: .list([.bool(true), .bool(false), .none])),
            PickleEntry(key: .string("b"), value: .float(1.5)),
            PickleEntry(key: .string("x\u{e9}"), value: .int(-7)),
        ]))
    }

    func testProtocol4And5Opcodes() throws {
        var body: [UInt8] = [0x7D, 0x94]  // EMPTY_DICT MEMOIZE
        body += [0x8C, 0x01, UInt8(ascii: "k"), 0x94]  // SHORT_BINUNICODE "k" MEMOIZE
        body += [0x8E] + [3, 0, 0, 0, 0, 0, 0, 0] + [1, 2, 3]  // BINBYTES8
        body += [0x73]  // SETITEM
        body += [0x8C, 0x01, UInt8(ascii: "m"), 0x96] + [1, 0, 0, 0, 0, 0, 0, 0] + [9, 0x73]  // BYTEARRAY8
        body += [0x8C, 0x01, UInt8(ascii: "e"), 0x63] + Array("__builtin__\nbytes\n".utf8) + [0x29, 0x52, 0x73]
        body += [0x8C, 0x01, UInt8(ascii: "n"), 0x8A, 0x02, 0x00, 0x80, 0x73]  // LONG1 -32768
        var pickle: [UInt8] = [0x80, 0x04, 0x95] + (0..<8).map { UInt8((body.count + 1) >> (8 * $0) & 0xFF) }
        pickle += body + [0x2E]
        XCTAssertEqual(try root(pickle), .dict([
            PickleEntry(key: .string("k"), value: .bytes([1, 2, 3])),
            PickleEntry(key: .string("m"), value: .bytes([9])),
            PickleEntry(key: .string("e"), value: .bytes([])),
            PickleEntry(key: .string("n"), value: .int(-32768)),
        ]))
        // d["g"] = d (BINGET 0): a self-reference is rejected.
        let cyclic: [UInt8] = [0x80, 0x04] + body + [0x8C, 0x01, UInt8(ascii: "g"), 0x68, 0x00, 0x73, 0x2E]
        assertThrows("invalidPickle", ["recursive"]) { try self.root(cyclic) }
        // A frame longer than the pickle.
        assertThrows("invalidPickle", ["truncated"]) { try self.root([0x80, 0x04, 0x95, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0x4E, 0x2E]) }
    }

    func testDictKeysFollowPythonEquality() throws {
        // {1: "a", True: "b", 1.0: "c", "x": None, "x": 2} → {1: "c", "x": 2} in first-insertion order.
        var p: [UInt8] = [0x80, 0x02, 0x7D, 0x28]
        p += [0x4B, 1] + binunicode("a") + [0x88] + binunicode("b")
        p += [0x47, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0] + binunicode("c")
        p += binunicode("x") + [0x4E] + binunicode("x") + [0x4B, 2] + [0x75, 0x2E]
        XCTAssertEqual(try root(p), .dict([PickleEntry(key: .int(1), value: .string("c")),
                                           PickleEntry(key: .string("x"), value: .int(2))]))
        // Lists as keys are unhashable in Python too.
        assertThrows("invalidPickle", ["unhashable"]) { try self.root([0x80, 0x02, 0x7D, 0x5D, 0x4E, 0x73, 0x2E]) }
    }

    func testStorageViewsAndParameters() throws {
        let storage = (0..<6).flatMap { withUnsafeBytes(of: Float($0).bitPattern.littleEndian) { Array($0) } }
        func tensor(offset: UInt8, size: [UInt8], stride: [UInt8], parameter: Bool = false) -> [UInt8] {
            var p: [UInt8] = []
            if parameter { p += [0x63] + Array("torch._utils\n_rebuild_parameter\n".utf8) }
            p += [0x63] + Array("torch._utils\n_rebuild_tensor_v2\n".utf8) + [0x28, 0x28]
            p += binunicode("storage") + [0x63] + Array("torch\nFloatStorage\n".utf8)
            p += binunicode("0") + binunicode("cpu") + [0x4B, 6, 0x74, 0x51]
            p += [0x4B, offset, 0x28] + size.flatMap { [0x4B, $0] } + [0x74, 0x28] + stride.flatMap { [0x4B, $0] } + [0x74]
            p += [0x89, 0x63] + Array("collections\nOrderedDict\n".utf8) + [0x29, 0x52, 0x74, 0x52]
            if parameter { p += [0x88, 0x63] + Array("collections\nOrderedDict\n".utf8) + [0x29, 0x52, 0x87, 0x52] }
            return p
        }
        var p: [UInt8] = [0x80, 0x02, 0x7D, 0x28]
        p += binunicode("p") + tensor(offset: 1, size: [2, 2], stride: [1, 2], parameter: true)
        p += binunicode("zero_d") + tensor(offset: 5, size: [], stride: [])
        p += binunicode("list") + [0x28] + tensor(offset: 0, size: [3], stride: [2]) + [0x6C]
        p += [0x75, 0x2E]
        let ckpt = try TorchCheckpointFile(url: try write(checkpointZip(p, storages: ["0": storage])))
        XCTAssertEqual(ckpt.names, ["p", "zero_d", "list.0"])
        XCTAssertEqual(try ckpt.tensor("p").scalars, [1, 3, 2, 4])
        XCTAssertEqual(try ckpt.tensor("zero_d").scalars, [5])
        XCTAssertEqual(try ckpt.tensor("list.0").scalars, [0, 2, 4])
    }

    func testFormatErrors() throws {
        assertThrows("notACheckpoint", ["empty"]) { try TorchCheckpointFile(url: try self.write([])) }
        assertThrows("io", ["cannot open"]) { try TorchCheckpointFile(url: self.dir.appendingPathComponent("missing.pth")) }
        assertThrows("io", ["not a regular file"]) { try TorchCheckpointFile(url: self.dir) }
        // Protocol 6 does not exist.
        assertThrows("invalidPickle", ["protocol 6"]) { try self.root([0x80, 0x06, 0x4E, 0x2E]) }
        // A persistent id that is not a storage tuple.
        assertThrows("invalidPickle", ["persistent id"]) { try self.root([0x80, 0x02, 0x4E, 0x51, 0x2E]) }
        // Calling a storage type.
        assertThrows("invalidPickle", ["persistent id"]) {
            try self.root([0x80, 0x02, 0x63] + Array("torch\nFloatStorage\n".utf8) + [0x29, 0x52, 0x2E])
        }
        // A global left as a value.
        assertThrows("invalidPickle", ["not a value"]) {
            try self.root([0x80, 0x02, 0x63] + Array("collections\nOrderedDict\n".utf8) + [0x2E])
        }
    }
}
