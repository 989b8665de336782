// swift-tools-version:6.0
import PackageDescription

/// Kernels are compiled for the CPU that builds them (`-target-cpu native`): SIMD `addProduct`
/// becomes a real FMA and AVX-512 is used where present. The binary is built where it runs
/// (see ../README.md), so this never emits an instruction the machine lacks. The C kernels
/// (`CLEXKernels`: integer dot products Swift cannot reach) are built the same way (`-march=native`).
let kernelFlags: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "native"])]

let package = Package(
    name: "CLEX",
    products: [
        .library(name: "CLEXTensor", targets: ["CLEXTensor"]),
        .library(name: "CLEXTokenizer", targets: ["CLEXTokenizer"]),
        .library(name: "CLEXFormats", targets: ["CLEXFormats"]),
        .library(name: "CLEXModel", targets: ["CLEXModel"]),
        .library(name: "CLEXTrain", targets: ["CLEXTrain"]),
        .library(name: "CLEXEval", targets: ["CLEXEval"]),
        .library(name: "CLEXServer", targets: ["CLEXServer"]),
        .executable(name: "clex", targets: ["clex"]),
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS",
            path: "Sources/COpenBLAS",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CMicroHTTPD",
            path: "Sources/CMicroHTTPD",
            providers: [.apt(["libmicrohttpd-dev"])]
        ),
        .target(name: "CLEXKernels", cSettings: [.unsafeFlags(["-march=native", "-O3"])]),
        .target(name: "CLEXTensor", dependencies: ["COpenBLAS", "CLEXKernels"], swiftSettings: kernelFlags),
        .target(name: "CLEXTokenizer"),
        .target(name: "CLEXFormats", dependencies: ["CLEXTensor"], swiftSettings: kernelFlags),
        .target(name: "CLEXModel", dependencies: ["CLEXTensor", "CLEXFormats", "CLEXTokenizer"],
                swiftSettings: kernelFlags),
        .target(name: "CLEXTrain", dependencies: ["CLEXModel"], swiftSettings: kernelFlags),
        .target(name: "CLEXEval", dependencies: ["CLEXModel"], swiftSettings: kernelFlags),
        .target(name: "CLEXDemo", dependencies: ["CLEXEval", "CLEXTrain"], swiftSettings: kernelFlags),
        .target(name: "CLEXBench", dependencies: ["CLEXTensor", "CLEXModel", "CLEXTrain"], swiftSettings: kernelFlags),
        .target(name: "CLEXServer", dependencies: ["CMicroHTTPD", "CLEXModel", "CLEXTokenizer"]),
        .target(name: "CLEXFuzz", dependencies: ["CLEXTensor", "CLEXFormats", "CLEXTokenizer", "CLEXModel", "CLEXServer"]),
        .target(name: "CLEXCommandLine", dependencies: ["CLEXTensor", "CLEXFormats", "CLEXModel", "CLEXTrain", "CLEXBench", "CLEXEval",
                                                        "CLEXDemo", "CLEXFuzz", "CLEXServer"]),
        .executableTarget(name: "clex", dependencies: ["CLEXCommandLine", "CLEXTensor"]),
        .testTarget(name: "CLEXTensorTests", dependencies: ["CLEXTensor", "CLEXKernels"], swiftSettings: kernelFlags),
        .testTarget(name: "CLEXModelTests", dependencies: ["CLEXModel", "CLEXTokenizer"], swiftSettings: kernelFlags),
        .testTarget(name: "CLEXTrainTests", dependencies: ["CLEXTrain"], swiftSettings: kernelFlags),
        .testTarget(name: "CLEXEvalTests", dependencies: ["CLEXEval", "CLEXModel", "CLEXTensor", "CLEXTokenizer"],
                    swiftSettings: kernelFlags),
        .testTarget(name: "CLEXDemoTests", dependencies: ["CLEXDemo", "CLEXEval"], swiftSettings: kernelFlags),
        .testTarget(name: "CLEXFormatsTests", dependencies: ["CLEXFormats"], swiftSettings: kernelFlags),
        .testTarget(name: "CLEXTokenizerTests", dependencies: ["CLEXTokenizer"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "CLEXCommandLineTests", dependencies: ["CLEXCommandLine", "CLEXBench", "CLEXModel", "CLEXTensor"]),
        .testTarget(name: "CLEXServerTests", dependencies: ["CLEXServer", "CLEXModel", "CLEXTokenizer", "CLEXTensor", "CLEXFuzz"]),
        .testTarget(name: "CLEXFuzzTests", dependencies: ["CLEXFuzz", "CLEXFormats", "CLEXModel", "CLEXTokenizer", "CLEXTensor"]),
    ]
)
