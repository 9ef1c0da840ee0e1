import BLIPHub
import Foundation
import Tensor

/// Identifies a model by what it computes, not where it lives: the same weights under a symlink,
/// a hub snapshot (named by commit) or a `--local-dir` copy get the same fingerprint.
///
/// SHA-256 over config.json (parsed, keys sorted, without the bookkeeping keys `_name_or_path`,
/// `transformers_version`, `_commit_hash`), and for each safetensors file of the checkpoint its
/// whole header (names, dtypes, shapes, offsets) and 16 samples of 4 KiB spread over its tensor
/// data (so two random initialisations of one architecture differ) — a few hundred KB read,
/// whatever the checkpoint's size.
public enum ModelFingerprint {
    static let ignoredConfigKeys: Set<String> = ["_name_or_path", "transformers_version", "_commit_hash"]
    static let samples = 16
    static let sampleBytes = 4096

    /// `sha256:` and 64 hex digits.
    public static func of(directory: URL) throws -> String {
        var hash = SHA256()
        let configURL = directory.appendingPathComponent("config.json")
        guard let configData = FileManager.default.contents(atPath: configURL.path),
              let config = try? JSONSerialization.jsonObject(with: configData) as? [String: Any] else {
            throw ImageIndexError.invalidArgument("\(configURL.path): cannot read the model's config.json")
        }
        let kept = config.filter { !ignoredConfigKeys.contains($0.key) }
        hash.update(try JSONSerialization.data(withJSONObject: kept, options: [.sortedKeys]))
        let checkpoint = try SafeTensorsCheckpoint(directory: directory)
        for file in checkpoint.files.sorted(by: { $0.url.lastPathComponent < $1.url.lastPathComponent }) {
            let bytes = file.mapping.bytes
            guard bytes.count >= 8 else { continue }
            let headerLength = bytes.loadUnaligned(as: UInt64.self).littleEndian
            let headerEnd = min(bytes.count, 8 + Int(clamping: headerLength))
            hash.update(bytes: UnsafeRawBufferPointer(rebasing: bytes[0..<headerEnd]))
            let dataCount = bytes.count - headerEnd
            guard dataCount > 0 else { continue }
            for i in 0..<samples {
                let start = headerEnd + Int((Int64(dataCount) * Int64(i)) / Int64(samples))
                let end = min(bytes.count, start + sampleBytes)
                hash.update(bytes: UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
            }
        }
        return "sha256:" + hash.finalize()
    }
}
