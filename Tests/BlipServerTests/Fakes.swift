import BLIP
import BlipServer
import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest

/// Records the batch sizes a fake service saw, and can hold batches until released.
final class BatchLog: @unchecked Sendable {
    private let lock = NSLock()
    private var sizes: [Int] = []
    private var entered = 0
    /// When set, each batch waits on it (a test releases it).
    let gate: DispatchSemaphore?

    init(gated: Bool = false) { gate = gated ? DispatchSemaphore(value: 0) : nil }

    func record(_ n: Int) {
        lock.withLock {
            sizes.append(n)
            entered += 1
        }
        gate?.wait()
    }

    var batchSizes: [Int] { lock.withLock { sizes } }
    var batchesEntered: Int { lock.withLock { entered } }
}

/// Captions "caption WxH" (plus " | prompt" and " | beams N" when given).
struct FakeCaptioner: CaptionService {
    let log: BatchLog
    var description: ModelDescription { ModelDescription(source: "fake-caption", task: "caption") }
    var defaultGeneration: GenerationOptions { GenerationOptions() }

    func captions(for images: [RGBImage], prompt: String?, options: GenerationOptions) throws -> [String] {
        log.record(images.count)
        return images.map { image in
            var s = "caption \(image.width)x\(image.height)"
            if let prompt { s += " | \(prompt)" }
            if options.numBeams != 1 { s += " | beams \(options.numBeams)" }
            return s
        }
    }
}

/// Answers "QUESTION -> WxH".
struct FakeAnswerer: QuestionAnsweringService {
    let log: BatchLog
    var description: ModelDescription { ModelDescription(source: "fake-vqa", task: "vqa") }
    var defaultGeneration: GenerationOptions { GenerationOptions() }

    func answers(for jobs: [QuestionJob], options: GenerationOptions) throws -> [[String]] {
        log.record(jobs.count)
        return jobs.map { job in job.questions.map { "\($0) -> \(job.image.width)x\(job.image.height)" } }
    }
}

/// Scores: ITM probability = characters / 100, ITC cosine = -characters / 100.
struct FakeMatcher: MatchService {
    let log: BatchLog
    var description: ModelDescription { ModelDescription(source: "fake-itm", task: "itm") }

    func scores(for jobs: [MatchJob]) throws -> [[MatchScore]] {
        log.record(jobs.count)
        return jobs.map { $0.texts.map { MatchScore(itmProbability: Double($0.count) / 100, itcCosine: -Double($0.count) / 100) } }
    }
}

/// Test images from the captioning fixtures (Tests/BLIPTests/Fixtures/tiny).
enum Fixture {
    static let tinyModel = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("BLIPTests/Fixtures/tiny")
    static func imageData(_ name: String) -> Data {
        try! Data(contentsOf: tinyModel.appendingPathComponent("images/\(name)"))
    }
    /// 96 x 80 PNG.
    static let astronaut = imageData("astronaut_96x80.png")
    /// 40 x 56 grey PNG.
    static let camera = imageData("camera_gray_40x56.png")
    /// 60 x 90 PNG.
    static let chelsea = imageData("chelsea_60x90.png")
}

extension XCTestCase {
    /// A server with fake services (each may be left out) and the given limits.
    func makeServer(caption: Bool = true, vqa: Bool = true, match: Bool = true, log: BatchLog = BatchLog(),
                    limits: ServerLimits = ServerLimits()) -> BlipServer {
        BlipServer(
            services: BlipServices(
                caption: caption ? FakeCaptioner(log: log) : nil,
                questionAnswering: vqa ? FakeAnswerer(log: log) : nil,
                match: match ? FakeMatcher(log: log) : nil),
            limits: limits)
    }

    /// Runs `body` with a router test client for `server`.
    func withClient(_ server: BlipServer, _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = Application(router: server.router())
        try await app.test(.router) { client in try await body(client) }
    }
}

/// JSON helpers for responses.
func json(_ response: TestResponse) -> [String: Any] {
    guard let object = try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
    else { return [:] }
    return object
}

func body(_ object: Any) -> ByteBuffer {
    ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: object))
}

let jsonHeaders: HTTPFields = [.contentType: "application/json"]

/// A multipart/form-data body: text fields, then optionally a file part named `file`.
func multipart(fields: [(String, String)], file: Data?, boundary: String = "XyZBoundary123") -> (HTTPFields, ByteBuffer) {
    var data = Data()
    for (name, value) in fields {
        data += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
    }
    if let file {
        data += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"img.png\"\r\nContent-Type: image/png\r\n\r\n".utf8)
        data += file
        data += Data("\r\n".utf8)
    }
    data += Data("--\(boundary)--\r\n".utf8)
    return ([.contentType: "multipart/form-data; boundary=\(boundary)"], ByteBuffer(bytes: data))
}
