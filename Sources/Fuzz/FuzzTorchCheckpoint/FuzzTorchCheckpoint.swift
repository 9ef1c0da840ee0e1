import Foundation
import FuzzSupport
import Tensor

// Fuzzes the PyTorch checkpoint reader (Sources/Tensor/Torch*.swift): the zip container (ZIP64
// included), the legacy format and the restricted unpickler. Each input is a whole `.pth` file;
// every tensor the reader accepts is then read every way it can be (fp32, int64, half bits, raw
// bytes), so bad offsets, strides or storages show up as ASan reports, not only as accepted files.

let scratch = ScratchFolder("FuzzTorchCheckpoint")

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
#endif
public func fuzzTorchCheckpoint(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let url = scratch.write(fuzzData(bytes, count), to: "input.pth")
    guard let file = try? TorchCheckpointFile(url: url) else { return 0 }
    if Set(file.names).count != file.names.count { fatalError("duplicate tensor names accepted") }
    var sum: Float = 0
    for name in file.names {
        guard let info = file.info(name) else { fatalError("listed tensor \(name) has no info") }
        if let t = try? file.tensor(name) {
            if t.count != info.elementCount { fatalError("tensor \(name): \(t.count) values for shape \(info.shape)") }
            for k in 0..<t.count { sum += t.pointer[k] }  // touch every converted value
        }
        if let ints = try? file.int64Values(name), ints.count != info.elementCount {
            fatalError("tensor \(name): \(ints.count) integers for shape \(info.shape)")
        }
        if let half = file.halfBits(name), half.count != info.elementCount {
            fatalError("tensor \(name): \(half.count) half values for shape \(info.shape)")
        }
        if let bytes = (try? file.rawBytes(name)) ?? nil, bytes.count != info.byteCount {
            fatalError("tensor \(name): \(bytes.count) raw bytes, expected \(info.byteCount)")
        }
    }
    if sum == 42.4242 { print("") }
    return 0
}

@main enum FuzzTorchCheckpoint {
    static func main() { FuzzDriver.run(fuzzTorchCheckpoint) }
}
