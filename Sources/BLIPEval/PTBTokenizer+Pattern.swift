import Foundation

// Parsing of the rule patterns (written in `PTBTokenizer+Rules.swift`) and the Unicode
// character classes they refer to.
//
// Pattern syntax: literals; `\.` style escapes; `\uXXXX`; `\t \n \r \f`; `.` for any code unit;
// `[...]` / `[^...]` classes with ranges (`[^]` is any code unit); `\p{letter}`, `\p{digit}` and
// `\p{upper}` inside or outside classes; `( )`, `|`, `*`, `+`, `?`, `{m}`, `{m,n}`.
// Literal letters outside classes match case-insensitively (the lexer is caseless); classes
// match exactly as written.

extension PTBTokenizer {
    /// The Unicode version of the lexer's character tables (the jar's scanner predates 7.0).
    private static func isOldEnough(_ scalar: Unicode.Scalar) -> Bool {
        guard let age = scalar.properties.age else { return false }
        return age.major < 6 || (age.major == 6 && age.minor <= 3)
    }

    private static func scalarProperty(_ unit: UInt32, _ test: (Unicode.Scalar) -> Bool) -> Bool {
        guard let scalar = Unicode.Scalar(unit), isOldEnough(scalar) else { return false }
        return test(scalar)
    }

