import BLIP
import Foundation

/// The samples of one shard, in order.
final class SampleSource: @unchecked Sendable {
    private var tar: WebDatasetReader?
    private var records: ArraySlice<Result<[String: JSONValue], DatasetInputError>> = []
    private var position = 0
    private let shard: Shard
    private let imageRoot: String?
    private let keyWidth: Int

    init(shard: Shard, imageRoot: String?) throws {
        self.shard = shard
        self.imageRoot = imageRoot
        switch shard.source {
        case .tar(let path):
            tar = try WebDatasetReader(path: path)
            keyWidth = 0
        case .records(let path, let format, let range):
            let all = try RecordCache.shared.records(path: path, format: format)
            records = all[min(range.lowerBound, all.count)..<min(range.upperBound, all.count)]
            keyWidth = shard.keyWidth
        }
    }

    /// The next sample, nil at the end; throws when a tar archive cannot be read on.
    func next() throws -> DatasetSample? {
        if let tar { return try tar.next() }
        guard let record = records.popFirst() else { return nil }
        let digits = String(position)
        let key = shard.name + String(repeating: "0", count: max(0, keyWidth - digits.count)) + digits
        position += 1
        return RecordReader.sample(key: key, record: record, imageRoot: imageRoot)
    }
}

/// A sample with its image bytes read (or why they could not be).
struct LoadedSample: Sendable {
    var sample: DatasetSample
    var bytes: Data?
    var ext: String?
    /// (status, error) when the sample cannot be processed.
    var failure: (status: String, error: String)?
}

/// A batch: its samples, which of them loaded (`ready`), and both models' pixel values for those.
struct LoadedBatch: Sendable {
    var samples: [LoadedSample]
    var ready: [Int]
    var pixels: Result<CapFiltModels.Pixels, Error>?
}

/// Reads, decodes and preprocesses batches of a shard (on the prefetch thread).
final class BatchLoader: @unchecked Sendable {
    let source: SampleSource
    let models: CapFiltModels
    let loading: ImageLoading
    let batchSize: Int
    /// Why the input archive stopped early, if it did.
    private(set) var inputError: String?

    init(source: SampleSource, models: CapFiltModels, loading: ImageLoading, batchSize: Int) {
        self.source = source
        self.models = models
        self.loading = loading
        self.batchSize = batchSize
    }

    func next() -> LoadedBatch? {
        var samples: [LoadedSample] = []
        var images: [RGBImage] = []
        var ready: [Int] = []
        while samples.count < batchSize, inputError == nil {
            let sample: DatasetSample
            do {
                guard let s = try source.next() else { break }
                sample = s
            } catch {
                inputError = error.localizedDescription
                break
            }
            var loaded = load(sample)
            if loaded.failure == nil, let bytes = loaded.bytes {
                do {
                    images.append(try RGBImage(data: bytes, maxPixels: loading.maxPixels, source: sample.key,
                                               applyingExifOrientation: loading.applyExifOrientation))
                    ready.append(samples.count)
                } catch {
                    loaded.failure = ("failed_to_decode", error.localizedDescription)
                }
            }
            samples.append(loaded)
        }
        if samples.isEmpty { return nil }
        let pixels = images.isEmpty ? nil : Result { try models.pixelValues(images) }
        return LoadedBatch(samples: samples, ready: ready, pixels: pixels)
    }

    func load(_ sample: DatasetSample) -> LoadedSample {
        if let error = sample.recordError {
            return LoadedSample(sample: sample, failure: ("bad_record", error))
        }
        switch sample.image {
        case .bytes(let data, let ext):
            return LoadedSample(sample: sample, bytes: data, ext: ext)
        case .file(let path):
            do {
                let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
                return LoadedSample(sample: sample, bytes: data, ext: Self.ext(of: data, path: path))
            } catch {
                let reason = FileManager.default.fileExists(atPath: path) ? "cannot read \(path)" : "\(path): no such file"
                return LoadedSample(sample: sample, failure: ("failed_to_read", reason))
            }
        case .url(let url):
            guard let fetch = loading.fetch else {
                return LoadedSample(sample: sample, failure: ("failed_to_read", "\(url): remote images are off (use --allow-remote-images)"))
            }
            do {
                let data = try fetch(url)
                return LoadedSample(sample: sample, bytes: data, ext: Self.ext(of: data, path: url))
            } catch {
                return LoadedSample(sample: sample, failure: ("failed_to_read", error.localizedDescription))
            }
        case .missing(let reason):
            return LoadedSample(sample: sample, failure: ("bad_record", reason))
        }
    }

    /// The tar member extension for image bytes: by content, else by name.
    static func ext(of data: Data, path: String) -> String {
        switch ImageFormat.detect(data) {
        case .jpeg?: return "jpg"
        case .png?: return "png"
        case .webp?: return "webp"
        case nil:
            let e = (path as NSString).pathExtension.lowercased()
            return e.isEmpty ? "bin" : e
        }
    }
}
