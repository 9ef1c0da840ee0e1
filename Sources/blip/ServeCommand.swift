import ArgumentParser
import BLIP
import BLIPHub
import BlipServer
import Foundation
import Logging

/// `blip serve`: the HTTP inference server (captioning, VQA, image-text matching) with dynamic batching.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve BLIP models over HTTP (JSON, multipart, web page at /).")

    @Option(name: .customLong("caption-model"), help: "Captioning model: directory or hub id (e.g. Salesforce/blip-image-captioning-base).")
    var captionModel: String?

    @Option(name: .customLong("vqa-model"), help: "Visual question answering model: directory or hub id (e.g. Salesforce/blip-vqa-base).")
    var vqaModel: String?

    @Option(name: .customLong("itm-model"), help: "Image-text matching model: directory or hub id (e.g. Salesforce/blip-itm-base-coco).")
    var itmModel: String?

    @Option(help: ArgumentHelp("Image index (from `blip index add`, built with --itm-model) to search at /search and on the web page.",
                               valueName: "file"))
    var index: String?

    @Option(help: "Precision of every model's Linear weights: fp32 (exact, default), bf16 or int8.")
    var precision: Precision = .fp32

    @Option(name: .customLong("caption-precision"), help: "Precision of the captioning model (default: --precision).")
    var captionPrecision: Precision?

    @Option(name: .customLong("vqa-precision"), help: "Precision of the VQA model (default: --precision).")
    var vqaPrecision: Precision?

    @Option(name: .customLong("itm-precision"), help: "Precision of the image-text matching model (default: --precision).")
    var itmPrecision: Precision?

    @Option(name: .customLong("caption-threads"), parsing: .unconditional,
            help: "Threads of the captioning model, its own (default: the pool of --threads, shared by the models).")
    var captionThreads: Int?

    @Option(name: .customLong("vqa-threads"), parsing: .unconditional, help: "Threads of the VQA model, its own (default: the shared pool).")
    var vqaThreads: Int?

    @Option(name: .customLong("itm-threads"), parsing: .unconditional,
            help: "Threads of the image-text matching model, its own (default: the shared pool).")
    var itmThreads: Int?

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(parsing: .unconditional, help: "Port to listen on (0: any free port).")
    var port = 8080

    @Option(name: .customLong("max-batch-size"), parsing: .unconditional, help: "Requests for one model answered together at most.")
    var maxBatchSize = ServerLimits().maxBatchSize

    @Option(name: .customLong("max-wait-ms"), parsing: .unconditional, help: "Milliseconds a request waits for others to join its batch.")
    var maxWaitMs = ServerLimits().maxWaitMilliseconds

    @Option(name: .customLong("queue-limit"), parsing: .unconditional, help: "Requests waiting per model at most (then 503 with Retry-After).")
    var queueLimit = ServerLimits().queueLimit

    @Option(name: .customLong("max-body-bytes"), parsing: .unconditional, help: "Largest request body accepted (then 413).")
    var maxBodyBytes = ServerLimits().maxBodyBytes

    @Option(name: .customLong("max-image-pixels"), parsing: .unconditional, help: "Images declaring more pixels are refused before decoding (422).")
    var maxImagePixels = ServerLimits().maxImagePixels

    @Flag(name: .customLong("allow-remote-images"), help: "Fetch {\"url\": ...} images (http/https only, public addresses only, bounded size and time).")
    var allowRemoteImages = false

    @Flag(name: .customLong("allow-private-remote-images"), help: "With --allow-remote-images, also fetch from loopback, private and link-local addresses (unsafe on shared networks).")
    var allowPrivateRemoteImages = false

    @Option(name: .customLong("remote-image-timeout"), parsing: .unconditional, help: "Seconds a remote image fetch may take in all (then 504).")
    var remoteImageTimeout = ServerLimits().remoteImageTimeoutSeconds

    @Option(name: .customLong("request-timeout"), parsing: .unconditional, help: "Seconds a request body may take to arrive (then 408); also the time a new connection has to send its first request head.")
    var requestTimeout = ServerLimits().requestTimeoutSeconds

    @Option(name: .customLong("idle-timeout"), parsing: .unconditional, help: "Seconds an idle keep-alive connection is kept open.")
    var idleTimeout = ServerLimits().idleTimeoutSeconds

    @Option(name: .customLong("max-connections"), parsing: .unconditional, help: "Open connections at most; more are closed on accept.")
    var maxConnections = ServerLimits().maxConnections

    @Option(name: .customLong("max-body-bytes-in-flight"), parsing: .unconditional, help: "Request-body bytes buffered across all requests at most (then 503).")
    var maxBodyBytesInFlight = ServerLimits().maxBodyBytesInFlight

    @Option(name: .customLong("max-decoded-megapixels"), parsing: .unconditional, help: "Decoded image megapixels held by all requests at once at most (then 503; 413 for one image over it).")
    var maxDecodedMegapixels = ServerLimits().maxDecodedMegapixels

    @Flag(name: .customLong("ignore-exif"), help: "Keep images' stored pixel layout (by default photos are turned upright for their EXIF orientation).")
    var ignoreExif = false

    @OptionGroup var threadsOption: ThreadsOption

    @Option(name: .customLong("cors-origin"), help: "Origin browsers may call the API from (repeatable; * for any). Default: none (same origin only).")
    var corsOrigins: [String] = []

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    @Flag(name: .customLong("no-access-log"), help: "No log line per request.")
    var noAccessLog = false

    func validate() throws {
        if captionModel == nil && vqaModel == nil && itmModel == nil {
            throw ValidationError("give at least one of --caption-model, --vqa-model, --itm-model")
        }
        if index != nil && itmModel == nil {
            throw ValidationError("--index needs --itm-model (the model the index was built with)")
        }
        if Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical, got \(logLevel)")
        }
        if !(0...65535).contains(port) { throw ValidationError("--port must be in 0...65535, got \(port)") }
        for (flag, value) in [("--caption-threads", captionThreads), ("--vqa-threads", vqaThreads), ("--itm-threads", itmThreads)] {
            try checkOption(flag, value, 1...Parallel.maxThreads)
        }
    }

    func run() throws {
        try reportingErrors {
            var limits = ServerLimits()
            limits.maxBatchSize = maxBatchSize
            limits.maxWaitMilliseconds = maxWaitMs
            limits.queueLimit = queueLimit
            limits.maxBodyBytes = maxBodyBytes
            limits.maxImagePixels = maxImagePixels
            limits.allowRemoteImages = allowRemoteImages
            limits.allowPrivateRemoteImages = allowPrivateRemoteImages
            limits.remoteImageTimeoutSeconds = remoteImageTimeout
            limits.requestTimeoutSeconds = requestTimeout
            limits.idleTimeoutSeconds = idleTimeout
            limits.maxConnections = maxConnections
            limits.maxBodyBytesInFlight = maxBodyBytesInFlight
            limits.maxDecodedMegapixels = maxDecodedMegapixels
            limits.applyExifOrientation = !ignoreExif
            try limits.validate()
            // Connections must not be able to use up every file descriptor (see FileDescriptorLimit).
            let fitted = FileDescriptorLimit.fitConnections(limits.maxConnections)
            if fitted.connections < limits.maxConnections {
                FileHandle.standardError.write(Data("blip serve: --max-connections \(limits.maxConnections) lowered to \(fitted.connections): the open-file limit is \(fitted.openFileLimit) (ulimit -n) and \(FileDescriptorLimit.reserve) descriptors are kept for the server itself\n".utf8))
                limits.maxConnections = fitted.connections
            }
            // An existing directory wins; otherwise a hub id (cache, then download).
            // `/info` shows each model as given (hub id or path).
            func url(_ model: String) throws -> URL { try ModelResolver.resolve(model) }
            // One pool for the models without threads of their own (they take turns on it), an
            // own pool for each model given --TASK-threads.
            let shared = threadsOption.compute
            func compute(_ own: Int?) -> ComputeSettings { own.map { ComputeSettings(threads: $0) } ?? shared }
            var matchService: (any MatchService)?
            var searchService: (any ImageSearchService)?
            if let itmModel {
                let directory = try url(itmModel)
                let compute = compute(itmThreads)
                if let index {
                    (matchService, searchService) = try ServiceFactory.matchAndSearch(
                        modelDirectory: directory, indexPath: index, source: itmModel, precision: itmPrecision ?? precision,
                        compute: compute, maxPixels: limits.maxImagePixels)
                } else {
                    matchService = try ServiceFactory.match(modelDirectory: directory, source: itmModel,
                                                            precision: itmPrecision ?? precision, compute: compute)
                }
            }
            let services = BlipServices(
                caption: try captionModel.map {
                    try ServiceFactory.caption(modelDirectory: try url($0), source: $0, precision: captionPrecision ?? precision,
                                               compute: compute(captionThreads))
                },
                questionAnswering: try vqaModel.map {
                    try ServiceFactory.questionAnswering(modelDirectory: try url($0), source: $0, precision: vqaPrecision ?? precision,
                                                          compute: compute(vqaThreads))
                },
                match: matchService, search: searchService)
            let http = HTTPSettings(corsOrigins: corsOrigins, accessLog: !noAccessLog,
                                    logLevel: Logger.Level(rawValue: logLevel) ?? .info)
            let server = BlipServer(services: services, limits: limits, http: http)
            let loaded = [captionModel.map { _ in "caption" }, vqaModel.map { _ in "vqa" }, itmModel.map { _ in "itm" }, index.map { _ in "search" }]
                .compactMap { $0 }.joined(separator: ", ")
            let host = self.host
            let app = server.application(host: host, port: port) { port in
                FileHandle.standardOutput.write(Data("blip serve: listening on http://\(host):\(port) (models: \(loaded))\n".utf8))
            }
            let done = DispatchSemaphore(value: 0)
            let failure = ErrorBox()
            Task {
                do { try await app.runService() } catch { failure.set(error) }
                done.signal()
            }
            done.wait()
            if let error = failure.get() {
                if "\(error)".contains("Address already in use") {
                    throw ServeError(message: "port \(port) on \(host) is already in use (another blip serve?); choose another with --port, or --port 0 for any free port")
                }
                throw error
            }
        }
    }
}

/// A server start-up failure, in one line.
private struct ServeError: Error, LocalizedError {
    var message: String
    var errorDescription: String? { message }
}

/// An error handed from the server task to the command's thread.
private final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var error: Error?
    func set(_ e: Error) { lock.withLock { error = e } }
    func get() -> Error? { lock.withLock { error } }
}
