import Foundation
import FuzzSupport
import Tensor

// Fuzzes the safetensors reader (Sources/Tensor/SafeTensors*.swift).
//
// An input starting with "{" is a sharded checkpoint's `model.safetensors.index.json` (its shards, written
// once at start, hold F32 "x", F16 "y" and BF16 "z"); any other input is a whole `.safetensors` file.
// Every tensor the reader accepts is then read (raw bytes, and converted to Float when its dtype allows), so
// bad offsets or shapes show up as ASan reports, not only as accepted headers.

/// An 8-byte little-endian header length, the JSON header, then the data bytes.
func safetensorsFile(header: String, data: [UInt8]) -> Data {
    let json = Array(header.utf8)
    var length = UInt64(json.count).littleEndian
    var file = Data(bytes: &length, count: 8)
    file.append(contentsOf: json)
    file.append(contentsOf: data)
    return file
}

let scratch = ScratchFolder("FuzzSafeTensors")
let singleFolder = scratch.folder("single")
/// A sharded checkpoint's folder: two shards written once; each input is its index file.
let shardedFolder: URL = {
    let folder = scratch.folder("sharded")
    scratch.write(safetensorsFile(header: #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
                                  data: [0, 0, 128, 63, 0, 0, 0, 64]),
                  to: "model-00001-of-00002.safetensors", in: folder)
    scratch.write(safetensorsFile(header: #"{"y":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"z":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]}}"#,
                                  data: [0, 60, 0, 64, 128, 63]),
                  to: "model-00002-of-00002.safetensors", in: folder)
    return folder
}()

/// Reads every tensor of `names` through `info`/`rawBytes`/`tensor`.
func readAll(_ names: [String], info: (String) -> SafeTensorInfo?, raw: (String) throws -> UnsafeRawBufferPointer,
             tensor: (String) throws -> Tensor) {
    for name in names {
        guard let i = info(name) else { fatalError("listed tensor \(name) has no info") }
        if let bytes = try? raw(name), bytes.count != i.byteCount {
            fatalError("tensor \(name): \(bytes.count) raw bytes, header says \(i.byteCount)")
        }
        if i.dtype.isReadableAsFloat, let t = try? tensor(name) {
            if t.count != i.elementCount { fatalError("tensor \(name): \(t.count) values for shape \(i.shape)") }
            var sum: Float = 0
            let p = t.pointer
            for k in 0..<t.count { sum += p[k] }  // touch every converted value
            if sum == 42.4242 { print("") }
        }
    }
}

// libFuzzer's entry point in fuzzing builds; a plain function otherwise, so that test bundles linking several
// harnesses (FuzzHarnessTests) do not see the symbol twice.
#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
#endif
public func fuzzSafeTensors(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = fuzzData(bytes, count)
    if data.first == UInt8(ascii: "{") {
        scratch.write(data, to: SafeTensorsCheckpoint.indexFileName, in: shardedFolder)
        guard let checkpoint = try? SafeTensorsCheckpoint(directory: shardedFolder) else { return 0 }
        readAll(checkpoint.names, info: checkpoint.info,
                raw: { name in
                    guard let f = checkpoint.file(for: name) else { fatalError("no file for \(name)") }
                    return try f.rawBytes(name)
                },
                tensor: checkpoint.tensor)
    } else {
        let url = scratch.write(data, to: SafeTensorsCheckpoint.singleFileName, in: singleFolder)
        guard let file = try? SafeTensorsFile(url: url) else { return 0 }
        if Set(file.names).count != file.names.count { fatalError("duplicate tensor names accepted") }
        readAll(file.names, info: file.info, raw: file.rawBytes, tensor: file.tensor)
    }
    return 0
}

@main enum FuzzSafeTensors {
    static func main() { FuzzDriver.run(fuzzSafeTensors) }
}
