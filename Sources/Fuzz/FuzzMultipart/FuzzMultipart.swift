import BlipServer
import Foundation
import FuzzSupport

// Fuzzes the server's multipart/form-data handling (Sources/BlipServer/Multipart.swift and the form →
// generation options path of `/caption` and `/vqa`) through `ServerFuzzEntryPoints.multipart`.
//
// Input: the Content-Type header value, a newline, then the body. Every rejection must be an `APIError`
// with a 4xx status (anything else would be a 500).

// libFuzzer's entry point in fuzzing builds; a plain function otherwise, so that test bundles linking several
// harnesses (FuzzHarnessTests) do not see the symbol twice.
#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
#endif
public func fuzzMultipart(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: bytes, count: bytes == nil ? 0 : count))
    let newline = input.firstIndex(of: 10) ?? input.count
    let contentType = String(decoding: input[..<newline], as: UTF8.self)
    let body = newline < input.count ? Array(input[(newline + 1)...]) : []
    do {
        _ = try ServerFuzzEntryPoints.multipart(contentType: contentType, body: body)
    } catch {
        guard let status = ServerFuzzEntryPoints.status(of: error), (400..<500).contains(status) else {
            fatalError("multipart rejected with a non-4xx error: \(error)")
        }
    }
    return 0
}

@main enum FuzzMultipart {
    static func main() { FuzzDriver.run(fuzzMultipart) }
}
