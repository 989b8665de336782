import CLEXKernels

/// Activations [tokens, k] prepared for the matrix kernels of one element type
/// (`ElementType.activations`): quantised to 8-bit blocks for the quantised types, Float32 rows
/// for the float types. Owns its buffer; reuse one across steps with `prepare`.
public final class PreparedActivations: @unchecked Sendable {
    /// The format the rows are in.
    public private(set) var format: ElementType.Activations = .float32
    /// The type whose kernels read them (any type of `format`).
    private(set) var type: ElementType = .f32
    public private(set) var tokens = 0
    public private(set) var k = 0
    /// Bytes of one prepared row.
    private(set) var rowBytes = 0
    private var buffer: OwnedBytes?

    public init() {}

    /// The first prepared row.
    var base: UnsafeRawPointer { UnsafeRawPointer(buffer!.base) }

    /// Prepares x [tokens, k] (row stride k) for the kernels of `type` — or, with `.float32`
    /// precision, as Float32 rows for any type (`multiply` then widens the weights instead) —
    /// growing the buffer as needed.
    public func prepare(_ x: UnsafePointer<Float>, tokens: Int, k: Int, for weightType: ElementType,
                        precision: ActivationPrecision = .q8) {
        let type = precision == .float32 ? .f32 : weightType
        requireArgument(k % weightType.blockSize == 0, "prepare: rows of \(k) elements are not whole \(type) blocks")
        let id = Int32(type.ggmlID)
        rowBytes = clex_activation_row_bytes(id, Int64(k))
        let needed = max(1, rowBytes * tokens)
        if buffer == nil || buffer!.count < needed { buffer = OwnedBytes(count: needed) }
        (self.format, self.type, self.tokens, self.k) = (type.activations, type, tokens, k)
        let chunks = min(tokens, Parallel.threadCount)
        let (base, rb) = (buffer!.base, rowBytes)
        Parallel.forEachChunk(chunks, costPerItem: tokens * k / max(chunks, 1) * 4) { range in
            for c in range {
                let lo = tokens * c / chunks, hi = tokens * (c + 1) / chunks
                if lo < hi { clex_prepare_activations(id, x + lo * k, Int64(hi - lo), Int64(k), base + lo * rb) }
            }
        }
    }

    /// The prepared rows back as Float32 [tokens, k]: the values the kernels multiply by.
    public func dequantized() -> Tensor {
        let out = Tensor(zeros: [tokens, k])
        if tokens > 0 { clex_activations_to_float(Int32(type.ggmlID), base, Int64(tokens), Int64(k), out.pointer) }
        return out
    }
}

/// How activations meet quantised weights in the matrix kernels.
public enum ActivationPrecision: String, Sendable, CaseIterable {
    /// Activations rounded to 8-bit blocks and integer dot products (ggml's `vec_dot_type`
    /// pairing, as llama.cpp computes): the fastest; results differ from Float32 arithmetic by
    /// the activations' rounding.
    case q8
    /// Float32 activations, quantised weights widened to Float32 a few rows at a time: equal to
    /// the dequantise-then-Float32 computation up to summation order; slower.
    case float32 = "f32"
}

extension Weight {
    /// Rows widened at a time on the `.float32` path.
    static let widenRows = 4

    /// y[t, r] (+)= W[r, :] · x[t, :] for rows `range` of this matrix and every prepared token,
    /// on the calling thread (`CLEXKernels`): y [tokens, ldy], written at columns `range`.
    /// `x` must be prepared for this weight's activation format (or as Float32 rows, which
    /// widens the weight rows first), with k = `columns`.
    public func multiply(rows range: Range<Int>, _ x: PreparedActivations, into y: UnsafeMutablePointer<Float>, ldy: Int,
                         accumulate: Bool) {
        requireArgument((x.format == type.activations || x.format == .float32) && x.k == columns,
                        "multiply: activations prepared as \(x.format) with k = \(x.k) for a \(type) matrix of \(columns) columns")
        requireArgument(range.lowerBound >= 0 && range.upperBound <= rows, "multiply: rows \(range) outside 0..<\(rows)")
        guard !range.isEmpty, x.tokens > 0 else { return }
        let acc: Int32 = accumulate ? 1 : 0
        guard x.format != type.activations else {
            clex_matmul(Int32(type.ggmlID), bytes + range.lowerBound * bytesPerRow, bytesPerRow, Int64(range.count), x.base,
                        Int64(x.tokens), Int64(columns), y + range.lowerBound, Int64(ldy), acc)
            return
        }
        let tile = UnsafeMutablePointer<Float>.allocate(capacity: Self.widenRows * columns)
        defer { tile.deallocate() }
        let r = type.row
        var start = range.lowerBound
        while start < range.upperBound {
            let n = min(Self.widenRows, range.upperBound - start)
            r.dequantize(bytes + start * bytesPerRow, tile, n * columns / r.blockSize)
            clex_matmul(Int32(ElementType.f32.ggmlID), tile, 4 * columns, Int64(n), x.base, Int64(x.tokens), Int64(columns),
                        y + start, Int64(ldy), acc)
            start += n
        }
    }

    /// Which instruction path the matrix kernels use ("avx512vnni", "avx2" or "scalar").
    public static var kernelPath: String { String(cString: clex_kernels_path()) }
}
