import Foundation
import XCTest
@testable import Tensor

/// Tests for the safetensors reader/writer. All files are built at test time in a temporary
/// directory, byte by byte, so no fixtures and no Python are needed.
final class SafeTensorsTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("SafeTensorsTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    // MARK: Helpers

    /// Little-endian bytes of `v`.
    private func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
        withUnsafeBytes(of: v.littleEndian) { Array($0) }
    }

    private func f32Bytes(_ values: [Float]) -> [UInt8] { values.flatMap { le($0.bitPattern) } }
    private func u16Bytes(_ values: [UInt16]) -> [UInt8] { values.flatMap { le($0) } }

    /// A safetensors file: 8-byte LE length, JSON header (space-padded to 8 bytes when `pad`), data.
    private func fileBytes(header: String, data: [UInt8], pad: Bool = true) -> [UInt8] {
        var h = Array(header.utf8)
        if pad { while h.count % 8 != 0 { h.append(0x20) } }
        return le(UInt64(h.count)) + h + data
    }

    @discardableResult
    private func write(_ bytes: [UInt8], _ name: String = "t.safetensors", in directory: URL? = nil) throws -> URL {
        let url = (directory ?? dir).appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    /// Asserts that `body` throws a SafeTensorsError whose message contains every string in `needles`.
    private func assertThrows<T>(_ needles: [String], file: StaticString = #filePath, line: UInt = #line,
                                 _ body: () throws -> T) {
        do {
            _ = try body()
            XCTFail("expected an error mentioning \(needles)", file: file, line: line)
        } catch let error as SafeTensorsError {
            let message = error.description
            for needle in needles where !message.contains(needle) {
                XCTFail("error \"\(message)\" does not mention \"\(needle)\"", file: file, line: line)
            }
        } catch {
            XCTFail("unexpected error type: \(error)", file: file, line: line)
        }
    }

    /// Writes a file with `header`/`data` and asserts opening it fails naming the file (and `mentions`).
    private func assertCorrupt(header: String, data: [UInt8] = [], pad: Bool = true, mentions: [String] = [],
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let url = try write(fileBytes(header: header, data: data, pad: pad))
        assertThrows([url.path] + mentions, file: file, line: line) { try SafeTensorsFile(url: url) }
    }

    // MARK: Round trip and layout

    func testRoundTripThroughWriter() throws {
        let a = Tensor([1, -2.5, 3.25, 1e-3, .infinity, -0.0], shape: [2, 3])
        let scalar = Tensor([42], shape: [])
        let empty = Tensor.zeros([0, 4])
        let transposed = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]).transposed(0, 1)  // non-contiguous
        let url = dir.appendingPathComponent("rt.safetensors")
        try SafeTensorsWriter.write(
            [("a", a), ("scalar", scalar), ("empty", empty), ("t\"weird\\name\n", transposed)],
            to: url, metadata: ["format": "pt", "note": "héllo \"quoted\""])

        // Layout: header length is a multiple of 8 and the data section has exactly the bytes.
        let raw = [UInt8](try Data(contentsOf: url))
        let headerLength = Int(raw[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        XCTAssertEqual(headerLength % 8, 0)
        XCTAssertEqual(raw.count, 8 + headerLength + 4 * (6 + 1 + 0 + 6))

        let f = try SafeTensorsFile(url: url)
        XCTAssertEqual(f.metadata, ["format": "pt", "note": "héllo \"quoted\""])
        XCTAssertEqual(Set(f.names), ["a", "scalar", "empty", "t\"weird\\name\n"])
        let ra = try f.tensor("a")
        XCTAssertEqual(ra.shape, [2, 3])
        XCTAssertEqual(ra.scalars.map(\.bitPattern), a.scalars.map(\.bitPattern))
        XCTAssertEqual(try f.tensor("scalar").shape, [])
        XCTAssertEqual(try f.tensor("scalar").scalars, [42])
        XCTAssertEqual(try f.tensor("empty").shape, [0, 4])
        XCTAssertEqual(try f.tensor("empty").scalars, [])
        let rt = try f.tensor("t\"weird\\name\n")
        XCTAssertEqual(rt.shape, [3, 2])
        XCTAssertEqual(rt.scalars, [1, 4, 2, 5, 3, 6])
        XCTAssertEqual(f.info("a"), SafeTensorInfo(name: "a", dtype: .f32, shape: [2, 3], dataOffsets: 0..<24))
        XCTAssertNil(f.info("nope"))
        assertThrows([url.path, "nope"]) { try f.tensor("nope") }
    }

    func testWriterReplacesFileAndLeavesNoTemporaryFiles() throws {
        let url = dir.appendingPathComponent("w.safetensors")
        try SafeTensorsWriter.write([("x", Tensor([1, 2], shape: [2]))], to: url)
        try SafeTensorsWriter.write([("y", Tensor([3], shape: [1]))], to: url)
        XCTAssertEqual(try SafeTensorsFile(url: url).names, ["y"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["w.safetensors"])
        assertThrows([url.path, "duplicate", "x"]) {
            try SafeTensorsWriter.write([("x", Tensor([1], shape: [1])), ("x", Tensor([2], shape: [1]))], to: url)
        }
        XCTAssertEqual(try SafeTensorsFile(url: url).names, ["y"], "failed write must not touch the old file")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["w.safetensors"])
    }

    /// Bytes laid out exactly as Python's `safetensors.torch.save_file` wrote them (header captured
    /// from a real file: keys ordered by alignment then name, compact JSON, space padding).
    func testReadsPythonLibraryLayout() throws {
        let header = #"{"__metadata__":{"format":"pt"},"pos":{"dtype":"I64","shape":[5],"data_offsets":[0,40]},"a.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[40,56]},"big":{"dtype":"F32","shape":[3,4],"data_offsets":[56,104]},"b":{"dtype":"BF16","shape":[4],"data_offsets":[104,112]},"h":{"dtype":"F16","shape":[6],"data_offsets":[112,124]}}"#
        var padded = Array(header.utf8)
        while padded.count % 8 != 0 { padded.append(0x20) }
        XCTAssertEqual(padded.count, 328)  // what Python wrote
        let big = (0..<12).map { Float($0) / 7 }
        let data = (0..<5).flatMap { le(Int64($0)) }
            + f32Bytes([1, -2.5, 3.25, 1e-3])
            + f32Bytes(big)
            + u16Bytes([0x3F80, 0xC000, 0x4049, 0xF14A])  // bf16: 1, -2, 3.140625, ≈-1.0002556e30
            + u16Bytes([0x3C00, 0xC000, 0x0001, 0x7BFF, 0x7C00, 0x3555])  // f16
        let url = try write(fileBytes(header: header, data: data))

        let f = try SafeTensorsFile(url: url)
        XCTAssertEqual(f.metadata, ["format": "pt"])
        XCTAssertEqual(f.names, ["pos", "a.weight", "big", "b", "h"])  // data order
        XCTAssertEqual(f.info("pos")?.dtype, .i64)
        XCTAssertEqual(try f.tensor("a.weight").scalars, [1, -2.5, 3.25, 1e-3])
        XCTAssertEqual(try f.tensor("big").shape, [3, 4])
        XCTAssertEqual(try f.tensor("big").scalars, big)
        XCTAssertEqual(try f.tensor("b").scalars, [1, -2, 3.140625, Float(bitPattern: 0xF14A_0000)])
        XCTAssertEqual(try f.tensor("h").scalars, [1, -2, 0x1p-24, 65504, .infinity, 0.333251953125])
        assertThrows([url.path, "\"pos\"", "I64"]) { try f.tensor("pos") }
    }

    // MARK: Conversions

    func testBF16Conversion() throws {
        let bits: [UInt16] = [0x3F80, 0xC000, 0x0000, 0x8000, 0x7F80, 0xFF80, 0x4049, 0x0001, 0x7F7F]
        let expected: [Float] = [1, -2, 0, -0.0, .infinity, -.infinity, 3.140625,
                                 Float(bitPattern: 0x0001_0000), Float(bitPattern: 0x7F7F_0000)]
        let header = #"{"x":{"dtype":"BF16","shape":[9],"data_offsets":[0,18]},"n":{"dtype":"BF16","shape":[],"data_offsets":[18,20]}}"#
        let url = try write(fileBytes(header: header, data: u16Bytes(bits + [0x7FC0])))
        let f = try SafeTensorsFile(url: url)
        let x = try f.tensor("x")
        XCTAssertEqual(x.shape, [9])
        XCTAssertEqual(x.scalars.map(\.bitPattern), expected.map(\.bitPattern))
        XCTAssertTrue(try f.tensor("n").scalars[0].isNaN)
        XCTAssertFalse(f.isMapped(x))
    }

    func testF16Conversion() throws {
        let cases: [(UInt16, Float)] = [
            (0x3C00, 1), (0xC000, -2), (0x0000, 0), (0x8000, -0.0),
            (0x0001, 0x1p-24),  // smallest subnormal
            (0x8001, -0x1p-24),
            (0x03FF, 1023 * 0x1p-24),  // largest subnormal
            (0x0400, 0x1p-14),  // smallest normal
            (0x7BFF, 65504),  // largest finite
            (0x7C00, .infinity), (0xFC00, -.infinity),
            (0x3555, 0.333251953125), (0x3E00, 1.5),
        ]
        let header = #"{"x":{"dtype":"F16","shape":[13],"data_offsets":[0,26]},"nan":{"dtype":"F16","shape":[2],"data_offsets":[26,30]}}"#
        let url = try write(fileBytes(header: header, data: u16Bytes(cases.map(\.0) + [0x7E00, 0xFC01])))
        let f = try SafeTensorsFile(url: url)
        XCTAssertEqual(try f.tensor("x").scalars.map(\.bitPattern), cases.map(\.1.bitPattern))
        let nan = try f.tensor("nan").scalars
        XCTAssertTrue(nan[0].isNaN && nan[1].isNaN)
        XCTAssertEqual(nan[1].sign, .minus)
    }

    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
    /// Every binary16 bit pattern against the standard library's Float16.
    func testF16ConversionExhaustiveAgainstFloat16() {
        for bits in 0...UInt16.max {
            let expected = Float(Float16(bitPattern: bits))
            let got = SafeTensorsConversion.halfToFloat(bits)
            if expected.isNaN {
                XCTAssertTrue(got.isNaN, "0x\(String(bits, radix: 16))")
            } else {
                XCTAssertEqual(got.bitPattern, expected.bitPattern, "0x\(String(bits, radix: 16))")
            }
        }
    }
    #endif

    func testF64IsRoundedAndIntegersAreListedButNotReadable() throws {
        let header = #"{"d":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"i":{"dtype":"I32","shape":[1],"data_offsets":[16,20]},"m":{"dtype":"BOOL","shape":[3],"data_offsets":[20,23]}}"#
        let data = le(Double(0.1).bitPattern) + le(Double(-3).bitPattern) + le(Int32(7)) + [1, 0, 1]
        let url = try write(fileBytes(header: header, data: data))
        let f = try SafeTensorsFile(url: url)
        XCTAssertEqual(try f.tensor("d").scalars, [Float(0.1), -3])
        XCTAssertEqual(f.info("i")?.dtype, .i32)
        XCTAssertEqual(f.info("m")?.shape, [3])
        XCTAssertEqual(Array(try f.rawBytes("m")), [1, 0, 1])
        assertThrows([url.path, "\"i\"", "I32"]) { try f.tensor("i") }
        assertThrows([url.path, "\"m\"", "BOOL"]) { try f.tensor("m") }
    }

    // MARK: Zero copy

    func testF32IsZeroCopyAndOutlivesFileObject() throws {
        let url = dir.appendingPathComponent("z.safetensors")
        try SafeTensorsWriter.write([("a", Tensor([1, 2, 3], shape: [3])), ("b", Tensor([4, 5], shape: [1, 2]))], to: url)
        var tensor: Tensor
        do {
            let f = try SafeTensorsFile(url: url)
            tensor = try f.tensor("b")
            XCTAssertTrue(f.isMapped(tensor))
            XCTAssertTrue(f.mapping.contains(UnsafeRawPointer(tensor.pointer)))
            let expected = f.mapping.base! + f.dataStart + 12
            XCTAssertEqual(UnsafeRawPointer(tensor.pointer), expected)
            XCTAssertFalse(f.isMapped(Tensor([4, 5], shape: [1, 2])))
        }
        // The file object is gone; the storage keeps the mapping alive.
        XCTAssertEqual(tensor.scalars, [4, 5])
        XCTAssertEqual(tensor.shape, [1, 2])
    }

    func testUnalignedF32IsCopied() throws {
        // Unpadded 9-byte-long header puts the data section at file offset 17.
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        XCTAssertNotEqual((8 + header.utf8.count) % 4, 0)
        let url = try write(fileBytes(header: header, data: f32Bytes([1.5, -7]), pad: false))
        let f = try SafeTensorsFile(url: url)
        let t = try f.tensor("a")
        XCTAssertFalse(f.isMapped(t))
        XCTAssertEqual(t.scalars, [1.5, -7])
    }

    func testUnalignedF16AndBF16AreConverted() throws {
        // An odd-length, unpadded header puts the data section at an odd file offset.
        var header = #"{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]}}"#
        if header.utf8.count % 2 == 0 { header += " " }
        let url = try write(fileBytes(header: header, data: u16Bytes([0x3C00, 0xC100, 0x3FC0, 0xC040]), pad: false))
        let f = try SafeTensorsFile(url: url)
        XCTAssertEqual(try f.tensor("h").scalars, [1, -2.5])
        XCTAssertEqual(try f.tensor("b").scalars, [1.5, -3])
    }

    // MARK: Corruption

    func testEmptyFile() throws {
        let url = try write([])
        assertThrows([url.path, "too short"]) { try SafeTensorsFile(url: url) }
    }

    func testFourByteFile() throws {
        let url = try write([1, 0, 0, 0])
        assertThrows([url.path, "too short"]) { try SafeTensorsFile(url: url) }
    }

    func testMissingFileAndDirectory() throws {
        let missing = dir.appendingPathComponent("missing.safetensors")
        assertThrows([missing.path]) { try SafeTensorsFile(url: missing) }
        assertThrows([dir.path, "not a regular file"]) { try SafeTensorsFile(url: dir) }
    }

    func testHeaderLengthLargerThanFile() throws {
        let url = try write(le(UInt64(64)) + Array(#"{}"#.utf8))
        assertThrows([url.path, "past the end"]) { try SafeTensorsFile(url: url) }
    }

    func testHeaderLengthAboveLimit() throws {
        let url = try write(le(UInt64.max) + Array(#"{}"#.utf8))
        assertThrows([url.path, "limit"]) { try SafeTensorsFile(url: url) }
        let url2 = try write(le(UInt64(SafeTensorsFile.maxHeaderSize + 1)) + Array(#"{}"#.utf8), "t2.safetensors")
        assertThrows([url2.path, "limit"]) { try SafeTensorsFile(url: url2) }
    }

    func testHeaderNotJSON() throws {
        try assertCorrupt(header: #"{"a": {"dtype": "F32", "#, mentions: ["not valid JSON"])
        try assertCorrupt(header: "", pad: false, mentions: ["not valid JSON"])
        try assertCorrupt(header: "\u{0}\u{0}\u{0}\u{0}", pad: false, mentions: ["not valid JSON"])
    }

    func testHeaderJSONArray() throws {
        try assertCorrupt(header: #"[{"dtype":"F32","shape":[1],"data_offsets":[0,4]}]"#, data: f32Bytes([1]),
                          mentions: ["not a JSON object"])
        try assertCorrupt(header: #""string""#, mentions: ["not a JSON object"])
    }

    func testEmptyHeaderObjectIsValid() throws {
        let url = try write(fileBytes(header: "{}", data: []))
        let f = try SafeTensorsFile(url: url)
        XCTAssertEqual(f.names, [])
        XCTAssertEqual(f.metadata, [:])
    }

    func testUnknownDType() throws {
        try assertCorrupt(header: #"{"w":{"dtype":"F17","shape":[1],"data_offsets":[0,4]}}"#, data: f32Bytes([1]),
                          mentions: ["\"w\"", "unknown dtype", "F17"])
    }

    func testMissingOrMistypedFields() throws {
        try assertCorrupt(header: #"{"w":{"dtype":"F32","shape":[1]}}"#, data: f32Bytes([1]),
                          mentions: ["\"w\"", "data_offsets"])
        try assertCorrupt(header: #"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, data: f32Bytes([1]),
                          mentions: ["\"w\""])
        try assertCorrupt(header: #"{"w":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}"#, data: f32Bytes([1]),
                          mentions: ["\"w\"", "shape"])
        try assertCorrupt(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#, data: f32Bytes([1, 2]),
                          mentions: ["\"w\"", "[begin, end]"])
        try assertCorrupt(header: #"{"w":[1,2]}"#, mentions: ["\"w\""])
    }

    func testMetadataMustBeStringMap() throws {
        try assertCorrupt(header: #"{"__metadata__":{"n":1}}"#, mentions: ["__metadata__"])
        try assertCorrupt(header: #"{"__metadata__":"pt"}"#, mentions: ["__metadata__"])
    }

    func testDataOffsetsPastEnd() throws {
        try assertCorrupt(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data: f32Bytes([1, 2]),
                          mentions: ["\"w\"", "past"])
    }

    func testBeginAfterEndOrNegative() throws {
        try assertCorrupt(header: #"{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}"#, data: f32Bytes([1, 2]),
                          mentions: ["\"w\"", "begin <= end"])
        try assertCorrupt(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#, data: f32Bytes([1]),
                          mentions: ["\"w\""])
    }

    func testShapeTimesDTypeSizeMismatch() throws {
        try assertCorrupt(header: #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: f32Bytes([1, 2]),
                          mentions: ["\"w\"", "needs 12 bytes", "span 8"])
        try assertCorrupt(header: #"{"w":{"dtype":"BF16","shape":[2],"data_offsets":[0,8]}}"#, data: f32Bytes([1, 2]),
                          mentions: ["\"w\"", "needs 4 bytes"])
    }

    func testShapeOverflow() throws {
        try assertCorrupt(header: #"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#,
                          data: f32Bytes([1]), mentions: ["\"w\"", "overflow"])
        try assertCorrupt(header: #"{"w":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,4]}}"#,
                          data: f32Bytes([1]), mentions: ["\"w\"", "overflow"])
        try assertCorrupt(header: #"{"w":{"dtype":"F32","shape":[1e30],"data_offsets":[0,4]}}"#,
                          data: f32Bytes([1]), mentions: ["\"w\""])
    }

    func testNegativeShape() throws {
        try assertCorrupt(header: #"{"w":{"dtype":"F32","shape":[-1,-4],"data_offsets":[0,16]}}"#, data: f32Bytes([1, 2, 3, 4]),
                          mentions: ["\"w\"", "negative"])
    }

    func testOverlappingRanges() throws {
        try assertCorrupt(
            header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
            data: f32Bytes([1, 2, 3]), mentions: ["\"b\"", "overlap", "\"a\""])
        // A range nested inside a long earlier one, after a shorter one.
        try assertCorrupt(
            header: #"{"long":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"y":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
            data: f32Bytes([1, 2, 3, 4]), mentions: ["overlap", "\"long\""])
        // Identical ranges.
        try assertCorrupt(
            header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
            data: f32Bytes([1]), mentions: ["overlap"])
    }

    func testZeroLengthTensorsMayShareOffsets() throws {
        let header = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"e1":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},"e2":{"dtype":"F16","shape":[3,0],"data_offsets":[4,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        let url = try write(fileBytes(header: header, data: f32Bytes([1, 2])))
        let f = try SafeTensorsFile(url: url)
        XCTAssertEqual(Set(f.names), ["a", "e1", "e2", "b"])
        XCTAssertEqual(try f.tensor("e2").shape, [3, 0])
        XCTAssertEqual(try f.tensor("b").scalars, [2])
    }

    func testTruncatedDataSection() throws {
        let url = dir.appendingPathComponent("trunc.safetensors")
        try SafeTensorsWriter.write([("a", Tensor([1, 2], shape: [2])), ("b", Tensor([3, 4, 5], shape: [3]))], to: url)
        let bytes = [UInt8](try Data(contentsOf: url))
        try Data(bytes.dropLast(3)).write(to: url)
        assertThrows([url.path, "\"b\"", "truncated"]) { try SafeTensorsFile(url: url) }
    }

    func testDuplicateKeys() throws {
        try assertCorrupt(
            header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}, "a" :{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
            data: f32Bytes([1, 2]), mentions: ["duplicate", "\"a\""])
        // Escaped spelling of the same key.
        try assertCorrupt(
            header: #"{"ab":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a\u0062":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
            data: f32Bytes([1, 2]), mentions: ["duplicate", "\"ab\""])
        // Equal keys in nested objects are fine.
        let header = #"{"__metadata__":{"shape":"x","a":"y"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b\"c":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        let f = try SafeTensorsFile(url: try write(fileBytes(header: header, data: f32Bytes([1, 2]))))
        XCTAssertEqual(f.names, ["a", "b\"c"])
    }

    // MARK: Checkpoints

    private func makeShardedCheckpoint(in directory: URL, weightMap: [String: String]? = nil) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try SafeTensorsWriter.write([("enc.w", Tensor([1, 2], shape: [2])), ("enc.b", Tensor([3], shape: [1]))],
                                    to: directory.appendingPathComponent("model-00001-of-00002.safetensors"))
        try SafeTensorsWriter.write([("dec.w", Tensor([4, 5, 6, 7], shape: [2, 2]))],
                                    to: directory.appendingPathComponent("model-00002-of-00002.safetensors"))
        let map = weightMap ?? [
            "enc.w": "model-00001-of-00002.safetensors",
            "enc.b": "model-00001-of-00002.safetensors",
            "dec.w": "model-00002-of-00002.safetensors",
        ]
        let index: [String: Any] = ["metadata": ["total_size": 28], "weight_map": map]
        try JSONSerialization.data(withJSONObject: index)
            .write(to: directory.appendingPathComponent("model.safetensors.index.json"))
    }

    func testShardedCheckpoint() throws {
        try makeShardedCheckpoint(in: dir)
        let ckpt = try SafeTensorsCheckpoint(directory: dir)
        XCTAssertEqual(ckpt.names, ["dec.w", "enc.b", "enc.w"])
        XCTAssertEqual(ckpt.files.count, 2)
        XCTAssertEqual(try ckpt.tensor("enc.w").scalars, [1, 2])
        XCTAssertEqual(try ckpt.tensor("dec.w").shape, [2, 2])
        XCTAssertEqual(try ckpt.tensor("dec.w").scalars, [4, 5, 6, 7])
        XCTAssertEqual(ckpt.info("enc.b")?.shape, [1])
        XCTAssertEqual(ckpt.file(for: "dec.w")?.url.lastPathComponent, "model-00002-of-00002.safetensors")
        XCTAssertTrue(ckpt.file(for: "enc.w")! === ckpt.file(for: "enc.b")!, "each shard is opened once")
        assertThrows([dir.path, "\"nope\""]) { try ckpt.tensor("nope") }
    }

    func testSingleFileCheckpointIsPreferred() throws {
        try makeShardedCheckpoint(in: dir)
        try SafeTensorsWriter.write([("only", Tensor([9], shape: [1]))], to: dir.appendingPathComponent("model.safetensors"))
        let ckpt = try SafeTensorsCheckpoint(directory: dir)
        XCTAssertEqual(ckpt.names, ["only"])
        XCTAssertEqual(try ckpt.tensor("only").scalars, [9])
    }

    func testMissingShard() throws {
        try makeShardedCheckpoint(in: dir)
        let shard = dir.appendingPathComponent("model-00002-of-00002.safetensors")
        try FileManager.default.removeItem(at: shard)
        assertThrows(["model.safetensors.index.json", shard.path, "missing"]) { try SafeTensorsCheckpoint(directory: dir) }
    }

    func testIndexNamesTensorAbsentFromShard() throws {
        try makeShardedCheckpoint(in: dir, weightMap: [
            "enc.w": "model-00001-of-00002.safetensors",
            "enc.b": "model-00001-of-00002.safetensors",
            "dec.w": "model-00001-of-00002.safetensors",  // wrong shard
        ])
        assertThrows(["model.safetensors.index.json", "\"dec.w\"", "model-00001-of-00002.safetensors"]) {
            try SafeTensorsCheckpoint(directory: dir)
        }
    }

    func testShardTensorMissingFromIndex() throws {
        try makeShardedCheckpoint(in: dir, weightMap: [
            "enc.w": "model-00001-of-00002.safetensors",
            "dec.w": "model-00002-of-00002.safetensors",
        ])
        assertThrows(["model.safetensors.index.json", "\"enc.b\"", "not listed"]) { try SafeTensorsCheckpoint(directory: dir) }
    }

    func testBadIndex() throws {
        let index = dir.appendingPathComponent("model.safetensors.index.json")
        try Data(#"{"metadata":{}}"#.utf8).write(to: index)
        assertThrows([index.path, "weight_map"]) { try SafeTensorsCheckpoint(directory: dir) }
        try Data(#"{"weight_map":{"a":"../model.safetensors"}}"#.utf8).write(to: index)
        assertThrows([index.path, "plain file name"]) { try SafeTensorsCheckpoint(directory: dir) }
    }

    func testDirectoryWithNeitherFile() throws {
        assertThrows([dir.path, "model.safetensors", "model.safetensors.index.json"]) {
            try SafeTensorsCheckpoint(directory: dir)
        }
    }

    func testCorruptShardNamesShardFile() throws {
        try makeShardedCheckpoint(in: dir)
        let shard = dir.appendingPathComponent("model-00002-of-00002.safetensors")
        try Data([1, 2, 3]).write(to: shard)
        assertThrows([shard.path, "too short"]) { try SafeTensorsCheckpoint(directory: dir) }
    }
}

final class SafeTensorsErrorDescriptionTests: XCTestCase {
    /// `localizedDescription` is the error's own message (what the CLI prints).
    func testLocalizedDescriptionIsTheMessage() {
        let error: Error = SafeTensorsError.tensorNotFound(file: "model.safetensors", tensor: "w")
        XCTAssertEqual(error.localizedDescription, "\(error)")
        XCTAssertTrue(error.localizedDescription.contains("model.safetensors"), error.localizedDescription)
    }
}
