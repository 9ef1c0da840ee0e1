// swift-tools-version:6.0
import PackageDescription

#if os(Linux)
let blasDependencies: [Target.Dependency] = ["CBLAS"]
#else
let blasDependencies: [Target.Dependency] = []  // Accelerate provides CBLAS on Apple platforms
#endif

let package = Package(
    name: "swift-blip",
    platforms: [.macOS(.v13), .iOS(.v16)],
    products: [
        .library(name: "BLIP", targets: ["BLIP"]),
        .library(name: "Tensor", targets: ["Tensor"]),
        .library(name: "BLIPIndex", targets: ["BLIPIndex"]),
        .library(name: "BLIPHub", targets: ["BLIPHub"]),
        .library(name: "BLIPData", targets: ["BLIPData"]),
        .library(name: "BLIPEval", targets: ["BLIPEval"]),
        .library(name: "BlipServer", targets: ["BlipServer"]),
        .executable(name: "blip", targets: ["blip"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // Already resolved through Hummingbird; named here for the server's connection handler.
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.34.1"),
    ],
    targets: [
        // System CBLAS (OpenBLAS from Debian's libopenblas-dev) on Linux.
        .systemLibrary(
            name: "CBLAS",
            path: "Sources/CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // Portable SIMD kernels (exp, erf-GELU, softmax, LayerNorm) compiled with
        // function multi-versioning so the package needs no -target-cpu flags.
        .target(name: "CKernels"),
        // Thin C shim over libjpeg-turbo, libpng and libwebp (Debian -dev packages).
        .target(
            name: "CImageCodecs",
            linkerSettings: [
                .linkedLibrary("jpeg"), .linkedLibrary("png16"), .linkedLibrary("webp"),
            ]
        ),
        // Thin C shim over FFmpeg's libavformat, libavcodec and libswscale (Debian -dev packages): video frames.
        .target(
            name: "CVideoCodecs",
            linkerSettings: [
                .linkedLibrary("avformat"), .linkedLibrary("avcodec"), .linkedLibrary("swscale"), .linkedLibrary("avutil"),
            ]
        ),
        .target(
            name: "Tensor",
            dependencies: blasDependencies + ["CKernels"]
        ),
        .target(
            name: "BLIP",
            // BLIPHub (Foundation only) for the `init(pretrained:)` initialisers by hub id.
            dependencies: ["Tensor", "CImageCodecs", "CVideoCodecs", "BLIPHub"]
        ),
        // Persistent image-text retrieval index (SQLite through GRDB); keeps GRDB out of BLIP.
        .target(
            name: "BLIPIndex",
            dependencies: ["BLIP", "BLIPHub", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // Models by hub id: the Hugging Face cache layout and downloads (Foundation only).
        .target(name: "BLIPHub"),
        // Dataset tools: CapFilt (captioner + filter) over WebDataset tars and record files.
        .target(name: "BLIPData", dependencies: ["BLIP", "BLIPHub"]),
        // Evaluation: caption metrics (pycocoevalcap), VQA accuracy (official vqaEval), retrieval recall.
        .target(name: "BLIPEval", dependencies: ["BLIP"]),
        // HTTP inference server (Hummingbird): dynamic batching over model services.
        .target(
            name: "BlipServer",
            dependencies: [
                "BLIP", "BLIPIndex",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ]
        ),
        .executableTarget(
            name: "blip",
            dependencies: [
                "BLIP",
                "BLIPIndex",
                "BLIPData",
                "BLIPEval",
                "BLIPHub",
                "BlipServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "BLIPHubTests", dependencies: ["BLIPHub"]),
        .testTarget(name: "BLIPDataTests", dependencies: ["BLIPData", "BLIP"], exclude: ["Fixtures"]),
        .testTarget(name: "BLIPEvalTests", dependencies: ["BLIPEval", "BLIP"], exclude: ["Fixtures"]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "CKernels"], exclude: ["Fixtures"]),
        .testTarget(
            name: "BLIPTests",
            dependencies: ["BLIP", "BLIPEval"],
            resources: [.copy("Fixtures")]
        ),
        // Test-only code shared by BLIPIndexTests and IndexCrashHelper: a deterministic fake embedder
        // and a tiny PNG writer.
        .target(name: "BLIPIndexTestSupport", dependencies: ["BLIP", "BLIPIndex"]),
        // Runs `ImageIndex.add` slowly so BLIPIndexTests can kill it with SIGKILL mid-run.
        .executableTarget(name: "IndexCrashHelper", dependencies: ["BLIPIndex", "BLIPIndexTestSupport"]),
        .testTarget(
            name: "BLIPIndexTests",
            dependencies: ["BLIP", "BLIPHub", "BLIPIndex", "BLIPIndexTestSupport", "IndexCrashHelper"]
        ),
        // Runs the `blip` executable end to end (exit codes, stdout, stderr) on the tiny fixtures.
        .testTarget(name: "BLIPCLITests", dependencies: ["blip", "BLIPEval"]),
        // libFuzzer harnesses, one per parser (scripts/fuzz.sh builds them with -sanitize=fuzzer,address
        // and -DFUZZING; a normal build makes them replay the files they are given).
        .target(name: "CFuzzerDriver", path: "Sources/Fuzz/CFuzzerDriver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzerDriver"], path: "Sources/Fuzz/FuzzSupport"),
        .executableTarget(name: "FuzzSafeTensors", dependencies: ["Tensor", "FuzzSupport"],
                          path: "Sources/Fuzz/FuzzSafeTensors"),
        .executableTarget(name: "FuzzImage", dependencies: ["BLIP", "FuzzSupport"], path: "Sources/Fuzz/FuzzImage"),
        .executableTarget(name: "FuzzTokenizer", dependencies: ["BLIP", "FuzzSupport"],
                          path: "Sources/Fuzz/FuzzTokenizer"),
        .executableTarget(name: "FuzzConfig", dependencies: ["BLIP", "FuzzSupport"], path: "Sources/Fuzz/FuzzConfig"),
        .executableTarget(name: "FuzzMultipart", dependencies: ["BlipServer", "FuzzSupport"],
                          path: "Sources/Fuzz/FuzzMultipart"),
        .executableTarget(name: "FuzzJSONBody", dependencies: ["BlipServer", "FuzzSupport"],
                          path: "Sources/Fuzz/FuzzJSONBody"),
        .executableTarget(name: "FuzzTorchCheckpoint", dependencies: ["Tensor", "FuzzSupport"],
                          path: "Sources/Fuzz/FuzzTorchCheckpoint"),
        .testTarget(
            name: "FuzzHarnessTests",
            dependencies: ["FuzzSafeTensors", "FuzzImage", "FuzzTokenizer", "FuzzConfig", "FuzzMultipart", "FuzzJSONBody",
                           "FuzzTorchCheckpoint"]
        ),
        .testTarget(
            name: "BlipServerTests",
            dependencies: [
                "BlipServer", "BLIP", "BLIPIndex", "Tensor",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
    ]
)
