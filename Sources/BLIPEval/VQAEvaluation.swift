import Foundation

/// One question of a VQA ground truth (the VQAv2 annotation record).
public struct VQAGroundTruth: Sendable, Equatable {
    public var questionId: Int
    public var questionType: String
    public var answerType: String
    /// The 10 human answers, in file order.
    public var answers: [String]

    public init(questionId: Int, questionType: String, answerType: String, answers: [String]) {
        self.questionId = questionId
        self.questionType = questionType
        self.answerType = answerType
        self.answers = answers
    }
}

/// Accuracy as the official VQA evaluation reports it (percent, rounded to 2 decimals as
/// Python's `round(x, 2)` rounds).
public struct VQAAccuracy: Sendable, Equatable {
    public var overall: Double
    public var perQuestionType: [String: Double]
    public var perAnswerType: [String: Double]
    /// Per question id, percent rounded to 2 decimals.
    public var perQuestion: [Int: Double]
}

/// Port of the official VQA evaluation (`vqaEval.py` of the VQA API, as LAVIS ships it):
/// answer normalisation and the leave-one-out accuracy min(#matches / 3, 1).
public enum VQAEvaluation {
    /// Scores `results[questionId]` against every ground-truth question (each needs a result).
    public static func evaluate(groundTruth: [VQAGroundTruth], results: [Int: String]) throws -> VQAAccuracy {
        var all: [Double] = []
        var byQuestion: [String: [Double]] = [:], byAnswer: [String: [Double]] = [:]
        var perQuestion: [Int: Double] = [:]
        for gt in groundTruth {
            guard let answer = results[gt.questionId] else {
                throw EvalError.invalid("question \(gt.questionId) has no answer in the results (the official evaluation needs one for every question)")
            }
            let acc = accuracy(answer: answer, groundTruth: gt.answers)
            all.append(acc)
            byQuestion[gt.questionType, default: []].append(acc)
            byAnswer[gt.answerType, default: []].append(acc)
            perQuestion[gt.questionId] = round2(100 * acc)
        }
        func percent(_ v: [Double]) -> Double { round2(100 * v.reduce(0, +) / Double(v.count)) }
        return VQAAccuracy(overall: all.isEmpty ? .nan : percent(all), perQuestionType: byQuestion.mapValues(percent),
                           perAnswerType: byAnswer.mapValues(percent), perQuestion: perQuestion)
    }

    /// The accuracy of one answer (0...1): the result goes through `processPunctuation` and
    /// `processDigitArticle`; the human answers through `processPunctuation` only, and only when
    /// they are not all the same (the official code's quirk); then for each human answer, the
    /// matches among the other nine, /3, capped at 1, averaged.
    public static func accuracy(answer: String, groundTruth: [String]) -> Double {
        guard !groundTruth.isEmpty else { return 0 }
        let result = processDigitArticle(processPunctuation(
            answer.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\t", with: " ").pythonStrip()))
        let gts = Set(groundTruth).count > 1 ? groundTruth.map(processPunctuation) : groundTruth
        var total = 0.0
        for i in gts.indices {
            var matches = 0
            for j in gts.indices where j != i && gts[j] == result { matches += 1 }
            total += min(1, Double(matches) / 3)
        }
        return total / Double(gts.count)
    }

    static let punctuation = [";", "/", "[", "]", "\"", "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",", "?", "!"]

    /// `processPunctuation`: each mark is removed when it touches a space in the input (or the
    /// input has a digit,digit comma), else it becomes a space; then periods not followed by a
    /// digit are removed — at most 32 of them, because the official code passes `re.UNICODE`
    /// (32) where `re.sub` takes its count.
    public static func processPunctuation(_ text: String) -> String {
        // Code points throughout, as Python's str (a Swift Character can join a mark to its neighbour).
        let input = Array(text.unicodeScalars)
        var out = input
        let commaBetweenDigits = hasDigitCommaDigit(text)
        let space: Unicode.Scalar = " "
        for p in punctuation {
            let mark = p.unicodeScalars.first!
            if contains(input, [mark, space]) || contains(input, [space, mark]) || commaBetweenDigits {
                out.removeAll { $0 == mark }
            } else {
                out = out.map { $0 == mark ? space : $0 }
            }
        }
        // periodStrip = "(?!<=\d)(\.)(?!\d)": its first group is a lookahead (a typo for a
        // lookbehind) that never fails at a period, so only "not followed by a digit" counts.
        var scalars: [Unicode.Scalar] = []
        var removed = 0
        for (i, c) in out.enumerated() {
            if c == ".", removed < 32, !(i + 1 < out.count && isDecimalDigit(out[i + 1])) {
                removed += 1
                continue
            }
            scalars.append(c)
        }
        var s = String.UnicodeScalarView()
        s.append(contentsOf: scalars)
        return String(s)
    }

    static func contains(_ s: [Unicode.Scalar], _ pair: [Unicode.Scalar]) -> Bool {
        guard s.count >= 2 else { return false }
        return (0..<(s.count - 1)).contains { s[$0] == pair[0] && s[$0 + 1] == pair[1] }
    }

    static let numbers = ["none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
                          "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10"]
    static let articles: Set<String> = ["a", "an", "the"]

    /// `processDigitArticle`: lower-case, split on whitespace, number words to digits, articles
    /// dropped, contractions restored ("dont" → "don't").
    public static func processDigitArticle(_ text: String) -> String {
        var words: [String] = []
        for word in CaptionMetrics.pythonSplit(text.lowercased()) {
            let w = numbers[word] ?? word
            if !articles.contains(w) { words.append(w) }
        }
        return words.map { vqaContractions[$0] ?? $0 }.joined(separator: " ")
    }

    /// Python's `\d` in a `str` pattern: any Unicode decimal digit.
    static func isDecimalDigit(_ s: Unicode.Scalar) -> Bool { s.properties.numericType == .decimal }

    static func hasDigitCommaDigit(_ text: String) -> Bool {
        let s = Array(text.unicodeScalars)
        guard s.count >= 3 else { return false }
        for i in 1..<(s.count - 1) where s[i] == "," && isDecimalDigit(s[i - 1]) && isDecimalDigit(s[i + 1]) { return true }
        return false
    }

    /// Python's `round(x, 2)`: the correctly rounded decimal of the binary value, ties to even.
    static func round2(_ x: Double) -> Double {
        guard x.isFinite else { return x }
        return Double(String(format: "%.2f", x)) ?? x
    }
}

extension String {
    /// Python's `str.strip()` (whitespace as `str.isspace`).
    func pythonStrip() -> String {
        let isSpace = { (c: Unicode.Scalar) in c.properties.isWhitespace || (0x1C...0x1F).contains(c.value) }
        var scalars = Substring(self).unicodeScalars[...]
        while let f = scalars.first, isSpace(f) { scalars.removeFirst() }
        while let l = scalars.last, isSpace(l) { scalars.removeLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}
