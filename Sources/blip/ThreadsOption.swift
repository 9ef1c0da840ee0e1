import ArgumentParser
import Foundation
import Tensor

/// `--threads N` of every command that runs a model: the `ComputeSettings` the command gives the
/// models it loads (nothing process-wide is changed).
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
        do {
            _ = try Parallel.threadCountFromEnvironment()
        } catch {
            throw ValidationError(error.localizedDescription)
        }
    }

    /// `--threads` as compute settings, else the shared default pool (`BLIP_NUM_THREADS` or the
    /// CPUs this process may use).
    var compute: ComputeSettings { .threads(threads) }
}

extension ModelOption {
    /// The compute settings of `--threads`.
    var compute: ComputeSettings { threadsOption.compute }
}
