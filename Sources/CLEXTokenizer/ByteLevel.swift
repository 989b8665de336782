/// GPT-2's byte ↔ character table, used by byte-level BPE vocabularies.
///
/// Each of the 256 byte values is spelled by one printable character: the printable Latin-1
/// bytes (`!`…`~`, `¡`…`¬`, `®`…`ÿ`) by themselves, the other 68 bytes by U+0100 upwards in byte
/// order (so space 0x20 is `Ġ` U+0120 and newline 0x0A is `Ċ` U+010A). Vocabulary strings are
/// sequences of these characters.
public enum ByteLevel {
    /// `characters[b]` spells byte `b`.
    public static let characters: [Unicode.Scalar] = {
        var printable = [Int](0x21...0x7E) + [Int](0xA1...0xAC) + [Int](0xAE...0xFF)
        var scalars = [UInt32](repeating: 0, count: 256)
        for b in printable { scalars[b] = UInt32(b) }
        var next: UInt32 = 256
        for b in 0..<256 where !printable.contains(b) {
            scalars[b] = next
            next += 1
            printable.append(b)
        }
        return scalars.map { Unicode.Scalar($0)! }
    }()

    /// Inverse table indexed by scalar value (0 ..< 324): the byte a character spells, or -1.
    static let bytesByScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 324)
        for (b, scalar) in characters.enumerated() { table[Int(scalar.value)] = Int16(b) }
        return table
    }()

    /// The byte `scalar` spells, or nil for a character outside the table.
    public static func byte(for scalar: Unicode.Scalar) -> UInt8? {
        let v = Int(scalar.value)
        guard v < bytesByScalar.count else { return nil }
        let b = bytesByScalar[v]
        return b < 0 ? nil : UInt8(b)
    }

    /// The vocabulary spelling of raw bytes (`"Hi there"` → `"HiĠthere"`).
    public static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(characters[Int(b)]) }
        return String(s)
    }

    /// The bytes a vocabulary string spells, or nil when it has a character outside the table.
    public static func decode(_ token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.utf8.count)
        for scalar in token.unicodeScalars {
            guard let b = byte(for: scalar) else { return nil }
            out.append(b)
        }
        return out
    }
}
