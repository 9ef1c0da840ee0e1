import ArgumentParser
import BLIP
import Foundation

/// Writes one line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Runs `body`, turning any thrown error into one clear line on stderr and exit status 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch {
        printError("error: \(describe(error))")
        throw ExitCode(1)
    }
}

/// A one-line description of an error (our errors describe themselves).
func describe(_ error: Error) -> String {
    if let e = error as? LocalizedError, let d = e.errorDescription { return d }
    return String(describing: error)
}

/// Prints a JSON object on one line with stable key order.
func printJSONLine(_ object: [String: Any]) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    print(String(decoding: data, as: UTF8.self))
}

/// The model directory option shared by every command.
struct ModelOption: ParsableArguments {
    @Option(name: .long, help: "Model directory (config.json, model.safetensors, tokenizer and preprocessor files).")
    var model: String

    var url: URL { URL(fileURLWithPath: (model as NSString).expandingTildeInPath) }
}
