/// Path text operations that Foundation gets wrong: `NSString.deletingLastPathComponent` traps on
/// a one-character path without a slash (swift-corelibs-foundation, e.g. "2"), and gives "" for
/// a bare file name, which `+ "/name"` turns into a path at the root.
public enum FilePath {
    /// The folder holding `path`: "." for a bare name, "/" at the root; trailing slashes ignored.
    public static func folder(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }
}
