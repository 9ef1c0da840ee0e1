import BLIPIndex
import BLIPIndexTestSupport
import Foundation

// Test helper for BLIPIndexTests' crash test: indexes a folder slowly so the test can SIGKILL it mid-run.
//
// Usage: IndexCrashHelper INDEX FOLDER BATCH_SIZE HOLD_BATCH [--wait-stdin]
//
// Uses `FakeEmbedder` (the same model identifier and dimension as the tests; 50 ms per batch). Before each
// batch commits it prints "committing N" on stdout; batch HOLD_BATCH then waits (up to 10 minutes) inside its
// open transaction, so a kill that follows that line lands while the batch's rows are written but not
// committed (HOLD_BATCH 0 holds none). After each commit it prints "committed N". With --wait-stdin it opens the
// index only after reading a line from stdin (so a test can start two helpers at the same instant). On completion
// it prints "done added=A unchanged=U failed=F embedded=E". Exit status 0 on completion, 2 on bad arguments,
// 1 on error.

let arguments = CommandLine.arguments
let waitForStdin = arguments.count == 6 && arguments[5] == "--wait-stdin"
guard arguments.count == 5 || waitForStdin, let batchSize = Int(arguments[3]), let holdBatch = Int(arguments[4]) else {
    FileHandle.standardError.write(Data("usage: IndexCrashHelper INDEX FOLDER BATCH_SIZE HOLD_BATCH [--wait-stdin]\n".utf8))
    exit(2)
}

@Sendable func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

if waitForStdin { _ = readLine() }
do {
    let index = try ImageIndex(path: arguments[1])
    let options = ImageIndex.AddOptions(batchSize: batchSize, beforeCommit: { batch in
        say("committing \(batch)")
        if batch == holdBatch { Thread.sleep(forTimeInterval: 600) }
    })
    var lastBatches = 0
    let summary = try index.add(paths: [arguments[2]], embedder: FakeEmbedder(delayPerBatch: 0.05), options: options) { progress in
        if progress.committedBatches != lastBatches {
            lastBatches = progress.committedBatches
            say("committed \(progress.committedBatches)")
        }
    }
    say("done added=\(summary.added) unchanged=\(summary.unchanged) failed=\(summary.failed) embedded=\(summary.embedded)")
} catch {
    FileHandle.standardError.write(Data("IndexCrashHelper: \(error)\n".utf8))
    exit(1)
}
