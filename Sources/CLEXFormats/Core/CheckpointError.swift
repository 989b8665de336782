/// Everything that can be wrong with a checkpoint file, or with reading or writing one.
///
/// Every case names the file (`path`) and, where there is one, the field being read, so a message
/// alone tells which byte of which file disagrees with what the reader expected. Fields are spelled
/// as in `"tensor 'blk.0.attn_q.weight' offset"` or `"metadata key 'llama.block_count'"`.
public enum CheckpointError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed (open, stat, mmap, write, rename, …); `reason` is the errno text.
    case io(path: String, operation: String, reason: String)
    /// The file ends inside `field`: `needed` bytes at byte `offset`, only `available` left.
    case truncated(path: String, field: String, offset: Int, needed: Int, available: Int)
    /// The file does not start with the format's magic bytes.
    case badMagic(path: String, expected: String, found: String)
    /// A format version this reader does not read.
    case unsupportedVersion(path: String, found: String, supported: String)
    /// A field holds a value outside what the format allows.
    case invalidValue(path: String, field: String, expected: String, found: String)
    /// A byte range `start..<end` named by `field` reaches past `limit` (the end of the file or buffer).
    case outOfBounds(path: String, field: String, start: Int, end: Int, limit: Int)
    /// An offset that is not a multiple of the required alignment.
    case misaligned(path: String, field: String, offset: Int, alignment: Int)
    /// A size computed from `field` (a product of dimensions, a byte count) overflows `Int`.
    case overflow(path: String, field: String, detail: String)
    /// The bytes a field claims disagree with what its shape and element type need.
    case sizeMismatch(path: String, field: String, expectedBytes: Int, foundBytes: Int)
    /// A name (tensor, metadata key) that appears twice.
    case duplicate(path: String, field: String)
    /// A string field whose bytes are not valid UTF-8.
    case invalidUTF8(path: String, field: String, offset: Int)
    /// A tensor whose type id this reader does not know at all.
    case unknownTensorType(path: String, tensor: String, typeID: String)
    /// A tensor whose type is known but cannot be converted to Float32 by this reader.
    case unsupportedTensorType(path: String, tensor: String, type: String, supported: [String])
    /// A tensor name that the checkpoint does not hold.
    case missingTensor(path: String, name: String)
    /// A metadata key that the checkpoint does not hold.
    case missingKey(path: String, key: String)
    /// A metadata value of another type than the one asked for.
    case typeMismatch(path: String, key: String, expected: String, found: String)
    /// A JSON document (a safetensors header, an index file) that does not parse or has the wrong structure.
    case invalidJSON(path: String, field: String, offset: Int, reason: String)

    /// The file the error is about.
    public var path: String {
        switch self {
        case .io(let p, _, _), .truncated(let p, _, _, _, _), .badMagic(let p, _, _),
             .unsupportedVersion(let p, _, _), .invalidValue(let p, _, _, _),
             .outOfBounds(let p, _, _, _, _), .misaligned(let p, _, _, _), .overflow(let p, _, _),
             .sizeMismatch(let p, _, _, _), .duplicate(let p, _), .invalidUTF8(let p, _, _),
             .unknownTensorType(let p, _, _), .unsupportedTensorType(let p, _, _, _),
             .missingTensor(let p, _), .missingKey(let p, _), .typeMismatch(let p, _, _, _),
             .invalidJSON(let p, _, _, _):
            return p
        }
    }

    /// `"<path>: <field>: expected <what>, found <what>"` and similar one-line messages.
    public var description: String {
        switch self {
        case .io(let p, let op, let reason):
            return "\(p): \(op) failed: \(reason)"
        case .truncated(let p, let field, let offset, let needed, let available):
            return "\(p): truncated: \(field) needs \(needed) bytes at byte \(offset), only \(available) left"
        case .badMagic(let p, let expected, let found):
            return "\(p): magic: expected \(expected), found \(found)"
        case .unsupportedVersion(let p, let found, let supported):
            return "\(p): version: expected \(supported), found \(found)"
        case .invalidValue(let p, let field, let expected, let found):
            return "\(p): \(field): expected \(expected), found \(found)"
        case .outOfBounds(let p, let field, let start, let end, let limit):
            return "\(p): \(field): bytes \(start)..<\(end) extend past the end (\(limit) bytes)"
        case .misaligned(let p, let field, let offset, let alignment):
            return "\(p): \(field): expected a multiple of \(alignment), found \(offset)"
        case .overflow(let p, let field, let detail):
            return "\(p): \(field): size overflows: \(detail)"
        case .sizeMismatch(let p, let field, let expected, let found):
            return "\(p): \(field): shape and type need \(expected) bytes, found \(found)"
        case .duplicate(let p, let field):
            return "\(p): duplicate \(field)"
        case .invalidUTF8(let p, let field, let offset):
            return "\(p): \(field) at byte \(offset): expected UTF-8 text, found invalid bytes"
        case .unknownTensorType(let p, let tensor, let typeID):
            return "\(p): tensor '\(tensor)' type: unknown type id \(typeID)"
        case .unsupportedTensorType(let p, let tensor, let type, let supported):
            return "\(p): tensor '\(tensor)' type: expected one of \(supported.joined(separator: ", ")), found \(type)"
        case .missingTensor(let p, let name):
            return "\(p): no tensor named '\(name)'"
        case .missingKey(let p, let key):
            return "\(p): no metadata key '\(key)'"
        case .typeMismatch(let p, let key, let expected, let found):
            return "\(p): metadata key '\(key)': expected \(expected), found \(found)"
        case .invalidJSON(let p, let field, let offset, let reason):
            return "\(p): \(field) at byte \(offset): \(reason)"
        }
    }
}
