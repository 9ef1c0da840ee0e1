import Foundation

/// Renders `[=====>    ] 120/500 images  3.2 img/s`.
public enum ProgressBar {
    public static func render(done: Int, total: Int, elapsed: Double, width: Int = 30) -> String {
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
        return "\(bar) \(done)/\(total) images  \(String(format: "%.1f", rate)) img/s"
    }
}
