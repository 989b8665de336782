/// The metadata of a checkpoint, in file order, with typed accessors.
///
/// Accessors throw `CheckpointError.missingKey` for an absent key and `.typeMismatch` (naming the
/// file, key, expected and found type) for a value of another type. Integer accessors accept
/// any integer type whose value fits exactly (GGUF writers use uint32 and uint64 for the same
/// keys); float accessors accept float32 and float64.
public struct CheckpointMetadata: Sendable {
    /// The file the metadata came from (named in errors).
    public let path: String
    /// Every key and value, in file order; keys are unique.
    public let entries: [(key: String, value: MetadataValue)]
    private let index: [String: Int]

    /// Metadata from unique `(key, value)` pairs; throws `.duplicate` for a repeated key.
    public init(path: String, entries: [(key: String, value: MetadataValue)]) throws(CheckpointError) {
        var index: [String: Int] = [:]
        index.reserveCapacity(entries.count)
        for (i, entry) in entries.enumerated() {
            guard index.updateValue(i, forKey: entry.key) == nil else {
                throw .duplicate(path: path, field: "metadata key '\(entry.key)'")
            }
        }
        self.path = path
        self.entries = entries
        self.index = index
    }

    /// The keys in file order.
    public var keys: [String] { entries.map(\.key) }

    /// The value for `key`, or nil.
    public subscript(_ key: String) -> MetadataValue? { index[key].map { entries[$0].value } }

    /// Whether `key` is present.
    public func contains(_ key: String) -> Bool { index[key] != nil }

    /// The value for `key`; throws `.missingKey` when absent.
    public func value(_ key: String) throws(CheckpointError) -> MetadataValue {
        guard let v = self[key] else { throw .missingKey(path: path, key: key) }
        return v
    }

    private func mismatch(_ key: String, _ expected: String, _ found: MetadataValue) -> CheckpointError {
        .typeMismatch(path: path, key: key, expected: expected, found: "\(found.typeName) \(found)")
    }

    private func integer<T: FixedWidthInteger>(_ key: String, _ name: String) throws(CheckpointError) -> T {
        let v = try value(key)
        guard let n: T = v.integer() else { throw mismatch(key, name, v) }
        return n
    }

    /// An integer value that fits in `UInt32`.
    public func uint32(_ key: String) throws(CheckpointError) -> UInt32 { try integer(key, "uint32") }
    /// An integer value that fits in `UInt64`.
    public func uint64(_ key: String) throws(CheckpointError) -> UInt64 { try integer(key, "uint64") }
    /// An integer value that fits in `Int32`.
    public func int32(_ key: String) throws(CheckpointError) -> Int32 { try integer(key, "int32") }
    /// An integer value that fits in `Int`.
    public func int(_ key: String) throws(CheckpointError) -> Int { try integer(key, "integer") }

    /// An integer value, or `defaultValue` when the key is absent.
    public func int(_ key: String, default defaultValue: Int) throws(CheckpointError) -> Int {
        contains(key) ? try int(key) : defaultValue
    }

    /// A float32 or float64 value as `Float`.
    public func float(_ key: String) throws(CheckpointError) -> Float {
        let v = try value(key)
        guard let f = v.float else { throw mismatch(key, "float32", v) }
        return f
    }

    /// A float value, or `defaultValue` when the key is absent.
    public func float(_ key: String, default defaultValue: Float) throws(CheckpointError) -> Float {
        contains(key) ? try float(key) : defaultValue
    }

    /// A float64 or float32 value as `Double`.
    public func double(_ key: String) throws(CheckpointError) -> Double {
        let v = try value(key)
        switch v {
        case .float64(let d): return d
        case .float32(let f): return Double(f)
        default: throw mismatch(key, "float64", v)
        }
    }

    /// A bool value.
    public func bool(_ key: String) throws(CheckpointError) -> Bool {
        let v = try value(key)
        guard case .bool(let b) = v else { throw mismatch(key, "bool", v) }
        return b
    }

    /// A bool value, or `defaultValue` when the key is absent.
    public func bool(_ key: String, default defaultValue: Bool) throws(CheckpointError) -> Bool {
        contains(key) ? try bool(key) : defaultValue
    }

    /// A string value.
    public func string(_ key: String) throws(CheckpointError) -> String {
        let v = try value(key)
        guard case .string(let s) = v else { throw mismatch(key, "string", v) }
        return s
    }

    /// A string value, or `defaultValue` when the key is absent.
    public func string(_ key: String, default defaultValue: String) throws(CheckpointError) -> String {
        contains(key) ? try string(key) : defaultValue
    }

    /// The elements of an array value (any element type).
    public func array(_ key: String) throws(CheckpointError) -> [MetadataValue] {
        let v = try value(key)
        guard case .array(_, let items) = v else { throw mismatch(key, "array", v) }
        return items
    }

    /// An array of strings.
    public func stringArray(_ key: String) throws(CheckpointError) -> [String] {
        let v = try value(key)
        guard case .array(.string, let items) = v else { throw mismatch(key, "array of string", v) }
        return items.map { if case .string(let s) = $0 { s } else { "" } }
    }

    /// An array of integers (any integer element type) whose values all fit in `Int`.
    public func intArray(_ key: String) throws(CheckpointError) -> [Int] {
        let v = try value(key)
        guard case .array(_, let items) = v else { throw mismatch(key, "array of integers", v) }
        var out: [Int] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let n: Int = item.integer() else { throw mismatch(key, "array of integers", v) }
            out.append(n)
        }
        return out
    }

    /// An array of float32 or float64 values as `Float`.
    public func floatArray(_ key: String) throws(CheckpointError) -> [Float] {
        let v = try value(key)
        guard case .array(let t, let items) = v, t == .float32 || t == .float64 else {
            throw mismatch(key, "array of float32", v)
        }
        return items.map { $0.float ?? 0 }
    }
}
