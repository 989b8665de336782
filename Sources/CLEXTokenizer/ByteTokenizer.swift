/// A tokenizer of raw UTF-8 bytes: ids 0…255 are the bytes, 256 is `<|endoftext|>` (EOS and
/// document separator). No vocabulary file, no merges: for small models trained from scratch,
/// where a 49k-word embedding would dwarf the network.
public struct ByteTokenizer: Tokenizer {
    /// The end-of-text id.
    public static let endOfText: Int32 = 256

    public init() {}

    public var vocabularySize: Int { 257 }
    public var bosID: Int32? { nil }
    public var eosID: Int32? { Self.endOfText }
    public var unknownID: Int32? { nil }
    public var paddingID: Int32? { nil }
    public var chatTemplate: String? { nil }

    public func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        var ids: [Int32] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            if parseSpecial, rest.hasPrefix("<|endoftext|>") {
                ids.append(Self.endOfText)
                rest = rest.dropFirst("<|endoftext|>".count)
                continue
            }
            let next = parseSpecial ? rest.range(of: "<|endoftext|>")?.lowerBound ?? rest.endIndex : rest.endIndex
            ids += rest[..<next].utf8.map { Int32($0) }
            rest = rest[next...]
        }
        return ids
    }

    public func decodeBytes(_ ids: [Int32], skipSpecial: Bool) -> [UInt8] {
        var bytes: [UInt8] = []
        for id in ids {
            if id >= 0 && id < 256 { bytes.append(UInt8(id)) } else if id == Self.endOfText && !skipSpecial { bytes += Array("<|endoftext|>".utf8) }
        }
        return bytes
    }

    public func token(forID id: Int32) -> String? {
        if id == Self.endOfText { return "<|endoftext|>" }
        guard id >= 0 && id < 256 else { return nil }
        return ByteLevel.encode([UInt8(id)])
    }

    public func id(forToken token: String) -> Int32? {
        if token == "<|endoftext|>" { return Self.endOfText }
        guard let bytes = ByteLevel.decode(token), bytes.count == 1 else { return nil }
        return Int32(bytes[0])
    }

    public func isSpecial(_ id: Int32) -> Bool { id == Self.endOfText }
}
