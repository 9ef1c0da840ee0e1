import Foundation
import Hummingbird

/// Counters and histograms served as Prometheus text by `GET /metrics`.
public final class ServerMetrics: @unchecked Sendable {
    /// Request latency buckets, seconds.
    static let latencyBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
    /// Batch size buckets.
    static let batchBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64]

    private struct Histogram {
        var buckets: [Int]
        var sum = 0.0
        var count = 0

        init(bounds: Int) { buckets = Array(repeating: 0, count: bounds) }

        mutating func observe(_ value: Double, bounds: [Double]) {
            for (i, b) in bounds.enumerated() where value <= b { buckets[i] += 1 }
            sum += value
            count += 1
        }
    }

    private struct RequestKey: Hashable { var route: String, method: String, status: Int }

    private let lock = NSLock()
    private var requests: [RequestKey: Int] = [:]
    private var latency: [String: Histogram] = [:]
    private var queueDepth: [String: Int] = [:]
    private var batchSizes: [String: Histogram] = [:]
    private var inFlight = 0

    public init() {}

    /// Records one finished request.
    public func recordRequest(route: String, method: String, status: Int, seconds: Double) {
        lock.withLock {
            requests[RequestKey(route: route, method: method, status: status), default: 0] += 1
            latency[route, default: Histogram(bounds: Self.latencyBuckets.count)].observe(seconds, bounds: Self.latencyBuckets)
        }
    }

    /// Tracks a model's batcher.
    public func record(model: String, event: BatcherEvent) {
        lock.withLock {
            switch event {
            case .queueDepth(let d): queueDepth[model] = d
            case .batch(let size):
                batchSizes[model, default: Histogram(bounds: Self.batchBuckets.count)].observe(Double(size), bounds: Self.batchBuckets)
            }
        }
    }

    func adjustInFlight(_ delta: Int) {
        lock.withLock { inFlight += delta }
    }

    /// Requests handled so far with `route` and `status` (tests).
    public func requestCount(route: String, status: Int) -> Int {
        lock.withLock { requests.filter { $0.key.route == route && $0.key.status == status }.values.reduce(0, +) }
    }

    /// Batch sizes seen for `model`: (count of batches, sum of sizes).
    public func batchStats(model: String) -> (batches: Int, requests: Int) {
        lock.withLock { (batchSizes[model]?.count ?? 0, Int(batchSizes[model]?.sum ?? 0)) }
    }

    /// Prometheus text exposition format 0.0.4.
    public func prometheusText() -> String {
        lock.withLock {
            var out = ""
            out += "# HELP blip_http_requests_total HTTP requests by route, method and status.\n"
            out += "# TYPE blip_http_requests_total counter\n"
            for (k, v) in requests.sorted(by: { ($0.key.route, $0.key.method, $0.key.status) < ($1.key.route, $1.key.method, $1.key.status) }) {
                out += "blip_http_requests_total{route=\"\(escape(k.route))\",method=\"\(k.method)\",status=\"\(k.status)\"} \(v)\n"
            }
            out += "# HELP blip_http_request_duration_seconds HTTP request latency by route.\n"
            out += "# TYPE blip_http_request_duration_seconds histogram\n"
            for (route, h) in latency.sorted(by: { $0.key < $1.key }) {
                out += histogramLines("blip_http_request_duration_seconds", label: "route=\"\(escape(route))\"", h, Self.latencyBuckets)
            }
            out += "# HELP blip_http_requests_in_flight Requests being handled.\n"
            out += "# TYPE blip_http_requests_in_flight gauge\n"
            out += "blip_http_requests_in_flight \(inFlight)\n"
            out += "# HELP blip_queue_depth Requests waiting for a model.\n"
            out += "# TYPE blip_queue_depth gauge\n"
            for (model, d) in queueDepth.sorted(by: { $0.key < $1.key }) {
                out += "blip_queue_depth{model=\"\(model)\"} \(d)\n"
            }
            out += "# HELP blip_batch_size Requests per model batch.\n"
            out += "# TYPE blip_batch_size histogram\n"
            for (model, h) in batchSizes.sorted(by: { $0.key < $1.key }) {
                out += histogramLines("blip_batch_size", label: "model=\"\(model)\"", h, Self.batchBuckets)
            }
            return out
        }
    }

    private func histogramLines(_ name: String, label: String, _ h: Histogram, _ bounds: [Double]) -> String {
        var out = ""
        for (i, b) in bounds.enumerated() {
            out += "\(name)_bucket{\(label),le=\"\(format(b))\"} \(h.buckets[i])\n"
        }
        out += "\(name)_bucket{\(label),le=\"+Inf\"} \(h.count)\n"
        out += "\(name)_sum{\(label)} \(h.sum)\n"
        out += "\(name)_count{\(label)} \(h.count)\n"
        return out
    }

    private func format(_ v: Double) -> String {
        v == v.rounded() ? String(Int(v)) : String(v)
    }

    private func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}

/// Records every request's route, status and latency, and turns every error into a JSON
/// `{"error", "error_type"}` response (404 for unknown paths, 405 for known paths with another method).
struct ErrorAndMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics
    let knownRoutes: [String: [String]]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        metrics.adjustInFlight(1)
        defer { metrics.adjustInFlight(-1) }
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && context.endpointPath == "NotFound" {
            let path = request.uri.path
            if let methods = knownRoutes[path] {
                response = APIError(.methodNotAllowed, "method_not_allowed", "\(request.method.rawValue) is not allowed on \(path)",
                                    headers: [.allow: methods.joined(separator: ", ")]).jsonResponse()
            } else {
                response = APIError(.notFound, "not_found", "no route for \(request.method.rawValue) \(path)").jsonResponse()
            }
        } catch {
            response = APIError.from(error).jsonResponse()
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let route = context.endpointPath.map { $0 == "NotFound" ? "unmatched" : $0 } ?? "unmatched"
        metrics.recordRequest(route: route, method: request.method.rawValue, status: response.status.code, seconds: seconds)
        return response
    }
}
