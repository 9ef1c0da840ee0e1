import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps `--max-connections` below the process's open-file limit.
///
/// When accepted connections use up every file descriptor, `accept` fails with EMFILE; SwiftNIO
/// (2.101) then keeps the listening socket registered without passing a read through its
/// `AcceptBackoffHandler` (the pending read is not reset on that error), so the event loop spins
/// on `accept4` at full CPU and nothing new is served. Capping connections below the limit means
/// connections alone can never exhaust descriptors; over-cap connections are accepted and closed.
public enum FileDescriptorLimit {
    /// Descriptors kept for everything but client connections (model files, event loops, stdio,
    /// remote-image fetches, the over-cap connection being closed).
    public static let reserve = 64

    /// The connection cap to use for `requested`: raises the soft open-file limit up to the hard
    /// limit if needed, then returns `min(requested, softLimit - reserve)` (at least 1) and the
    /// soft limit in force.
    public static func fitConnections(_ requested: Int) -> (connections: Int, openFileLimit: Int) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE_VALUE), &limit) == 0 else { return (requested, Int.max) }
        let needed = rlim_t(clamping: requested + reserve)
        if limit.rlim_cur != unlimited, limit.rlim_cur < needed {
            var raised = limit
            raised.rlim_cur = limit.rlim_max == unlimited ? needed : min(needed, limit.rlim_max)
            if setrlimit(Int32(RLIMIT_NOFILE_VALUE), &raised) == 0 { limit = raised }
        }
        guard limit.rlim_cur != unlimited else { return (requested, Int.max) }
        let soft = Int(clamping: limit.rlim_cur)
        return (max(1, min(requested, soft - reserve)), soft)
    }
}

#if canImport(Glibc)
private let RLIMIT_NOFILE_VALUE = RLIMIT_NOFILE.rawValue
#else
private let RLIMIT_NOFILE_VALUE = RLIMIT_NOFILE
#endif

/// RLIM_INFINITY (all ones), which Swift cannot import from the C macro on Linux.
private let unlimited = rlim_t.max
