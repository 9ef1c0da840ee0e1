import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// How the server talks HTTP beyond its limits: CORS and logging.
public struct HTTPSettings: Sendable, Equatable {
    /// Origins browsers may call the API from (`Access-Control-Allow-Origin`); `["*"]` allows any.
    /// Empty: no CORS headers (same-origin pages only, like the built-in web page).
    public var corsOrigins: [String] = []
    /// One access-log line per request (method, path, status) at `.info`.
    public var accessLog = true
    /// Messages below this level are not logged.
    public var logLevel: Logger.Level = .info

    public init(corsOrigins: [String] = [], accessLog: Bool = true, logLevel: Logger.Level = .info) {
        self.corsOrigins = corsOrigins
        self.accessLog = accessLog
        self.logLevel = logLevel
    }
}

/// CORS for a list of origins: answers preflight `OPTIONS` requests with 204 and adds
/// `Access-Control-Allow-Origin` to responses for an allowed `Origin`.
struct CORSOriginsMiddleware<Context: RequestContext>: RouterMiddleware {
    let origins: Set<String>
    let allowAny: Bool

    init(origins: [String]) {
        self.origins = Set(origins)
        allowAny = origins.contains("*")
    }

    func allowed(_ origin: String?) -> String? {
        guard let origin else { return nil }
        if allowAny { return "*" }
        return origins.contains(origin) ? origin : nil
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let origin = allowed(request.headers[.origin])
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            var headers: HTTPFields = [:]
            if let origin {
                headers[.accessControlAllowOrigin] = origin
                headers[.accessControlAllowMethods] = "GET, POST, OPTIONS"
                headers[.accessControlAllowHeaders] = "Content-Type, Accept, Authorization"
                headers[.accessControlMaxAge] = "600"
                if !allowAny { headers[.vary] = "Origin" }
            }
            return Response(status: origin == nil ? .forbidden : .noContent, headers: headers)
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        if let origin {
            response.headers[.accessControlAllowOrigin] = origin
            if !allowAny { response.headers[.vary] = "Origin" }
        }
        return response
    }
}
