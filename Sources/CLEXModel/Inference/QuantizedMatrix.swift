import CLEXFormats
import CLEXTensor

/// A weight matrix [rows, columns] kept in one of ggml's block formats, for decoding: the
/// GEMV kernels (`QuantizedKernels`) read the blocks and dequantise them in registers, so a
/// decoding step reads 4.5–8.5 bits per weight instead of 32.
///
/// Block formats (ggml's `block_q8_0`, `block_q4_0`, `block_q4_1` in ggml-common.h; the layouts
/// `GGMLCodec` decodes), 32 consecutive elements of a row per block:
///
/// - `Q8_0` (34 bytes): fp16 `d`, 32 × int8 `q`; w = q · d.
/// - `Q4_0` (18 bytes): fp16 `d`, 16 bytes; element j < 16 is the low nibble of byte j, element
///   j + 16 its high nibble; w = (nibble − 8) · d.
/// - `Q4_1` (20 bytes): fp16 `d`, fp16 `m`, 16 bytes of nibbles as in Q4_0; w = nibble · d + m.
///
/// The blocks are kept bit for bit, but regrouped: each row is cut into groups of four blocks
/// (the last one shorter when the row's block count is not a multiple of four), and a group of n
/// blocks stores their n scales `d`, then (Q4_1) their n minima `m`, then their n runs of quants
/// — the same bytes as n ggml blocks, arranged so the kernels load 64 bytes of quants at once.
///
/// Rows must hold a whole number of blocks (a multiple of 32 elements), as in GGUF files; other
/// widths are rejected when the matrix is made.
public final class QuantizedMatrix: @unchecked Sendable {
    /// The block formats the kernels read.
    public static let supportedTypes: [GGMLType] = [.q8_0, .q4_0, .q4_1]

    /// The block format.
    public let type: GGMLType
    public let rows: Int
    public let columns: Int
    /// Blocks per row (columns / 32).
    public let blocksPerRow: Int
    /// Bytes of one row of blocks (blocksPerRow · the format's bytes per block).
    public let bytesPerRow: Int
    /// The regrouped blocks, row after row, then `slack` bytes (owned, 64-byte aligned; never
    /// written after init).
    let data: UnsafeMutableRawPointer

    /// Bytes allocated past the last row: a partial group's 64-byte loads of quants may reach
    /// up to 128 bytes past its start (see `QuantizedKernels`).
    static let slack = 128

    /// Bytes of all blocks.
    public var byteCount: Int { rows * bytesPerRow }

    /// Copies `blocks` (rows × columns/32 blocks of `type`, row-major, as a GGUF file stores a
    /// [rows, columns] tensor). Throws when the type is not a supported block format, a row is
    /// not a whole number of blocks, or `blocks` has the wrong size.
    public init(type: GGMLType, rows: Int, columns: Int, blocks: UnsafeRawBufferPointer) throws {
        try Self.check(type: type, rows: rows, columns: columns)
        (self.type, self.rows, self.columns) = (type, rows, columns)
        blocksPerRow = columns / type.blockSize
        bytesPerRow = blocksPerRow * type.bytesPerBlock
        guard blocks.count == rows * bytesPerRow else {
            throw ModelLoadError("QuantizedMatrix: a [\(rows), \(columns)] \(type) matrix needs \(rows * bytesPerRow) bytes of blocks, got \(blocks.count)")
        }
        data = .allocate(byteCount: rows * bytesPerRow + Self.slack, alignment: 64)
        (data + rows * bytesPerRow).initializeMemory(as: UInt8.self, repeating: 0, count: Self.slack)
        if let base = blocks.baseAddress { regroup(from: base) }
    }

