import Foundation
import XCTest

@testable import BLIPHub

/// Downloads through a local imitation of the hub (TestHubServer) into a temporary HF_HUB_CACHE.
final class HubDownloadTests: XCTestCase {
    let repo = "test-org/tiny-blip"
    let mainCommit = String(repeating: "a1", count: 20)
    let v1Commit = String(repeating: "b2", count: 20)
    var server: TestHubServer!
    var cacheRoot: URL!
    var weights: Data!

    override func setUpWithError() throws {
        var generator = SystemRandomNumberGenerator()
        weights = Data((0..<300_000).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let mainFiles: [String: TestHubServer.RepoFile] = [
            "config.json": .init(content: Data(#"{"model_type": "blip", "rev": "main"}"#.utf8), lfs: false),
            "preprocessor_config.json": .init(content: Data(#"{"image_size": 384}"#.utf8), lfs: false),
            "tokenizer_config.json": .init(content: Data(#"{"do_lower_case": true}"#.utf8), lfs: false),
            "vocab.txt": .init(content: Data("[PAD]\n[UNK]\nhello\n".utf8), lfs: false),
            "generation_config.json": .init(content: Data(#"{"max_length": 20}"#.utf8), lfs: false),
            "model.safetensors": .init(content: weights, lfs: true),
        ]
        var v1Files = mainFiles
        v1Files["config.json"] = .init(content: Data(#"{"model_type": "blip", "rev": "v1"}"#.utf8), lfs: false)
        server = TestHubServer(repo: repo, commits: [mainCommit: mainFiles, v1Commit: v1Files],
                               refs: ["main": mainCommit, "v1": v1Commit])
        try server.start()
        cacheRoot = FileManager.default.temporaryDirectory.appendingPathComponent("hub-test-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        server.stop()
        try? FileManager.default.removeItem(at: cacheRoot)
    }

    func client(offline: Bool = false, token: String? = nil, endpoint: String? = nil) -> HubClient {
        var env = ["HF_HUB_CACHE": cacheRoot.path, "HF_ENDPOINT": endpoint ?? server.endpoint]
        if offline { env["HF_HUB_OFFLINE"] = "1" }
        if let token { env["HF_TOKEN"] = token }
        return HubClient(environment: HubEnvironment(environment: env))
    }

    var repoFolder: URL { cacheRoot.appendingPathComponent("models--test-org--tiny-blip") }

    func read(_ url: URL) throws -> String { String(decoding: try Data(contentsOf: url), as: UTF8.self) }

    func testDownloadWritesHuggingFaceLayout() throws {
        let directory = try ModelResolver.resolve(HubModelID(repo)!, client: client())
        XCTAssertEqual(directory.path, repoFolder.appendingPathComponent("snapshots/\(mainCommit)").path)
        XCTAssertEqual(try read(repoFolder.appendingPathComponent("refs/main")), mainCommit)
        // Snapshot entries are relative symlinks into blobs/ETAG; the LFS blob is named by its sha256.
        let sha = SHA256.hex(weights)
        let weightsLink = directory.appendingPathComponent("model.safetensors").path
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: weightsLink), "../../blobs/\(sha)")
        XCTAssertEqual(try Data(contentsOf: repoFolder.appendingPathComponent("blobs/\(sha)")), weights)
        let configLink = directory.appendingPathComponent("config.json").path
        XCTAssertTrue(try FileManager.default.destinationOfSymbolicLink(atPath: configLink).hasPrefix("../../blobs/"))
        XCTAssertEqual(try read(directory.appendingPathComponent("config.json")), #"{"model_type": "blip", "rev": "main"}"#)
        XCTAssertEqual(try read(directory.appendingPathComponent("vocab.txt")), "[PAD]\n[UNK]\nhello\n")
        // Files the repo lacks are recorded in .no_exist, as huggingface_hub does.
        for missing in ["tokenizer.json", "special_tokens_map.json"] {
            XCTAssertTrue(FileManager.default.fileExists(
                atPath: repoFolder.appendingPathComponent(".no_exist/\(mainCommit)/\(missing)").path))
            XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent(missing).path))
        }
        let blobs = try FileManager.default.contentsOfDirectory(atPath: repoFolder.appendingPathComponent("blobs").path)
        XCTAssertEqual(blobs.count, 6)
        XCTAssertFalse(blobs.contains { $0.hasSuffix(".incomplete") })
        // The first file is asked by branch, the rest by the commit it pinned.
        let heads = server.requests.filter { $0.method == "HEAD" }.map(\.path)
        XCTAssertEqual(heads.first, "/\(repo)/resolve/main/config.json")
        XCTAssertTrue(heads.dropFirst().allSatisfy { $0.hasPrefix("/\(repo)/resolve/\(mainCommit)/") })
        XCTAssertEqual(server.bodyBytes("/cdn/\(sha)"), weights.count)
    }

    /// A progress callback sees the weights grow to their full size; cached files report nothing.
    func testDownloadProgressCallback() throws {
        let seen = ProgressLog()
        var c = client()
        c.onProgress = { seen.append($0) }
        _ = try ModelResolver.resolve(HubModelID(repo)!, client: c)
        let weightReports = seen.all.filter { $0.file == "model.safetensors" }
        XCTAssertEqual(weightReports.last, HubDownloadProgress(file: "model.safetensors", bytes: Int64(weights.count),
                                                               totalBytes: Int64(weights.count)))
        XCTAssertEqual(weightReports.map(\.bytes), weightReports.map(\.bytes).sorted())
        XCTAssertTrue(seen.all.contains { $0.file == "config.json" })
        let again = ProgressLog()
        c.onProgress = { again.append($0) }
        _ = try ModelResolver.resolve(HubModelID(repo)!, client: c)
        XCTAssertTrue(again.all.isEmpty, "cached files reported progress: \(again.all)")
    }

    func testAsyncResolve() async throws {
        let directory = try await ModelResolver.resolve("\(repo)@v1", client: client())
        XCTAssertEqual(directory.lastPathComponent, v1Commit)
        XCTAssertEqual(try read(directory.appendingPathComponent("config.json")), #"{"model_type": "blip", "rev": "v1"}"#)
    }

    func testCacheHitMakesNoRequest() throws {
        _ = try ModelResolver.resolve(HubModelID(repo)!, client: client())
        let before = server.requests.count
        XCTAssertGreaterThan(before, 0)
        let again = try ModelResolver.resolve(HubModelID(repo)!, client: client())
        XCTAssertEqual(server.requests.count, before, "a complete cached snapshot must not touch the network")
        XCTAssertEqual(again.lastPathComponent, mainCommit)
        // A cache laid out by Python (no server at all) is found too.
        let pythonCache = cacheRoot.appendingPathComponent("py")
        let folder = pythonCache.appendingPathComponent("models--Salesforce--blip-image-captioning-base")
        let commit = String(repeating: "c3", count: 20)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("refs"), withIntermediateDirectories: true)
        try Data(commit.utf8).write(to: folder.appendingPathComponent("refs/main"))
        let blobs = folder.appendingPathComponent("blobs")
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        let snapshot = folder.appendingPathComponent("snapshots/\(commit)")
        try FileManager.default.createDirectory(at: snapshot, withIntermediateDirectories: true)
        for (i, name) in ["config.json", "preprocessor_config.json", "tokenizer_config.json", "vocab.txt",
                          "tokenizer.json", "special_tokens_map.json", "generation_config.json",
                          "model.safetensors"].enumerated() {
            try Data("file \(i)".utf8).write(to: blobs.appendingPathComponent("etag\(i)"))
            try FileManager.default.createSymbolicLink(
                atPath: snapshot.appendingPathComponent(name).path, withDestinationPath: "../../blobs/etag\(i)")
        }
        let env = HubEnvironment(environment: ["HF_HOME": cacheRoot.path, "HF_HUB_CACHE": pythonCache.path,
                                               "HF_ENDPOINT": "http://127.0.0.1:9"])
        let found = try ModelResolver.resolve(ModelResolver.defaultModel, client: HubClient(environment: env))
        XCTAssertEqual(found.path, snapshot.path)
        XCTAssertEqual(try read(found.appendingPathComponent("vocab.txt")), "file 3")
    }

    func testResumesFromIncompleteBlob() throws {
        let sha = SHA256.hex(weights)
        let blobs = repoFolder.appendingPathComponent("blobs")
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        let already = 123_457
        try weights.prefix(already).write(to: blobs.appendingPathComponent("\(sha).incomplete"))
        let url = try client().file("model.safetensors", repo: repo).url
        XCTAssertEqual(try Data(contentsOf: XCTUnwrap(url)), weights)
        let gets = server.requests.filter { $0.method == "GET" && $0.path == "/cdn/\(sha)" }
        XCTAssertEqual(gets.count, 1)
        XCTAssertEqual(gets.first?.headers["range"], "bytes=\(already)-")
        // The range header survived the LFS redirect, so only the remainder crossed the wire.
        XCTAssertEqual(server.requests.first { $0.method == "GET" }?.headers["range"], "bytes=\(already)-")
        XCTAssertEqual(server.bodyBytes("/cdn/\(sha)"), weights.count - already)
        XCTAssertFalse(FileManager.default.fileExists(atPath: blobs.appendingPathComponent("\(sha).incomplete").path))
    }

    func testInterruptedDownloadResumesNextTime() throws {
        // Every transfer breaks off after 40 kB: the download resumes at once three times, then gives up
        // with the partial blob kept; the next run resumes from there.
        server.cutBodiesAfter = 40_000
        XCTAssertThrowsError(try ModelResolver.resolve(HubModelID(repo)!, client: client())) { error in
            guard case HubError.network(let url, _) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(url.hasSuffix("/resolve/\(mainCommit)/model.safetensors"), url)
        }
        let cdnRanges = { self.server.requests.filter { $0.path.hasPrefix("/cdn/") }.map { $0.headers["range"] ?? "-" } }
        XCTAssertEqual(cdnRanges(), ["-", "bytes=40000-", "bytes=80000-", "bytes=120000-"])
        let sha = SHA256.hex(weights)
        let partial = repoFolder.appendingPathComponent("blobs/\(sha).incomplete")
        XCTAssertEqual(try Data(contentsOf: partial), weights.prefix(160_000))
        XCTAssertNil(HubCache(root: cacheRoot, repo: repo).cachedFile(commit: mainCommit, file: "model.safetensors"))
        server.cutBodiesAfter = nil
        let directory = try ModelResolver.resolve(HubModelID(repo)!, client: client())
        XCTAssertEqual(try Data(contentsOf: directory.appendingPathComponent("model.safetensors")), weights)
        XCTAssertEqual(cdnRanges().last, "bytes=160000-")
        XCTAssertEqual(server.bodyBytes("/cdn/\(sha)"), weights.count)
        XCTAssertFalse(FileManager.default.fileExists(atPath: partial.path))
    }

    func testOfflineUsesCacheOnly() throws {
        XCTAssertThrowsError(try ModelResolver.resolve(HubModelID(repo)!, client: client(offline: true))) { error in
            guard case HubError.notCached = error else { return XCTFail("\(error)") }
            XCTAssertTrue(error.localizedDescription.contains("HF_HUB_OFFLINE"), error.localizedDescription)
            XCTAssertTrue(error.localizedDescription.contains(repo), error.localizedDescription)
        }
        XCTAssertEqual(server.requests.count, 0)
        _ = try ModelResolver.resolve(HubModelID(repo)!, client: client())
        let before = server.requests.count
        // Optional files the repo lacks (and files not yet fetched) do not break an offline run.
        try FileManager.default.removeItem(at: repoFolder.appendingPathComponent(".no_exist"))
        let directory = try ModelResolver.resolve(HubModelID(repo)!, client: client(offline: true))
        XCTAssertEqual(directory.lastPathComponent, mainCommit)
        XCTAssertEqual(server.requests.count, before)
        // A revision never fetched is an error offline.
        XCTAssertThrowsError(try ModelResolver.resolve(HubModelID("\(repo)@v1")!, client: client(offline: true)))
        XCTAssertEqual(server.requests.count, before)
    }

    func testTokenIsSentAndBadTokenIsAccessDenied() throws {
        server.requiredToken = "hf_good"
        XCTAssertThrowsError(try ModelResolver.resolve(HubModelID(repo)!, client: client(token: "hf_bad"))) { error in
            XCTAssertEqual(error as? HubError, .accessDenied(repo: repo))
            XCTAssertTrue(error.localizedDescription.hasPrefix("access denied to \(repo) (set HF_TOKEN"))
        }
        XCTAssertEqual(server.requests.first?.headers["authorization"], "Bearer hf_bad")
        XCTAssertThrowsError(try ModelResolver.resolve(HubModelID(repo)!, client: client())) { error in
            XCTAssertEqual(error as? HubError, .accessDenied(repo: repo))
        }
        let directory = try ModelResolver.resolve(HubModelID(repo)!, client: client(token: "hf_good"))
        XCTAssertEqual(try Data(contentsOf: directory.appendingPathComponent("model.safetensors")), weights)
        // The token goes to the hub, never to the CDN host the LFS redirect points at.
        let hubGets = server.requests.filter { $0.method == "GET" && !$0.path.hasPrefix("/cdn/") }
        XCTAssertFalse(hubGets.isEmpty)
        XCTAssertTrue(hubGets.allSatisfy { $0.headers["authorization"] == "Bearer hf_good" })
        let cdnGets = server.requests.filter { $0.path.hasPrefix("/cdn/") }
        XCTAssertEqual(cdnGets.count, 1)
        XCTAssertNil(cdnGets.first?.headers["authorization"])
        XCTAssertEqual(cdnGets.first?.headers["host"], "localhost:\(server.port)")
    }

    func testHashMismatchLeavesNothingInSnapshot() throws {
        server.corruptBodies = true
        XCTAssertThrowsError(try ModelResolver.resolve(HubModelID(repo)!, client: client())) { error in
            guard case HubError.integrity(let file, let message) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "model.safetensors")
            XCTAssertTrue(message.contains("sha256"), message)
        }
        let sha = SHA256.hex(weights)
        let snapshot = repoFolder.appendingPathComponent("snapshots/\(mainCommit)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: snapshot.appendingPathComponent("model.safetensors").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: repoFolder.appendingPathComponent("blobs/\(sha)").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: repoFolder.appendingPathComponent("blobs/\(sha).incomplete").path))
    }

    func testSizeMismatchIsAnError() throws {
        server.advertisedSizeDelta = 1
        XCTAssertThrowsError(try client().file("model.safetensors", repo: repo)) { error in
            guard case HubError.integrity(_, let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("\(weights.count) bytes received, the hub reported \(weights.count + 1)"), message)
        }
        XCTAssertFalse(FileManager.default.fileExists(
            atPath: repoFolder.appendingPathComponent("snapshots/\(mainCommit)/model.safetensors").path))
    }

    func testRevisionResolvesThroughRefs() throws {
        let directory = try ModelResolver.resolve(HubModelID("\(repo)@v1")!, client: client())
        XCTAssertEqual(directory.lastPathComponent, v1Commit)
        XCTAssertEqual(try read(repoFolder.appendingPathComponent("refs/v1")), v1Commit)
        XCTAssertEqual(try read(directory.appendingPathComponent("config.json")), #"{"model_type": "blip", "rev": "v1"}"#)
        // Blobs are shared between revisions: the weights were downloaded once.
        XCTAssertFalse(FileManager.default.fileExists(atPath: repoFolder.appendingPathComponent("refs/main").path))
        let main = try ModelResolver.resolve(HubModelID(repo)!, client: client())
        XCTAssertEqual(main.lastPathComponent, mainCommit)
        XCTAssertEqual(server.bodyBytes("/cdn/\(SHA256.hex(weights))"), weights.count)
        // A commit hash needs no ref, and offline it resolves from the snapshot.
        let byCommit = try ModelResolver.resolve(HubModelID("\(repo)@\(v1Commit)")!, client: client(offline: true))
        XCTAssertEqual(byCommit.path, directory.path)
        XCTAssertThrowsError(try ModelResolver.resolve(HubModelID("\(repo)@nope")!, client: client())) { error in
            XCTAssertEqual(error as? HubError, .revisionNotFound(repo: repo, revision: "nope"))
            XCTAssertEqual(error.localizedDescription, "revision nope not found in \(repo)")
        }
        XCTAssertThrowsError(try ModelResolver.resolve(HubModelID("other/model")!, client: client())) { error in
            XCTAssertEqual(error as? HubError, .repoNotFound(repo: "other/model"))
        }
    }

    func testShardedWeights() throws {
        let a = Data(repeating: 1, count: 1000), b = Data(repeating: 2, count: 2000)
        var files = server.commits[mainCommit]!
        files["model.safetensors"] = nil
        files["model.safetensors.index.json"] = .init(content: Data(#"""
            {"metadata": {}, "weight_map": {"x": "model-00001-of-00002.safetensors",
             "y": "model-00002-of-00002.safetensors", "z": "model-00001-of-00002.safetensors"}}
            """#.utf8), lfs: false)
        files["model-00001-of-00002.safetensors"] = .init(content: a, lfs: true)
        files["model-00002-of-00002.safetensors"] = .init(content: b, lfs: true)
        server.commits[mainCommit] = files
        let directory = try ModelResolver.resolve(HubModelID(repo)!, client: client())
        XCTAssertEqual(try Data(contentsOf: directory.appendingPathComponent("model-00001-of-00002.safetensors")), a)
        XCTAssertEqual(try Data(contentsOf: directory.appendingPathComponent("model-00002-of-00002.safetensors")), b)
    }

    /// A repository with PyTorch weights only resolves (the library reads pytorch_model.bin); a
    /// BLIP-2 config also brings its processor and BPE / SentencePiece tokenizer files.
    func testPytorchOnlyRepositoryAndBlip2TokenizerFiles() throws {
        var files = server.commits[mainCommit]!
        files["model.safetensors"] = nil
        files["pytorch_model.bin"] = .init(content: Data(repeating: 7, count: 500), lfs: true)
        files["config.json"] = .init(content: Data(#"{"model_type": "blip-2"}"#.utf8), lfs: false)
        files["merges.txt"] = .init(content: Data("#version: 0.2\n".utf8), lfs: false)
        files["spiece.model"] = .init(content: Data(repeating: 9, count: 64), lfs: false)
        server.commits[mainCommit] = files
        let directory = try ModelResolver.resolve(HubModelID(repo)!, client: client())
        XCTAssertEqual(try Data(contentsOf: directory.appendingPathComponent("pytorch_model.bin")), Data(repeating: 7, count: 500))
        XCTAssertEqual(try read(directory.appendingPathComponent("merges.txt")), "#version: 0.2\n")
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("spiece.model").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("vocab.json").path))
    }

    /// A repository without config.json (e.g. official BLIP .pth files only) says what to do.
    func testRepositoryWithoutConfigSaysWhatToDo() throws {
        var files = server.commits[mainCommit]!
        files["config.json"] = nil
        files["model_base_caption_capfilt_large.pth"] = .init(content: Data(repeating: 1, count: 10), lfs: true)
        server.commits[mainCommit] = files
        XCTAssertThrowsError(try ModelResolver.resolve(HubModelID(repo)!, client: client())) { error in
            XCTAssertTrue(error.localizedDescription.contains("config.json not found"), error.localizedDescription)
            XCTAssertTrue(error.localizedDescription.contains("official BLIP .pth checkpoint"), error.localizedDescription)
        }
    }

    func testNetworkFailureNamesTheURL() throws {
        XCTAssertThrowsError(try ModelResolver.resolve(HubModelID(repo)!, client: client(endpoint: "http://127.0.0.1:9")))
        { error in
            guard case HubError.network(let url, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(url, "http://127.0.0.1:9/\(repo)/resolve/main/config.json")
            XCTAssertTrue(error.localizedDescription.hasPrefix("cannot reach http://127.0.0.1:9/"))
        }
    }

    func testLocalDirectoryWinsOverHubID() throws {
        let local = cacheRoot.appendingPathComponent("test-org/tiny-blip")
        try FileManager.default.createDirectory(at: local, withIntermediateDirectories: true)
        let previous = FileManager.default.currentDirectoryPath
        _ = FileManager.default.changeCurrentDirectoryPath(cacheRoot.path)
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        let resolved = try ModelResolver.resolve(repo, client: client())
        XCTAssertEqual(resolved.standardizedFileURL.path, URL(fileURLWithPath: repo).standardizedFileURL.path)
        XCTAssertEqual(server.requests.count, 0)
    }
}

/// Progress reports collected from the downloading thread.
final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [HubDownloadProgress] = []
    var all: [HubDownloadProgress] { lock.withLock { items } }
    func append(_ p: HubDownloadProgress) { lock.withLock { items.append(p) } }
}
