import Foundation

#if FUZZING
import CFuzzerDriver
#endif

/// The `main` of every fuzz harness (scripts/fuzz.sh).
///
/// Built with `-DFUZZING` and `-sanitize=fuzzer` it hands `oneInput` to libFuzzer (`LLVMFuzzerRunDriver`,
/// which takes libFuzzer's own options: corpus folders, `-max_total_time=`, ...). In a normal build it
/// replays files instead: every file named on the command line, or inside a named folder, is run once
/// through `oneInput`, so a crash input can be replayed under the debugger and CI can smoke-test the
/// seeds (`.build/debug/FuzzMultipart Tests/FuzzSeeds/FuzzMultipart`).
public enum FuzzDriver {
    /// libFuzzer's `LLVMFuzzerTestOneInput` signature.
    public typealias OneInput = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

    public static func run(_ oneInput: OneInput) -> Never {
        #if FUZZING
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, oneInput))
        #else
        let name = (CommandLine.arguments.first.map { ($0 as NSString).lastPathComponent }) ?? "fuzz"
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.isEmpty || arguments.contains(where: { $0.hasPrefix("-") }) {
            FileHandle.standardError.write(Data("""
                usage: \(name) FILE_OR_FOLDER...   (replays inputs; build with scripts/fuzz.sh to fuzz)

                """.utf8))
            exit(2)
        }
        var count = 0
        for path in inputFiles(arguments) {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("\(name): cannot read \(path)\n".utf8))
                exit(1)
            }
            _ = data.withUnsafeBytes { raw in
                oneInput(raw.bindMemory(to: UInt8.self).baseAddress, raw.count)
            }
            count += 1
        }
        print("\(name): ran \(count) input(s)")
        exit(0)
        #endif
    }

    /// Files named, and the regular files directly inside named folders (sorted).
    static func inputFiles(_ paths: [String]) -> [String] {
        var files: [String] = []
        for path in paths {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                files.append(path)  // reported as unreadable
                continue
            }
            if !isFolder.boolValue {
                files.append(path)
                continue
            }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            for name in names.sorted() where !name.hasPrefix(".") {
                let full = (path as NSString).appendingPathComponent(name)
                var sub: ObjCBool = false
                if FileManager.default.fileExists(atPath: full, isDirectory: &sub), !sub.boolValue { files.append(full) }
            }
        }
        return files
    }
}

/// A private scratch folder for harnesses whose parser reads files (in /dev/shm when available, so
/// writing an input per execution stays cheap). Removed at exit only by the OS's tmp cleaning: it is
/// reused by every execution of the process.
public final class ScratchFolder: @unchecked Sendable {
    public let url: URL

    public init(_ name: String) {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        url = URL(fileURLWithPath: base).appendingPathComponent("\(name)-\(getpid())", isDirectory: true)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// A subfolder (created).
    public func folder(_ name: String) -> URL {
        let sub = url.appendingPathComponent(name, isDirectory: true)
        try? FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        return sub
    }

    /// Writes `data` to `name` in `folder` (default: the scratch folder) and returns its URL.
    @discardableResult
    public func write(_ data: Data, to name: String, in folder: URL? = nil) -> URL {
        let file = (folder ?? url).appendingPathComponent(name)
        do {
            try data.write(to: file)
        } catch {
            fatalError("scratch write failed: \(file.path): \(error)")  // the harness's setup, not the input
        }
        return file
    }

    public func remove(_ name: String, in folder: URL? = nil) {
        try? FileManager.default.removeItem(at: (folder ?? url).appendingPathComponent(name))
    }
}

/// The fuzz input as `Data` (empty input gives empty data).
public func fuzzData(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> Data {
    guard let bytes, count > 0 else { return Data() }
    return Data(bytes: bytes, count: count)
}
