import Foundation

/// Renders `[=====>    ] 120/500 images  3.2 img/s`.
public enum ProgressBar {
    public static func render(done: Int, total: Int, elapsed: Double, width: Int = 30, unit: String = "images") -> String {
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 1
        let filled = Int(fraction * Double(width))
        var bar: String
        if filled >= width {
            bar = String(repeating: "=", count: width)
        } else {
            bar = String(repeating: "=", count: filled) + ">" + String(repeating: " ", count: width - filled - 1)
        }
        bar = "[" + bar + "]"
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        return "\(bar) \(done)/\(total) \(unit)  \(String(format: "%.1f", rate)) \(unit == "images" ? "img" : unit)/s"
    }

    /// "  ETA 1m05s" from the pace so far ("" before the first item and once done).
    public static func eta(done: Int, total: Int, elapsed: Double) -> String {
        guard done > 0, done < total, elapsed > 0 else { return "" }
        let left = Int((Double(total - done) * elapsed / Double(done)).rounded())
        return left >= 60 ? "  ETA \(left / 60)m\(String(format: "%02d", left % 60))s" : "  ETA \(left)s"
    }
}
