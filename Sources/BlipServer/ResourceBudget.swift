import Foundation

/// A shared budget of some resource (buffered body bytes, decoded pixels) that requests reserve
/// from and give back. Thread-safe; never blocks: a reservation that does not fit fails at once.
final class ResourceBudget: @unchecked Sendable {
    private let lock = NSLock()
    private var used = 0
    /// The whole budget.
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Amount reserved now.
    var inUse: Int { lock.withLock { used } }

    /// Takes `amount` if it fits in what is left; false (and nothing taken) otherwise.
    func tryReserve(_ amount: Int) -> Bool {
        let amount = max(0, amount)
        return lock.withLock {
            guard amount <= limit - used else { return false }
            used += amount
            return true
        }
    }

    /// Gives back `amount` taken by `tryReserve`.
    func release(_ amount: Int) {
        lock.withLock { used = max(0, used - amount) }
    }
}

/// What one request holds from a `ResourceBudget`; `releaseAll()` gives it back (idempotent).
final class BudgetReservation: @unchecked Sendable {
    private let lock = NSLock()
    private let budget: ResourceBudget
    private var held = 0

    init(_ budget: ResourceBudget) { self.budget = budget }

    /// Reserves `amount` more; false if the budget cannot give it.
    func add(_ amount: Int) -> Bool {
        guard budget.tryReserve(amount) else { return false }
        lock.withLock { held += amount }
        return true
    }

    /// Amount this reservation holds.
    var amount: Int { lock.withLock { held } }

    func releaseAll() {
        let amount: Int = lock.withLock {
            defer { held = 0 }
            return held
        }
        budget.release(amount)
    }

    deinit { releaseAll() }
}
