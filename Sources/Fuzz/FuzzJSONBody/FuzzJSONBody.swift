import BlipServer
import Foundation
import FuzzSupport

// Fuzzes the server's JSON request bodies (`decodeJSONBody` for InferenceRequest, MatchRequest and
// HostedRequest, then GenerationParameters resolution, text checks and base64 image decoding) through
// `ServerFuzzEntryPoints.jsonBody`.
//
// Input: the first byte picks the endpoint (mod 3: 0 `/api/v1/inference/blip`, 1 `/match`, 2 `POST /`), the
// rest is the body. Every rejection must be an `APIError` with a 4xx status (anything else would be a 500).

// libFuzzer's entry point in fuzzing builds; a plain function otherwise, so that test bundles linking several
// harnesses (FuzzHarnessTests) do not see the symbol twice.
#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
#endif
public func fuzzJSONBody(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: bytes, count: bytes == nil ? 0 : count))
    guard let kind = input.first else { return 0 }
    do {
        try ServerFuzzEntryPoints.jsonBody(kind: Int(kind % 3), body: Array(input.dropFirst()))
    } catch {
        guard let status = ServerFuzzEntryPoints.status(of: error), (400..<500).contains(status) else {
            fatalError("JSON body rejected with a non-4xx error: \(error)")
        }
    }
    return 0
}

@main enum FuzzJSONBody {
    static func main() { FuzzDriver.run(fuzzJSONBody) }
}
