import Foundation

// A small regular-expression engine over UTF-16 code units, enough to run the PTB lexer rules
// the way a JFlex scanner does: all rules at once, the longest match wins, ties go to the
// earliest rule, and a rule may carry trailing context (`r1/r2`) that is matched but not consumed.

extension PTBTokenizer {
    /// A set of UTF-16 code units kept as sorted, disjoint, non-adjacent closed ranges.
    struct UnitSet: Sendable {
        /// Flattened pairs: lower bound, upper bound, lower bound, upper bound, ...
        private(set) var bounds: [UInt32]

        init(ranges: [(UInt32, UInt32)]) {
            let sorted = ranges.filter { $0.0 <= $0.1 }.sorted { $0.0 < $1.0 }
            var merged: [UInt32] = []
            for (lo, hi) in sorted {
                if let last = merged.last, lo <= last &+ 1 {
                    merged[merged.count - 1] = max(last, hi)
                } else {
                    merged.append(lo)
                    merged.append(hi)
                }
            }
            bounds = merged
        }

        static func single(_ unit: UInt32) -> UnitSet { UnitSet(ranges: [(unit, unit)]) }
        static let all = UnitSet(ranges: [(0, 0xFFFF)])

        /// The code units for which `predicate` holds, scanning the whole BMP once.
        static func scanning(_ predicate: (UInt32) -> Bool) -> UnitSet {
            var ranges: [(UInt32, UInt32)] = []
            var start: UInt32? = nil
            for unit in UInt32(0)...0x10000 {
                let inside = unit <= 0xFFFF && predicate(unit)
                if inside, start == nil { start = unit }
                if !inside, let lo = start {
                    ranges.append((lo, unit - 1))
                    start = nil
                }
            }
            return UnitSet(ranges: ranges)
        }

        var pairs: [(UInt32, UInt32)] {
            stride(from: 0, to: bounds.count - 1, by: 2).map { (bounds[$0], bounds[$0 + 1]) }
        }

        func union(_ other: UnitSet) -> UnitSet { UnitSet(ranges: pairs + other.pairs) }

        func subtracting(_ other: UnitSet) -> UnitSet { inverted().union(other).inverted() }

        func inverted() -> UnitSet {
            var result: [(UInt32, UInt32)] = []
            var next: UInt32 = 0
            for (lo, hi) in pairs {
                if lo > next { result.append((next, lo - 1)) }
                next = hi + 1
            }
            if next <= 0xFFFF { result.append((next, 0xFFFF)) }
            return UnitSet(ranges: result)
        }

        func contains(_ unit: UInt16) -> Bool {
            let value = UInt32(unit)
            var low = 0
            var high = bounds.count / 2 - 1
            while low <= high {
                let mid = (low + high) / 2
                if value < bounds[2 * mid] {
                    high = mid - 1
                } else if value > bounds[2 * mid + 1] {
                    low = mid + 1
                } else {
                    return true
                }
            }
            return false
        }
    }

    /// A parsed pattern.
    indirect enum Pattern: Sendable {
        case units(UnitSet)
        case sequence([Pattern])
        case choice([Pattern])
        case repeated(Pattern, min: Int, max: Int?)
    }

    /// One state of a Thompson NFA.
    enum State: Sendable {
        case consume(set: Int, next: Int)
        case fork([Int])
        case accept(tag: Int)
    }

    /// A compiled automaton; each entry point leads to `accept` states carrying a tag.
    struct Automaton: Sendable {
        var states: [State] = []
        var sets: [UnitSet] = []
        private var setIndices: [[UInt32]: Int] = [:]

