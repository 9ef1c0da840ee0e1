import Foundation

/// The official BLIP `pre_caption`: lower-case, the characters `.!"()*#:;~` become spaces, runs
/// of whitespace one space, trimmed, at most `maxWords` words.
public func preCaption(_ caption: String, maxWords: Int = 30) -> String {
    // Code points, as Python's str is (a Swift Character may hold "\r\n" as one).
    let removed: Set<Unicode.Scalar> = Set(".!\"()*#:;~".unicodeScalars)
    var scalars: [Unicode.Scalar] = []
    for scalar in caption.lowercased().unicodeScalars { scalars.append(removed.contains(scalar) ? " " : scalar) }
    // re.sub(r"\s{2,}", ' ', ...): runs of two or more whitespace characters become one space.
    var out: [Unicode.Scalar] = []
    var run: [Unicode.Scalar] = []
    func flush() {
        out += run.count >= 2 ? [" "] : run
        run = []
    }
    for scalar in scalars {
        if scalar.properties.isWhitespace { run.append(scalar); continue }
        flush()
        out.append(scalar)
    }
    flush()
    while out.last == "\n" { out.removeLast() }  // rstrip('\n')
    while out.first == " " { out.removeFirst() }  // strip(' ')
    while out.last == " " { out.removeLast() }
    var text = ""
    text.unicodeScalars.append(contentsOf: out)
    let words = text.components(separatedBy: " ")
    return words.count > maxWords ? words.prefix(maxWords).joined(separator: " ") : text
}
