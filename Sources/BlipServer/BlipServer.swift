import BLIP
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// Admission control: requests that need a model are counted once their body has arrived (slow
/// uploads hold bytes of `ServerLimits.maxBodyBytesInFlight`, not admission slots), so the queues
/// and the images waiting in them stay bounded however many clients connect.
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
    let captionBatcher: DynamicBatcher<RGBImage, [String], CaptionKey>?
    let answerBatcher: DynamicBatcher<QuestionJob, [String], GenerationKey>?
    let matchBatcher: DynamicBatcher<MatchJob, [MatchScore], Int>?
    /// The matching model's thread (`/embed` and `/search` run there, between its batches).
    let matchThread: ModelThread?
    /// The captioning and question-answering models' threads (streamed and ranked requests run
    /// there, between batches).
    let captionThread: ModelThread?
    let answerThread: ModelThread?
    /// Where `/search` runs: the matching model's thread (it embeds the query).
    let searchThread: ModelThread?
    let decoder: ImageDecodingPool
    let admission: AdmissionCounter
    /// Request-body bytes buffered now (`maxBodyBytesInFlight`).
    let bodyBudget: ResourceBudget
    /// Decoded image pixels held by requests now (`maxDecodedMegapixels` × 10⁶).
    let pixelBudget: ResourceBudget
    /// Open connections (`maxConnections`).
    let connections: ConnectionLimiter
    /// The port the server listens on, once it does (remote images may not point at it).
    let boundPort = BoundPort()
    private let threads: [ModelThread]

    /// CORS and logging.
    public let http: HTTPSettings

    public init(services: BlipServices, limits: ServerLimits = ServerLimits(), metrics: ServerMetrics = ServerMetrics(),
                http: HTTPSettings = HTTPSettings()) {
        self.http = http
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
            let captionThread = thread("caption")
            self.captionThread = captionThread
            captionBatcher = DynamicBatcher(
                name: "caption", maxBatchSize: limits.maxBatchSize, maxWait: wait, queueLimit: limits.queueLimit,
                thread: captionThread, observer: { [metrics] in metrics.record(model: "caption", event: $0) }
            ) { images, key in
                try service.captionSequences(for: images, prompt: key.prompt, options: key.options)
            }
        } else {
            captionBatcher = nil
            captionThread = nil
        }
        if let service = services.questionAnswering {
            let answerThread = thread("vqa")
            self.answerThread = answerThread
            answerBatcher = DynamicBatcher(
                name: "vqa", maxBatchSize: limits.maxBatchSize, maxWait: wait, queueLimit: limits.queueLimit,
                thread: answerThread, observer: { [metrics] in metrics.record(model: "vqa", event: $0) }
            ) { jobs, key in
                try service.answers(for: jobs, options: key.options)
            }
        } else {
            answerBatcher = nil
            answerThread = nil
        }
        if let service = services.match {
            let itmThread = thread("itm")
            matchThread = itmThread
            matchBatcher = DynamicBatcher(
                name: "itm", maxBatchSize: limits.maxBatchSize, maxWait: wait, queueLimit: limits.queueLimit,
                thread: itmThread, observer: { [metrics] in metrics.record(model: "itm", event: $0) }
            ) { jobs, _ in
                try service.scores(for: jobs)
            }
        } else {
            matchBatcher = nil
            matchThread = nil
        }
        searchThread = services.search == nil ? nil : (matchThread ?? thread("search"))
        self.threads = threads
        decoder = ImageDecodingPool(maxPixels: limits.maxImagePixels, applyExifOrientation: limits.applyExifOrientation)
        // Requests in the queues, plus one running batch per model, plus a batch's worth decoding.
        admission = AdmissionCounter(limit: limits.queueLimit * 3 + limits.maxBatchSize * 4)
        bodyBudget = ResourceBudget(limit: limits.maxBodyBytesInFlight)
        let megapixels = limits.maxDecodedMegapixels.isFinite ? min(max(limits.maxDecodedMegapixels, 0), 1e12) : 0
        pixelBudget = ResourceBudget(limit: Int((megapixels * 1e6).rounded()))
        connections = ConnectionLimiter(limit: limits.maxConnections)
    }

    deinit {
        for t in threads { t.shutdown() }
        decoder.shutdown()
    }

    /// The loaded models, as `GET /info` lists them.
    var modelDescriptions: [String: Any] {
        func entry(_ d: ModelDescription) -> [String: Any] {
            var e: [String: Any] = ["source": d.source, "task": d.task]
            if let p = d.precision { e["precision"] = p }
            if let t = d.threads { e["threads"] = t }
            return e
        }
        var models: [String: Any] = [:]
        if let s = services.caption { models["caption"] = entry(s.description) }
        if let s = services.questionAnswering { models["vqa"] = entry(s.description) }
        if let s = services.match { models["itm"] = entry(s.description) }
        if let s = services.search {
            var e: [String: Any] = ["index": s.indexPath]
            if let count = try? s.imageCount() { e["images"] = count }
            models["search"] = e
        }
        return models
    }

    /// The routes (for `Application(router:)` and tests with HummingbirdTesting's `.router`).
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        if !http.corsOrigins.isEmpty { router.add(middleware: CORSOriginsMiddleware(origins: http.corsOrigins)) }
        if http.accessLog { router.add(middleware: LogRequestsMiddleware(.info)) }
        router.add(middleware: ErrorAndMetricsMiddleware(metrics: metrics, knownRoutes: Self.knownRoutes))
        addRoutes(to: router)
        return router
    }

    /// Path → methods served (for 405 answers).
    static let knownRoutes: [String: [String]] = [
        "/": ["GET", "POST"], "/health": ["GET"], "/info": ["GET"], "/metrics": ["GET"],
        "/openapi.json": ["GET"], "/api/v1/inference/blip": ["POST"], "/caption": ["POST"],
        "/vqa": ["POST"], "/match": ["POST"], "/embed": ["POST"], "/search": ["POST"], "/thumbnail": ["GET"],
    ]

    /// A runnable application bound to `host:port` (port 0: any free port). `onRunning` gets the
    /// bound port once the server listens.
    ///
    /// Each connection gets the `ConnectionGuardHandler` (connection cap, first-request head
    /// deadline) and Hummingbird's idle timeout (`idleTimeoutSeconds`). Keep `maxConnections`
    /// below the open-file limit (`FileDescriptorLimit.fitConnections`, as `blip serve` does):
    /// NIO spins on an accept that fails with EMFILE.
    public func application(host: String, port: Int,
                            onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let connections = self.connections
        let requestTimeout = TimeAmount.nanoseconds(Int64(limits.requestTimeoutSeconds * 1e9))
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [
                ConnectionGuardHandler(limiter: connections, headDeadline: requestTimeout,
                                       bodyDeadline: requestTimeout + .seconds(5))
            ],
            idleTimeout: .nanoseconds(Int64(limits.idleTimeoutSeconds * 1e9)))
        let boundPort = self.boundPort
        return Application(
            router: router(),
            server: .http1(configuration: http1),
            configuration: .init(address: .hostname(host, port: port), serverName: "blip-serve"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                boundPort.set(bound)
                await onRunning(bound)
            },
            logger: {
                var logger = Logger(label: "blip-serve")
                logger.logLevel = http.logLevel
                return logger
            }()
        )
    }

    /// Gauges of the server's budgets (appended to `GET /metrics`).
    func resourceMetricsText() -> String {
        """
        # HELP blip_open_connections Connections open now.
        # TYPE blip_open_connections gauge
        blip_open_connections \(connections.openCount)
        # HELP blip_max_connections Connections open at once at most (--max-connections).
        # TYPE blip_max_connections gauge
        blip_max_connections \(connections.limit)
        # HELP blip_rejected_connections_total Connections closed on accept because --max-connections were open.
        # TYPE blip_rejected_connections_total counter
        blip_rejected_connections_total \(connections.rejectedCount)
        # HELP blip_body_bytes_in_flight Request-body bytes buffered now.
        # TYPE blip_body_bytes_in_flight gauge
        blip_body_bytes_in_flight \(bodyBudget.inUse)
        # HELP blip_body_bytes_in_flight_limit Request-body bytes buffered at most (--max-body-bytes-in-flight).
        # TYPE blip_body_bytes_in_flight_limit gauge
        blip_body_bytes_in_flight_limit \(bodyBudget.limit)
        # HELP blip_decoded_pixels_in_use Decoded image pixels reserved by requests now.
        # TYPE blip_decoded_pixels_in_use gauge
        blip_decoded_pixels_in_use \(pixelBudget.inUse)
        # HELP blip_decoded_pixels_budget Decoded image pixels reserved at most (--max-decoded-megapixels x 10^6).
        # TYPE blip_decoded_pixels_budget gauge
        blip_decoded_pixels_budget \(pixelBudget.limit)

        """
    }

    /// What the budgets hold now (`GET /info` "usage").
    func usage() -> [String: Any] {
        ["open_connections": connections.openCount, "rejected_connections": connections.rejectedCount,
         "body_bytes_in_flight": bodyBudget.inUse, "decoded_pixels_in_use": pixelBudget.inUse,
         "decoded_pixels_budget": pixelBudget.limit]
    }

    // MARK: Model calls (bounded queues, dedicated threads)

    /// The guarded path of every model route: the body is received in full first (bytes budget,
    /// 408 on timeout), then admission is counted, then `handler` runs with a decoded-pixel
    /// reservation that images decoded for it draw from; everything is given back when it returns.
    func guarded(_ request: Request, _ handler: (Request) async throws -> Response) async throws -> Response {
        try await withReceivedBody(request) { buffered in
            try await admitted {
                let pixels = BudgetReservation(pixelBudget)
                defer { pixels.releaseAll() }
                return try await PixelBudgetContext.$reservation.withValue(pixels) { try await handler(buffered) }
            }
        }
    }

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

    /// The best caption of `image`.
    func caption(_ image: RGBImage, prompt: String?, parameters: GenerationParameters) async throws -> String {
        try await captionSequences(image, prompt: prompt, parameters: parameters).first ?? ""
    }

    /// `num_return_sequences` captions of `image` (one by default), best first.
    func captionSequences(_ image: RGBImage, prompt: String?, parameters: GenerationParameters) async throws -> [String] {
        guard let batcher = captionBatcher, let service = services.caption else {
            throw APIError.modelNotLoaded("captioning", option: "--caption-model")
        }
        let options = try parameters.resolve(defaults: service.defaultGeneration, limits: limits, sequences: true)
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