    /// `matrix` ([rows, columns]) quantised to `type` with ggml's reference quantisers
    /// (`GGMLCodec.quantize`). Throws as `init(type:rows:columns:blocks:)` does.
    public convenience init(quantizing matrix: Tensor, to type: GGMLType) throws {
        guard matrix.rank == 2 else {
            throw ModelLoadError("QuantizedMatrix: quantizing needs a matrix, got shape \(matrix.shape)")
        }
        let (rows, columns) = (matrix.shape[0], matrix.shape[1])
        try Self.check(type: type, rows: rows, columns: columns)
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, rows * columns / 32 * type.bytesPerBlock),
                                                           alignment: 64)
        defer { bytes.deallocate() }
        if matrix.count > 0 { GGMLCodec.quantize(type, from: matrix.pointer, count: matrix.count, into: bytes.baseAddress!) }
        try self.init(type: type, rows: rows, columns: columns,
                      blocks: UnsafeRawBufferPointer(rebasing: bytes[0..<(rows * columns / 32 * type.bytesPerBlock)]))
    }

    deinit { data.deallocate() }

    private static func check(type: GGMLType, rows: Int, columns: Int) throws {
        guard supportedTypes.contains(type) else {
            throw ModelLoadError("QuantizedMatrix: \(type) is not a block format the decoding kernels read (supported: \(supportedTypes.map(\.description).joined(separator: ", ")))")
        }
        guard rows >= 0, columns > 0, columns % type.blockSize == 0 else {
            throw ModelLoadError("QuantizedMatrix: rows of \(columns) elements are not a whole number of \(type) blocks of \(type.blockSize) elements")
        }
    }

    /// Bytes of a block's scalars (d, or d and m) at its start.
    private var scalarBytes: Int { type == .q4_1 ? 4 : 2 }

    /// Moves the bytes of group `c` of a row between ggml order (`blocks`) and the grouped
    /// order (`grouped`): `toGrouped` copies ggml → grouped, else back.
    private func moveGroup(_ c: Int, blocks: UnsafeMutableRawPointer, grouped: UnsafeMutableRawPointer, toGrouped: Bool) {
        let bpb = type.bytesPerBlock
        let n = min(4, blocksPerRow - 4 * c)
        let (raw, packed) = (blocks + 4 * c * bpb, grouped + 4 * c * bpb)
        let quants = bpb - scalarBytes
        @inline(__always) func move(_ a: UnsafeMutableRawPointer, _ b: UnsafeMutableRawPointer, _ count: Int) {
            if toGrouped { b.copyMemory(from: a, byteCount: count) } else { a.copyMemory(from: b, byteCount: count) }
        }
        @inline(__always) func moveHalf(_ a: UnsafeMutableRawPointer, _ b: UnsafeMutableRawPointer) {
            if toGrouped {
                b.storeBytes(of: a.loadUnaligned(as: UInt16.self), as: UInt16.self)
            } else {
                a.storeBytes(of: b.loadUnaligned(as: UInt16.self), as: UInt16.self)
            }
        }
        for g in 0..<n {
            let block = raw + g * bpb
            moveHalf(block, packed + 2 * g)                                            // d
            if type == .q4_1 { moveHalf(block + 2, packed + 2 * n + 2 * g) }           // m
            move(block + scalarBytes, packed + n * scalarBytes + g * quants, quants)   // quants
        }
    }

    private func regroup(from source: UnsafeRawPointer) {
        let groups = (blocksPerRow + 3) / 4
        Parallel.forEachChunk(rows, costPerItem: bytesPerRow) { range in
            for r in range {
                let (raw, packed) = (UnsafeMutableRawPointer(mutating: source) + r * bytesPerRow, data + r * bytesPerRow)
                for c in 0..<groups { moveGroup(c, blocks: raw, grouped: packed, toGrouped: true) }
            }
        }
    }

    /// The blocks in ggml's order (rows × columns/32 blocks of `type`), as a GGUF file stores them.
    public func ggmlBlocks() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: byteCount)
        let groups = (blocksPerRow + 3) / 4
        out.withUnsafeMutableBytes { out in
            for r in 0..<rows {
                for c in 0..<groups {
                    moveGroup(c, blocks: out.baseAddress! + r * bytesPerRow, grouped: data + r * bytesPerRow, toGrouped: false)
                }
            }
        }
        return out
    }

    /// The matrix as Float32 [rows, columns] (`GGMLCodec.dequantize` of `ggmlBlocks()`).
    public func dequantized() -> Tensor {
        let out = Tensor(zeros: [rows, columns])
        let blocks = ggmlBlocks()
        blocks.withUnsafeBytes { b in
            if out.count > 0 { GGMLCodec.dequantize(type, from: b.baseAddress!, count: out.count, into: out.pointer) }
        }
        return out
    }

    /// x · Wᵀ: x [T, columns] → [T, rows], with the decoding kernels on the worker team.
    public func multiply(_ x: Tensor) -> Tensor {
        precondition(x.rank == 2 && x.shape[1] == columns,
                     "QuantizedMatrix.multiply: x has shape \(x.shape), expected [T, \(columns)]")
        let out = Tensor(zeros: [x.shape[0], rows])
        DecodeKernels.linear(.blocks(self), x.pointer, tokens: x.shape[0], into: out.pointer, accumulate: false,
                             team: .shared)
        return out
    }
}
