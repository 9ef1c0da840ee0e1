import BLIP
import Foundation

extension BenchCommand {
    /// ITM / ITC timings; filled in when BlipImageTextMatcher lands.
    func benchRetrieval(directory: URL, wanted: Set<String>, timer: inout BenchTimer, loadStart: Date) throws {
        throw BlipModelError.invalidInput("bench --task itm is not available yet")
    }
}
