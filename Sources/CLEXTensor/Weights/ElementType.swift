/// The element types weights are stored in, one row each (as ggml's `type_traits`): the name,
/// ggml's type id, the block (elements and bytes), how to dequantise and quantise a run of
/// blocks, and which activations the matrix kernels (`CLEXKernels`) pair it with. A new type is a
/// new row here plus its codec and kernel files; nothing else in the program names it. File
/// formats map their own type ids to these rows (GGUF: the ggml id; safetensors: F32/F16/BF16).
public enum ElementType: String, CaseIterable, Sendable, CustomStringConvertible {
    case f32 = "F32", f16 = "F16", bf16 = "BF16"
    case q8_0 = "Q8_0", q4_0 = "Q4_0", q4_1 = "Q4_1"
    case q4K = "Q4_K", q5K = "Q5_K", q6K = "Q6_K"

    /// What the kernels multiply a matrix of this type by.
    public enum Activations: Sendable {
        /// Float32 rows, unchanged.
        case float32
        /// 8-bit blocks of 32 with a Float32 scale (ggml's Q8_0 pairing).
        case q8Blocks32
        /// 8-bit blocks of 256 with a Float32 scale and 16-element sums (ggml's Q8_K pairing).
        case q8Blocks256
    }

    /// Converts `blocks` blocks at the source into `blocks · blockSize` floats.
    public typealias Dequantizer = (_ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) -> Void
    /// Converts `blocks · blockSize` floats into `blocks` blocks (NaN becomes 0 in quantised types).
    public typealias Quantizer = (_ source: UnsafePointer<Float>, _ destination: UnsafeMutableRawPointer, _ blocks: Int) -> Void

    struct Row {
        let ggmlID: UInt32
        let blockSize: Int
        let bytesPerBlock: Int
        let activations: Activations
        let dequantize: Dequantizer
        let quantize: Quantizer
    }

    var row: Row {
        switch self {
        case .f32: Row(ggmlID: 0, blockSize: 1, bytesPerBlock: 4, activations: .float32,
                       dequantize: { s, d, n in UnsafeMutableRawPointer(d).copyMemory(from: s, byteCount: 4 * n) },
                       quantize: { s, d, n in d.copyMemory(from: s, byteCount: 4 * n) })
        case .f16: Row(ggmlID: 1, blockSize: 1, bytesPerBlock: 2, activations: .float32,
                       dequantize: HalfPrecision.f16ToF32, quantize: HalfPrecision.f32ToF16)
        case .bf16: Row(ggmlID: 30, blockSize: 1, bytesPerBlock: 2, activations: .float32,
                        dequantize: HalfPrecision.bf16ToF32, quantize: HalfPrecision.f32ToBF16)
        case .q8_0: Row(ggmlID: 8, blockSize: 32, bytesPerBlock: 34, activations: .q8Blocks32,
                        dequantize: LegacyQuants.dequantizeQ8_0, quantize: LegacyQuants.quantizeQ8_0)
        case .q4_0: Row(ggmlID: 2, blockSize: 32, bytesPerBlock: 18, activations: .q8Blocks32,
                        dequantize: LegacyQuants.dequantizeQ4_0, quantize: LegacyQuants.quantizeQ4_0)
        case .q4_1: Row(ggmlID: 3, blockSize: 32, bytesPerBlock: 20, activations: .q8Blocks32,
                        dequantize: LegacyQuants.dequantizeQ4_1, quantize: LegacyQuants.quantizeQ4_1)
        case .q4K: Row(ggmlID: 12, blockSize: 256, bytesPerBlock: 144, activations: .q8Blocks256,
                       dequantize: KQuants.dequantizeQ4K, quantize: KQuants.quantizeQ4K)
        case .q5K: Row(ggmlID: 13, blockSize: 256, bytesPerBlock: 176, activations: .q8Blocks256,
                       dequantize: KQuants.dequantizeQ5K, quantize: KQuants.quantizeQ5K)
        case .q6K: Row(ggmlID: 14, blockSize: 256, bytesPerBlock: 210, activations: .q8Blocks256,
                       dequantize: KQuants.dequantizeQ6K, quantize: KQuants.quantizeQ6K)
        }
    }

    /// ggml's name ("F32", "Q4_K", …).
    public var description: String { rawValue }
    /// ggml's type id (`enum ggml_type`).
    public var ggmlID: UInt32 { row.ggmlID }
    /// Elements per block (1 for the float types).
    public var blockSize: Int { row.blockSize }
    /// Bytes per block.
    public var bytesPerBlock: Int { row.bytesPerBlock }
    /// What the matrix kernels multiply this type by.
    public var activations: Activations { row.activations }
    /// Whether values are stored in blocks with shared scales (not a plain float type).
    public var isQuantized: Bool { blockSize > 1 }

    /// The row with ggml's type id `id`, nil for types not in the table.
    public init?(ggmlID id: UInt32) {
        guard let t = Self.allCases.first(where: { $0.ggmlID == id }) else { return nil }
        self = t
    }

    /// Bytes taken by `count` elements (a multiple of `blockSize`), or nil when `count` is not a
    /// whole number of blocks or the size overflows.
    public func byteCount(elements count: Int) -> Int? {
        guard count >= 0, count % blockSize == 0 else { return nil }
        let (bytes, overflow) = (count / blockSize).multipliedReportingOverflow(by: bytesPerBlock)
        return overflow ? nil : bytes
    }

    /// The conversion of whole blocks to Float32 on the calling thread (for loops that already
    /// run on every core): `dequantizer(source, destination, blocks)`.
    public var dequantizer: Dequantizer { row.dequantize }

    /// Converts `count` elements at `source` (`byteCount(elements: count)` bytes) into
    /// `destination`, split across cores when large. `count` must be a whole number of blocks.
    public func dequantize(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>) {
        requireArgument(count >= 0 && count % blockSize == 0,
                        "dequantize: \(count) elements is not a whole number of \(self) blocks of \(blockSize)")
        let r = row
        Parallel.forEachChunk(count / r.blockSize, costPerItem: 2 * r.blockSize) { range in
            r.dequantize(source + range.lowerBound * r.bytesPerBlock, destination + range.lowerBound * r.blockSize,
                         range.count)
        }
    }

    /// Converts `count` floats into `destination` (room for `byteCount(elements: count)` bytes),
    /// split across cores when large. `count` must be a whole number of blocks.
    public func quantize(_ source: UnsafePointer<Float>, count: Int, into destination: UnsafeMutableRawPointer) {
        requireArgument(count >= 0 && count % blockSize == 0,
                        "quantize: \(count) elements is not a whole number of \(self) blocks of \(blockSize)")
        let r = row
        Parallel.forEachChunk(count / r.blockSize, costPerItem: 8 * r.blockSize) { range in
            r.quantize(source + range.lowerBound * r.blockSize, destination + range.lowerBound * r.bytesPerBlock,
                       range.count)
        }
    }
}
