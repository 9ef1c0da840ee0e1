import BLIP
import Foundation
import Hummingbird

/// Admission control: requests that need a model are counted before their body is read, so the
/// memory held by bodies and decoded images stays bounded however many clients connect.
final class AdmissionCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var current = 0
    let limit: Int

    init(limit: Int) { self.limit = limit }

    func tryEnter() -> Bool {
        lock.withLock {
            guard current < limit else { return false }
            current += 1
            return true
        }
    }

    func leave() { lock.withLock { current -= 1 } }
}

/// Batch key of caption requests: only requests with the same prompt and options share a batch;
/// sampled requests run alone (a batch shares one random generator).
struct CaptionKey: Equatable, Sendable {
    var prompt: String?
    var options: GenerationOptions
    var solo: UUID?
}

/// Batch key of question-answering requests.
struct GenerationKey: Equatable, Sendable {
    var options: GenerationOptions
    var solo: UUID?
}

/// The BLIP HTTP inference server: routes, dynamic batchers (one per model, each with its own
/// model thread), limits and metrics.
///
/// ```swift
/// let server = BlipServer(services: BlipServices(caption: try CaptionerService(modelDirectory: dir)))
/// try await server.application(host: "127.0.0.1", port: 8080).runService()
/// ```
public final class BlipServer: Sendable {
    public let services: BlipServices
    public let limits: ServerLimits
    public let metrics: ServerMetrics
    let captionBatcher: DynamicBatcher<RGBImage, String, CaptionKey>?
    let answerBatcher: DynamicBatcher<QuestionJob, [String], GenerationKey>?
    let matchBatcher: DynamicBatcher<MatchJob, [MatchScore], Int>?
    let decoder: ImageDecodingPool
    let admission: AdmissionCounter
    private let threads: [ModelThread]

    public init(services: BlipServices, limits: ServerLimits = ServerLimits(), metrics: ServerMetrics = ServerMetrics()) {
        self.services = services
        self.limits = limits
        self.metrics = metrics
        let wait = Duration.milliseconds(limits.maxWaitMilliseconds)
        var threads: [ModelThread] = []
        func thread(_ name: String) -> ModelThread {
            let t = ModelThread(name: "blip-model-\(name)")
            threads.append(t)
            return t
        }
        if let service = services.caption {
            captionBatcher = DynamicBatcher(
                name: "caption", maxBatchSize: limits.maxBatchSize, maxWait: wait, queueLimit: limits.queueLimit,
                thread: thread("caption"), observer: { [metrics] in metrics.record(model: "caption", event: $0) }
            ) { images, key in
                try service.captions(for: images, prompt: key.prompt, options: key.options)
            }
        } else {
            captionBatcher = nil
        }
        if let service = services.questionAnswering {
            answerBatcher = DynamicBatcher(
                name: "vqa", maxBatchSize: limits.maxBatchSize, maxWait: wait, queueLimit: limits.queueLimit,
                thread: thread("vqa"), observer: { [metrics] in metrics.record(model: "vqa", event: $0) }
            ) { jobs, key in
                try service.answers(for: jobs, options: key.options)
            }
        } else {
            answerBatcher = nil
        }
        if let service = services.match {
            matchBatcher = DynamicBatcher(
                name: "itm", maxBatchSize: limits.maxBatchSize, maxWait: wait, queueLimit: limits.queueLimit,
                thread: thread("itm"), observer: { [metrics] in metrics.record(model: "itm", event: $0) }
            ) { jobs, _ in
                try service.scores(for: jobs)
            }
        } else {
            matchBatcher = nil
        }
        self.threads = threads
        decoder = ImageDecodingPool(maxPixels: limits.maxImagePixels)
        // Requests in the queues, plus one running batch per model, plus a batch's worth decoding.
        admission = AdmissionCounter(limit: limits.queueLimit * 3 + limits.maxBatchSize * 4)
    }

    deinit {
        for t in threads { t.shutdown() }
        decoder.shutdown()
    }

    /// The loaded models, as `GET /info` lists them.
    var modelDescriptions: [String: Any] {
        var models: [String: Any] = [:]
        if let s = services.caption { models["caption"] = ["source": s.description.source, "task": s.description.task] }
        if let s = services.questionAnswering { models["vqa"] = ["source": s.description.source, "task": s.description.task] }
        if let s = services.match { models["itm"] = ["source": s.description.source, "task": s.description.task] }
        return models
    }

    /// The routes (for `Application(router:)` and tests with HummingbirdTesting's `.router`).
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: ErrorAndMetricsMiddleware(metrics: metrics, knownRoutes: Self.knownRoutes))
        addRoutes(to: router)
        return router
    }

    /// Path → methods served (for 405 answers).
    static let knownRoutes: [String: [String]] = [
        "/": ["GET", "POST"], "/health": ["GET"], "/info": ["GET"], "/metrics": ["GET"],
        "/openapi.json": ["GET"], "/api/v1/inference/blip": ["POST"], "/caption": ["POST"],
        "/vqa": ["POST"], "/match": ["POST"],
    ]

    /// A runnable application bound to `host:port` (port 0: any free port). `onRunning` gets the
    /// bound port once the server listens.
    public func application(host: String, port: Int,
                            onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(
            router: router(),
            configuration: .init(address: .hostname(host, port: port), serverName: "blip-serve"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) }
        )
    }

    // MARK: Model calls (bounded queues, dedicated threads)

    /// Runs `body` if the admission counter allows; otherwise 503 with Retry-After.
    func admitted<T>(_ body: () async throws -> T) async throws -> T {
        guard admission.tryEnter() else { throw busy() }
        defer { admission.leave() }
        return try await body()
    }

    func busy() -> APIError {
        APIError(.serviceUnavailable, "queue_full", "the server is busy: too many requests waiting; retry later",
                 headers: [.retryAfter: String(limits.retryAfterSeconds)])
    }

    func caption(_ image: RGBImage, prompt: String?, parameters: GenerationParameters) async throws -> String {
        guard let batcher = captionBatcher, let service = services.caption else {
            throw APIError.modelNotLoaded("captioning", option: "--caption-model")
        }
        let options = try parameters.resolve(defaults: service.defaultGeneration, limits: limits)
        let key = CaptionKey(prompt: prompt, options: options, solo: options.doSample ? UUID() : nil)
        return try await queued { try await batcher.submit(image, key: key) }
    }

    func answers(_ job: QuestionJob, parameters: GenerationParameters) async throws -> [String] {
        guard let batcher = answerBatcher, let service = services.questionAnswering else {
            throw APIError.modelNotLoaded("question answering", option: "--vqa-model")
        }
        let options = try parameters.resolve(defaults: service.defaultGeneration, limits: limits)
        let key = GenerationKey(options: options, solo: options.doSample ? UUID() : nil)
        return try await queued { try await batcher.submit(job, key: key) }
    }

    func scores(_ job: MatchJob) async throws -> [MatchScore] {
        guard let batcher = matchBatcher else { throw APIError.modelNotLoaded("image-text matching", option: "--itm-model") }
        return try await queued { try await batcher.submit(job, key: 0) }
    }

    private func queued<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch is QueueFullError {
            throw busy()
        }
    }
}
