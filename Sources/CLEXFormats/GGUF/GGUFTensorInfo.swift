/// Where one tensor of a GGUF file lives and how it is encoded.
public struct GGUFTensorInfo: Sendable, Equatable {
    /// The tensor's name (`"blk.0.attn_q.weight"`).
    public let name: String
    /// Extents in ggml order: `dimensions[0]` (`ne[0]`) is the fastest-varying dimension.
    public let dimensions: [Int]
    /// Element encoding.
    public let type: GGMLType
    /// Offset of the data from the start of the file's data section (a multiple of the alignment).
    public let offset: Int
    /// The data's bytes as absolute offsets in the file.
    public let byteRange: Range<Int>

    /// Extents in row-major order, outermost first (`dimensions` reversed): a linear layer's
    /// weight with `ne = [in, out]` has shape `[out, in]`.
    public var shape: [Int] { dimensions.reversed() }

    /// Number of elements.
    public var elementCount: Int { dimensions.reduce(1, *) }
}