        /// Adds `pattern` so that matching it continues at `next`; returns its entry state.
        mutating func add(_ pattern: Pattern, next: Int) -> Int {
            switch pattern {
            case .units(let set):
                let setIndex: Int
                if let known = setIndices[set.bounds] {
                    setIndex = known
                } else {
                    setIndex = sets.count
                    sets.append(set)
                    setIndices[set.bounds] = setIndex
                }
                states.append(.consume(set: setIndex, next: next))
                return states.count - 1
            case .sequence(let parts):
                var entry = next
                for part in parts.reversed() { entry = add(part, next: entry) }
                return entry
            case .choice(let options):
                let entries = options.map { add($0, next: next) }
                states.append(.fork(entries))
                return states.count - 1
            case .repeated(let body, let min, let max):
                var entry = next
                if let max {
                    for _ in 0..<Swift.max(0, max - min) {
                        let bodyEntry = add(body, next: entry)
                        states.append(.fork([bodyEntry, next]))
                        entry = states.count - 1
                    }
                } else {
                    states.append(.fork([]))
                    let loop = states.count - 1
                    let bodyEntry = add(body, next: loop)
                    states[loop] = .fork([bodyEntry, next])
                    entry = loop
                }
                for _ in 0..<min { entry = add(body, next: entry) }
                return entry
            }
        }

        /// Adds `patterns` in sequence ending in an accepting state with `tag`; returns the entry.
        mutating func addRule(_ patterns: [Pattern], tag: Int) -> Int {
            states.append(.accept(tag: tag))
            return add(.sequence(patterns), next: states.count - 1)
        }

        /// Adds a state that forks to all `entries` (tried together); returns it.
        mutating func addUnion(_ entries: [Int]) -> Int {
            states.append(.fork(entries))
            return states.count - 1
        }
    }

    /// Partition of the BMP into classes of code units that no pattern set tells apart.
    struct UnitClasses: Sendable {
        let classOf: [UInt16]
        let representatives: [UInt16]

        init(_ sets: [UnitSet]) {
            var cuts: Set<UInt32> = [0, 0x10000]
            for set in sets {
                for (low, high) in set.pairs {
                    cuts.insert(low)
                    cuts.insert(high + 1)
                }
            }
            let sortedCuts = cuts.sorted()
            var classOf = [UInt16](repeating: 0, count: 0x10000)
            var representatives: [UInt16] = []
            var ids: [[Bool]: UInt16] = [:]
            for (low, next) in zip(sortedCuts, sortedCuts.dropFirst()) where low < next && low <= 0xFFFF {
                let unit = UInt16(low)
                let signature = sets.map { $0.contains(unit) }
                let id: UInt16
                if let known = ids[signature] {
                    id = known
                } else {
                    id = UInt16(representatives.count)
                    ids[signature] = id
                    representatives.append(unit)
                }
                for value in low..<min(next, 0x10000) { classOf[Int(value)] = id }
            }
            self.classOf = classOf
            self.representatives = representatives
        }
    }

    /// A lazily built DFA over an automaton (subset construction, states cached as they are
    /// first needed). Shared by all callers; a lock guards the cache.
    final class LazyDFA: @unchecked Sendable {
        static let dead: Int32 = -1
        private static let unknown: Int32 = -2

        private let automaton: Automaton
        private let classes: UnitClasses
        private let lock = NSLock()
        private var stateSets: [[Int]] = []
        private var acceptTags: [Int] = []
        private var table: [[Int32]] = []
        private var index: [[Int]: Int32] = [:]
        private var entries: [Int: Int32] = [:]
        private var marks: [Int]
        private var generation = 0

        init(_ automaton: Automaton) {
            self.automaton = automaton
            classes = UnitClasses(automaton.sets)
            marks = Array(repeating: 0, count: automaton.states.count)
        }

        /// The DFA state for an automaton entry state.
        func entry(_ state: Int) -> Int32 {
            lock.lock()
            defer { lock.unlock() }
            if let known = entries[state] { return known }
            let id = intern(closure([state]))
            entries[state] = id
            return id
        }

        /// The smallest rule tag accepting in `state`, or Int.max.
        func acceptTag(_ state: Int32) -> Int {
            lock.lock()
            defer { lock.unlock() }
            return acceptTags[Int(state)]
        }

