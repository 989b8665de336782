/// The type tags of checkpoint metadata values; the raw values are GGUF's
/// `gguf_metadata_value_type` ids, as stored in GGUF files.
public enum MetadataValueType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// GGUF's name of the type (`"uint32"`, `"string"`, …).
    public var description: String {
        switch self {
        case .uint8: return "uint8"
        case .int8: return "int8"
        case .uint16: return "uint16"
        case .int16: return "int16"
        case .uint32: return "uint32"
        case .int32: return "int32"
        case .float32: return "float32"
        case .bool: return "bool"
        case .string: return "string"
        case .array: return "array"
        case .uint64: return "uint64"
        case .int64: return "int64"
        case .float64: return "float64"
        }
    }

    /// Bytes one value takes in a GGUF file, for fixed-size types (nil for string and array).
    public var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string, .array: return nil
        }
    }
}

/// One metadata value: a GGUF value of any type, a safetensors `__metadata__` string, or a
/// llama.2c header field. Arrays carry their element type (needed to write an empty array) and
/// may nest.
public enum MetadataValue: Equatable, Sendable, CustomStringConvertible {
    case uint8(UInt8)
    case int8(Int8)
    case uint16(UInt16)
    case int16(Int16)
    case uint32(UInt32)
    case int32(Int32)
    case float32(Float)
    case bool(Bool)
    case string(String)
    /// Elements, all of `elementType`.
    case array(elementType: MetadataValueType, [MetadataValue])
    case uint64(UInt64)
    case int64(Int64)
    case float64(Double)

    /// The type tag.
    public var type: MetadataValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .float32: return .float32
        case .bool: return .bool
        case .string: return .string
        case .array: return .array
        case .uint64: return .uint64
        case .int64: return .int64
        case .float64: return .float64
        }
    }

    /// The type as a message names it: `"uint32"`, `"array of string"`.
    public var typeName: String {
        if case .array(let t, _) = self { return "array of \(t)" }
        return type.description
    }

    /// The value of any integer case when it fits in `T` exactly; nil otherwise.
    public func integer<T: FixedWidthInteger>(as: T.Type = T.self) -> T? {
        switch self {
        case .uint8(let v): return T(exactly: v)
        case .int8(let v): return T(exactly: v)
        case .uint16(let v): return T(exactly: v)
        case .int16(let v): return T(exactly: v)
        case .uint32(let v): return T(exactly: v)
        case .int32(let v): return T(exactly: v)
        case .uint64(let v): return T(exactly: v)
        case .int64(let v): return T(exactly: v)
        default: return nil
        }
    }

    /// The value of a float32 or float64 case (float64 rounded to Float); nil otherwise.
    public var float: Float? {
        switch self {
        case .float32(let v): return v
        case .float64(let v): return Float(v)
        default: return nil
        }
    }

    /// The value as a message shows it (strings quoted, long arrays abbreviated).
    public var description: String {
        switch self {
        case .uint8(let v): return "\(v)"
        case .int8(let v): return "\(v)"
        case .uint16(let v): return "\(v)"
        case .int16(let v): return "\(v)"
        case .uint32(let v): return "\(v)"
        case .int32(let v): return "\(v)"
        case .float32(let v): return "\(v)"
        case .bool(let v): return "\(v)"
        case .string(let v): return JSONText.quoted(v)
        case .array(_, let items):
            let shown = items.prefix(8).map(\.description).joined(separator: ", ")
            return "[\(shown)\(items.count > 8 ? ", … (\(items.count) items)" : "")]"
        case .uint64(let v): return "\(v)"
        case .int64(let v): return "\(v)"
        case .float64(let v): return "\(v)"
        }
    }
}
