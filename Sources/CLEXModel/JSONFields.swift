import Foundation

/// Typed, validated access to one JSON object, with errors that name the source and the key.
public struct JSONFields {
    /// The object's members.
    public let object: [String: Any]
    /// Where it came from, for error messages.
    public let source: String
    /// Key prefix for nested objects ("rope_scaling.").
    public let prefix: String

    /// Wraps a parsed object.
    public init(_ object: [String: Any], source: String, prefix: String = "") {
        self.object = object
        self.source = source
        self.prefix = prefix
    }

    /// Parses `data` as a JSON object.
    public init(data: Data, source: String) throws {
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: data)
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? error.localizedDescription
            throw ConfigurationError(source: source, key: "(document)", problem: "not valid JSON: \(detail)")
        }
        guard let object = parsed as? [String: Any] else {
            throw ConfigurationError(source: source, key: "(document)", problem: "expected a JSON object at the top level")
        }
        self.init(object, source: source)
    }

    /// The error for member `key` (prefixed like the others) with `problem`.
    public func error(_ key: String, _ problem: String) -> ConfigurationError {
        ConfigurationError(source: source, key: prefix + key, problem: problem)
    }

    /// Whether `key` is present and not null.
    public func has(_ key: String) -> Bool {
        guard let v = object[key] else { return false }
        return !(v is NSNull)
    }

    /// An integer member (a JSON number without fraction), or nil when absent/null.
    public func int(_ key: String) throws -> Int? {
        guard has(key) else { return nil }
        guard let n = object[key] as? NSNumber, !isBool(n) else { throw error(key, "expected an integer, found \(describe(object[key]))") }
        let d = n.doubleValue
        guard d.isFinite, d == d.rounded(), abs(d) < 9.0e15 else { throw error(key, "expected an integer, found \(n)") }
        return Int(d)
    }

    /// A numeric member, or nil when absent/null. Rejects non-finite values.
    public func double(_ key: String) throws -> Double? {
        guard has(key) else { return nil }
        guard let n = object[key] as? NSNumber, !isBool(n) else { throw error(key, "expected a number, found \(describe(object[key]))") }
        guard n.doubleValue.isFinite else { throw error(key, "expected a finite number, found \(n)") }
        return n.doubleValue
    }

    /// A boolean member, or nil when absent/null.
    public func bool(_ key: String) throws -> Bool? {
        guard has(key) else { return nil }
        guard let n = object[key] as? NSNumber, isBool(n) else { throw error(key, "expected true or false, found \(describe(object[key]))") }
        return n.boolValue
    }

    /// A string member, or nil when absent/null.
    public func string(_ key: String) throws -> String? {
        guard has(key) else { return nil }
        guard let s = object[key] as? String else { throw error(key, "expected a string, found \(describe(object[key]))") }
        return s
    }

    /// An array of numbers, or nil when absent/null.
    public func doubles(_ key: String) throws -> [Double]? {
        guard has(key) else { return nil }
        guard let a = object[key] as? [Any] else { throw error(key, "expected an array of numbers, found \(describe(object[key]))") }
        return try a.enumerated().map { i, v in
            guard let n = v as? NSNumber, !isBool(n), n.doubleValue.isFinite else {
                throw error("\(key)[\(i)]", "expected a finite number, found \(describe(v))")
            }
            return n.doubleValue
        }
    }

    /// A nested object, or nil when absent/null.
    public func object(_ key: String) throws -> JSONFields? {
        guard has(key) else { return nil }
        guard let o = object[key] as? [String: Any] else { throw error(key, "expected an object, found \(describe(object[key]))") }
        return JSONFields(o, source: source, prefix: prefix + key + ".")
    }

    /// An integer that may also be given as a list (e.g. `eos_token_id`): all of its values.
    public func ints(_ key: String) throws -> [Int]? {
        guard has(key) else { return nil }
        if let list = object[key] as? [Any] {
            return try list.enumerated().map { i, v in
                guard let n = v as? NSNumber, !isBool(n), n.doubleValue == n.doubleValue.rounded() else {
                    throw error("\(key)[\(i)]", "expected an integer, found \(describe(v))")
                }
                return n.intValue
            }
        }
        return try int(key).map { [$0] }
    }

    /// An array of objects, or nil when absent/null.
    public func objects(_ key: String) throws -> [JSONFields]? {
        guard has(key) else { return nil }
        guard let a = object[key] as? [Any] else { throw error(key, "expected an array of objects, found \(describe(object[key]))") }
        return try a.enumerated().map { i, v in
            guard let o = v as? [String: Any] else { throw error("\(key)[\(i)]", "expected an object, found \(describe(v))") }
            return JSONFields(o, source: source, prefix: prefix + "\(key)[\(i)].")
        }
    }

    /// A string or an array of strings (OpenAI's `stop`), as a list; nil when absent/null.
    public func strings(_ key: String) throws -> [String]? {
        guard has(key) else { return nil }
        if let s = object[key] as? String { return [s] }
        guard let a = object[key] as? [Any] else {
            throw error(key, "expected a string or an array of strings, found \(describe(object[key]))")
        }
        return try a.enumerated().map { i, v in
            guard let s = v as? String else { throw error("\(key)[\(i)]", "expected a string, found \(describe(v))") }
            return s
        }
    }

    /// JSON booleans arrive as NSNumbers of Objective-C type "c" (char); JSON numbers never do.
    private func isBool(_ n: NSNumber) -> Bool {
        String(cString: n.objCType) == "c"
    }

    private func describe(_ v: Any?) -> String {
        switch v {
        case nil: return "nothing"
        case is String: return "a string"
        case is [Any]: return "an array"
        case is [String: Any]: return "an object"
        case let n as NSNumber: return isBool(n) ? "a boolean" : "the number \(n)"
        default: return "\(type(of: v!))"
        }
    }
}