        /// The state after reading `unit` from `state` (or `LazyDFA.dead`), with its accept tag.
        func step(_ state: Int32, _ unit: UInt16) -> (Int32, Int) {
            let unitClass = Int(classes.classOf[Int(unit)])
            lock.lock()
            defer { lock.unlock() }
            var target = table[Int(state)][unitClass]
            if target == LazyDFA.unknown {
                let representative = classes.representatives[unitClass]
                var seeds: [Int] = []
                for nfaState in stateSets[Int(state)] {
                    if case .consume(let set, let next) = automaton.states[nfaState],
                       automaton.sets[set].contains(representative) {
                        seeds.append(next)
                    }
                }
                let closed = closure(seeds)
                target = closed.0.isEmpty && closed.1 == Int.max ? LazyDFA.dead : intern(closed)
                table[Int(state)][unitClass] = target
            }
            return (target, target == LazyDFA.dead ? Int.max : acceptTags[Int(target)])
        }

        /// Consuming states reachable from `seeds` (sorted) and the smallest accept tag met.
        private func closure(_ seeds: [Int]) -> ([Int], Int) {
            generation += 1
            var stack = Array(seeds.reversed())
            var consuming: [Int] = []
            var best = Int.max
            while let state = stack.popLast() {
                guard state >= 0, state < marks.count, marks[state] != generation else { continue }
                marks[state] = generation
                switch automaton.states[state] {
                case .consume: consuming.append(state)
                case .fork(let targets): stack.append(contentsOf: targets.reversed())
                case .accept(let tag): best = min(best, tag)
                }
            }
            return (consuming.sorted(), best)
        }

        private func intern(_ closed: ([Int], Int)) -> Int32 {
            let key = closed.0 + [closed.1]
            if let known = index[key] { return known }
            let id = Int32(stateSets.count)
            stateSets.append(closed.0)
            acceptTags.append(closed.1)
            table.append([Int32](repeating: LazyDFA.unknown, count: classes.representatives.count))
            index[key] = id
            return id
        }

        /// Longest non-empty match from `position` (not reading at or beyond `limit`): its end
        /// and accept tag; with `recordEnds`, also whether a match of each length exists.
        func longest(from entryState: Int, in text: [UInt16], at position: Int, limit: Int,
                     recordEnds: Bool = false) -> (match: (end: Int, tag: Int)?, ends: [Bool]) {
            var state = entry(entryState)
            var ends = recordEnds ? [acceptTag(state) != Int.max] : []
            var result: (end: Int, tag: Int)? = nil
            var cursor = position
            while cursor < limit {
                let (next, tag) = step(state, text[cursor])
                if next == LazyDFA.dead { break }
                cursor += 1
                state = next
                if recordEnds { ends.append(tag != Int.max) }
                if tag != Int.max { result = (cursor, tag) }
            }
            return (result, ends)
        }

        /// `longest` for repeated scans of one text: `fruitless` remembers the (state, position)
        /// pairs from which no match can grow any longer, so later scans stop there (keeping
        /// tokenisation linear on inputs like "x,x,x,..." where a scan could run to the end).
        func longest(from entryState: Int, in text: [UInt16], at position: Int,
                     fruitless: inout Set<UInt64>) -> (end: Int, tag: Int)? {
            var state = entry(entryState)
            var result: (end: Int, tag: Int)? = nil
            var trail: [UInt64] = []
            var cursor = position
            while cursor < text.count {
                let key = UInt64(UInt32(bitPattern: state)) << 32 | UInt64(cursor)
                if fruitless.contains(key) { break }
                trail.append(key)
                let (next, tag) = step(state, text[cursor])
                if next == LazyDFA.dead { break }
                cursor += 1
                state = next
                if tag != Int.max {
                    result = (cursor, tag)
                    trail.removeAll(keepingCapacity: true)
                }
            }
            fruitless.formUnion(trail)
            return result
        }

        /// Whether `text[from..<to]` is matched exactly from `entryState`.
        func matchesExactly(from entryState: Int, in text: [UInt16], from start: Int, to end: Int) -> Bool {
            var state = entry(entryState)
            var tag = acceptTag(state)
            for cursor in start..<max(start, end) {
                (state, tag) = step(state, text[cursor])
                if state == LazyDFA.dead { return false }
            }
            return tag != Int.max
        }
    }
}