    /// Letters (general category L*) of the Basic Multilingual Plane, as categorised in
    /// Unicode 6.3: U+1885-1886 were letters then; U+19B0-19C0, U+19C8-19C9, U+1CF2-1CF3 marks.
    static let letterUnits = UnitSet.scanning { unit in
        if (0x1885...0x1886).contains(unit) { return true }
        if (0x19B0...0x19C0).contains(unit) || (0x19C8...0x19C9).contains(unit) || (0x1CF2...0x1CF3).contains(unit) {
            return false
        }
        return scalarProperty(unit) { scalar in
            switch scalar.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
            default: return false
            }
        }
    }

    /// Decimal digits (general category Nd) of the Basic Multilingual Plane.
    static let digitUnits = UnitSet.scanning { unit in
        scalarProperty(unit) { $0.properties.generalCategory == .decimalNumber }
    }

    /// Upper-case characters (the derived Uppercase property) of the Basic Multilingual Plane;
    /// Cherokee U+13A0-13F4 had no case before Unicode 8.0.
    static let upperUnits = UnitSet.scanning { unit in
        !(0x13A0...0x13F4).contains(unit) && scalarProperty(unit) { $0.properties.isUppercase }
    }

    /// The code units a literal matches in a caseless scanner.
    private static func caselessUnits(_ unit: UInt32) -> UnitSet {
        var units: [UInt32] = [unit]
        if (0x41...0x5A).contains(unit) || (0x61...0x7A).contains(unit) {
            let lower = unit | 0x20
            units += [lower, lower - 0x20]
            switch lower {
            case 0x69: units += [0x130, 0x131]   // i: dotted capital I, dotless i
            case 0x6B: units += [0x212A]         // k: Kelvin sign
            case 0x73: units += [0x17F]          // s: long s
            default: break
            }
        }
        return UnitSet(ranges: units.map { ($0, $0) })
    }

    /// Parses `source`; malformed input is read leniently (it only ever comes from the rules file).
    static func parsePattern(_ source: String) -> Pattern {
        var parser = PatternParser(scalars: Array(source.unicodeScalars))
        return parser.parseChoice()
    }

    private struct PatternParser {
        let scalars: [Unicode.Scalar]
        var index = 0

        private var peek: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

        private mutating func take() -> Unicode.Scalar? {
            guard index < scalars.count else { return nil }
            index += 1
            return scalars[index - 1]
        }

        mutating func parseChoice() -> Pattern {
            var options = [parseSequence()]
            while peek == "|" {
                index += 1
                options.append(parseSequence())
            }
            return options.count == 1 ? options[0] : .choice(options)
        }

        private mutating func parseSequence() -> Pattern {
            var parts: [Pattern] = []
            while let next = peek, next != "|", next != ")" {
                var atom = parseAtom()
                while let quantifier = parseQuantifier() {
                    atom = .repeated(atom, min: quantifier.min, max: quantifier.max)
                }
                parts.append(atom)
            }
            return parts.count == 1 ? parts[0] : .sequence(parts)
        }

        private mutating func parseQuantifier() -> (min: Int, max: Int?)? {
            switch peek {
            case "*": index += 1; return (0, nil)
            case "+": index += 1; return (1, nil)
            case "?": index += 1; return (0, 1)
            case "{":
                index += 1
                let low = parseNumber()
                var high: Int? = low
                if peek == "," {
                    index += 1
                    high = parseNumber()
                }
                if peek == "}" { index += 1 }
                return (low, max(high ?? low, low))
            default: return nil
            }
        }

        private mutating func parseNumber() -> Int {
            var value = 0
            while let next = peek, (0x30...0x39).contains(next.value) {
                value = min(value * 10 + Int(next.value - 0x30), 1_000)
                index += 1
            }
            return value
        }

        private mutating func parseAtom() -> Pattern {
            guard let next = take() else { return .sequence([]) }
            switch next {
            case "(":
                let inner = parseChoice()
                if peek == ")" { index += 1 }
                return inner
            case "[":
                return .units(parseClass())
            case ".":
                return .units(.all)
            case "\\":
                if let named = parseNamedClass() { return .units(named) }
                return .units(.single(parseEscape()))
            default:
                return .units(PTBTokenizer.caselessUnits(next.value))
            }
        }

        /// After a backslash: `p{letter}` etc., or nil (leaving the position unchanged).
        private mutating func parseNamedClass() -> UnitSet? {
            guard peek == "p", index + 1 < scalars.count, scalars[index + 1] == "{" else { return nil }
            var name = ""
            var cursor = index + 2
            while cursor < scalars.count, scalars[cursor] != "}" {
                name.unicodeScalars.append(scalars[cursor])
                cursor += 1
            }
            index = min(cursor + 1, scalars.count)
            switch name {
            case "letter": return PTBTokenizer.letterUnits
            case "digit": return PTBTokenizer.digitUnits
            case "upper": return PTBTokenizer.upperUnits
            default: return UnitSet(ranges: [])
            }
        }

        /// After a backslash (not a named class): the escaped code unit.
        private mutating func parseEscape() -> UInt32 {
            guard let next = take() else { return 0x5C }
            switch next {
            case "t": return 0x09
            case "n": return 0x0A
            case "r": return 0x0D
            case "f": return 0x0C
            case "u":
                var value: UInt32 = 0
                for _ in 0..<4 {
                    guard let digit = peek, let hex = UInt32(String(digit), radix: 16) else { break }
                    value = value * 16 + hex
                    index += 1
                }
                return value
            default: return next.value
            }
        }

        private mutating func parseClassUnit() -> UInt32 {
            guard let next = take() else { return 0 }
            return next == "\\" ? parseEscape() : next.value
        }

        /// After `[`: the class up to and including the closing `]`.
        private mutating func parseClass() -> UnitSet {
            var negated = false
            if peek == "^" {
                negated = true
                index += 1
            }
            var set = UnitSet(ranges: [])
            var ranges: [(UInt32, UInt32)] = []
            while let next = peek, next != "]" {
                if next == "\\", let named = parseNamedClassAfterBackslash() {
                    set = set.union(named)
                    continue
                }
                let low = parseClassUnit()
                if peek == "-", index + 1 < scalars.count, scalars[index + 1] != "]" {
                    index += 1
                    ranges.append((low, parseClassUnit()))
                } else {
                    ranges.append((low, low))
                }
            }
            if peek == "]" { index += 1 }
            set = set.union(UnitSet(ranges: ranges))
            return negated ? set.inverted() : set
        }

        private mutating func parseNamedClassAfterBackslash() -> UnitSet? {
            let saved = index
            index += 1
            if let named = parseNamedClass() { return named }
            index = saved
            return nil
        }
    }
}
