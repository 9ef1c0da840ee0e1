import ArgumentParser
import Foundation
import Tensor

/// `--threads N` of every command that runs a model. Applied in `validate()`, before the command
/// touches a model, so it sizes the thread pool (which starts at the first model work).
struct ThreadsOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Threads for model work.",
        discussion: "Default: BLIP_NUM_THREADS when set, else the CPUs this process may use "
            + "(its affinity mask and cgroup CPU quota; \(Parallel.availableCPUs) here)."))
    var threads: Int?

    func validate() throws {
        if let threads, !(1...Parallel.maxThreads).contains(threads) {
            throw ValidationError("--threads must be between 1 and \(Parallel.maxThreads), got \(threads)")
        }
        let environment: Int?
        do {
            environment = try Parallel.threadCountFromEnvironment()
        } catch {
            throw ValidationError(error.localizedDescription)
        }
        if let n = threads ?? environment { Parallel.configure(threads: n) }
    }
}
