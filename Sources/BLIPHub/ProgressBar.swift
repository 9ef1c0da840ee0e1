import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A one-line download progress bar on standard error, drawn only when standard error is a terminal.
final class ProgressBar: @unchecked Sendable {
    private let label: String
    private let total: Int64
    private let enabled: Bool
    private var lastDraw = Date.distantPast
    private let start = Date()
    private let startBytes: Int64

    /// A bar for `label` of `total` bytes, `already` of which are on disk (resumed download).
    init(label: String, total: Int64, already: Int64, enabled: Bool) {
        self.label = label
        self.total = total
        self.startBytes = already
        self.enabled = enabled && isatty(STDERR_FILENO) == 1
    }

    /// Redraws at most ten times a second.
    func update(_ done: Int64, force: Bool = false) {
        guard enabled else { return }
        let now = Date()
        guard force || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = now
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 0
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let elapsed = max(now.timeIntervalSince(start), 0.001)
        let rate = Double(done - startBytes) / elapsed
        let line = String(format: "\r%@ [%@] %3d%% %@/%@ %@/s\u{1B}[K", label, bar, Int(fraction * 100),
                          Self.size(done), Self.size(total), Self.size(Int64(rate)))
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// Draws the final state and ends the line.
    func finish(_ done: Int64) {
        guard enabled else { return }
        update(done, force: true)
        FileHandle.standardError.write(Data("\n".utf8))
    }

    private static func size(_ bytes: Int64) -> String {
        let units = ["B", "kB", "MB", "GB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1000 && unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(bytes)B" : String(format: "%.1f%@", value, units[unit])
    }
}
