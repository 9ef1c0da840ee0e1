import Foundation
import NIOCore
import NIOHTTPTypes

/// Open connections of one server, against `--max-connections`.
final class ConnectionLimiter: @unchecked Sendable {
    private let lock = NSLock()
    private var open = 0
    private var rejected = 0
    /// Connections open at once at most.
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Counts a new connection; false (counted as rejected) when `limit` are already open.
    func tryOpen() -> Bool {
        lock.withLock {
            guard open < limit else {
                rejected += 1
                return false
            }
            open += 1
            return true
        }
    }

    func close() { lock.withLock { open -= 1 } }

    /// Connections open now.
    var openCount: Int { lock.withLock { open } }
    /// Connections closed on accept because `limit` were open.
    var rejectedCount: Int { lock.withLock { rejected } }
}

/// Per-connection guard, placed after HTTP decoding:
/// - closes the connection at once when the server already holds `--max-connections`;
/// - closes a new connection whose first request head has not arrived within `headDeadline`
///   (between keep-alive requests Hummingbird's idle timeout applies);
/// - closes the connection when a request's body has not ended within `bodyDeadline` of its head
///   (a backstop: the route answers 408 earlier, at `--request-timeout`).
final class ConnectionGuardHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private let limiter: ConnectionLimiter
    private let headDeadline: TimeAmount
    private let bodyDeadline: TimeAmount
    private var activated = false
    private var counted = false
    private var timer: Scheduled<Void>?

    init(limiter: ConnectionLimiter, headDeadline: TimeAmount, bodyDeadline: TimeAmount) {
        self.limiter = limiter
        self.headDeadline = headDeadline
        self.bodyDeadline = bodyDeadline
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { activate(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        activate(context)
        context.fireChannelActive()
    }

    private func activate(_ context: ChannelHandlerContext) {
        guard !activated else { return }
        activated = true
        if limiter.tryOpen() {
            counted = true
            schedule(context, in: headDeadline)
        } else {
            // After the pipeline is set up (this may run while Hummingbird is still adding handlers).
            context.eventLoop.assumeIsolated().execute { context.close(promise: nil) }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: schedule(context, in: bodyDeadline)
        case .end: cancelTimer()
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { finish() }

    private func finish() {
        cancelTimer()
        if counted {
            counted = false
            limiter.close()
        }
    }

    private func schedule(_ context: ChannelHandlerContext, in delay: TimeAmount) {
        cancelTimer()
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
            context.close(promise: nil)
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
    }
}
