import BLIPIndex
import Foundation

/// Progress on stderr: a bar redrawn in place when stderr is a terminal, otherwise a plain line
/// every 5 seconds (for logs); both with the rate and an estimate of the time left.
final class ProgressReporter {
    private let unit: String
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var drewBar = false
    /// Seconds between plain lines when stderr is not a terminal.
    static let logInterval = 5.0

    init(unit: String) { self.unit = unit }

    func update(done: Int, total: Int, detail: String = "") {
        let now = Date()
        let elapsed = now.timeIntervalSince(start)
        let finished = done >= total
        let extra = (detail.isEmpty ? "" : "  \(detail)") + ProgressBar.eta(done: done, total: total, elapsed: elapsed)
        if isTerminal {
            guard finished || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
            lastDraw = now
            drewBar = true
            printRaw("\r" + ProgressBar.render(done: done, total: total, elapsed: elapsed, unit: unit) + extra + "\u{1B}[K")
        } else {
            if lastDraw == .distantPast { lastDraw = now }
            guard now.timeIntervalSince(lastDraw) >= Self.logInterval, !finished else { return }
            lastDraw = now
            printError("\(done)/\(total) \(unit)" + extra + String(format: ", %.0f s", elapsed))
        }
    }

    func finish() {
        if drewBar { printRaw("\n") }
    }

    private func printRaw(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }
}
