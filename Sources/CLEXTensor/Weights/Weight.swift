/// A stored weight: element type, row-major shape and bytes — the model's parameters as a
/// checkpoint holds them. Quantised or half-precision bytes are used where they lie (a
/// memory-mapped GGUF or safetensors file, kept alive by the weight), never widened to Float32
/// for inference; Float32 weights made in memory (training, fresh models) are `Tensor`s.
///
/// Blocks run along the last dimension (a row of a matrix), as in GGUF files, so a row of a
/// quantised matrix is `bytesPerRow` bytes and rows can be read, permuted or multiplied alone.
public struct Weight: @unchecked Sendable {
    /// The element type.
    public let type: ElementType
    /// Row-major shape, outermost first (a linear layer's matrix is [out, in]).
    public let shape: [Int]
    private let storage: Storage

    private enum Storage {
        /// Float32 elements in a tensor (trainable: optimisers update it in place).
        case tensor(Tensor)
        /// Encoded bytes kept alive by `owner` (a mapped file, or a buffer this weight owns).
        case bytes(UnsafeRawPointer, owner: AnyObject)
    }

    /// A Float32 weight over `tensor`'s elements (no copy; changes to the tensor show through).
    public init(_ tensor: Tensor) {
        type = .f32
        shape = tensor.shape
        storage = .tensor(tensor)
    }

    /// A weight over `bytes` encoded as `type` in `shape`, kept alive by `owner`. Throws when the
    /// last dimension is not a whole number of blocks or the byte count does not match.
    public init(type: ElementType, shape: [Int], bytes: UnsafeRawBufferPointer, owner: AnyObject) throws(WeightError) {
        guard shape.allSatisfy({ $0 >= 0 }), let last = shape.last ?? 1 as Int?, last % type.blockSize == 0 else {
            throw .notWholeBlocks(type: type, shape: shape)
        }
        let (count, overflow) = shape.reduce((1, false)) { acc, d in
            let (p, o) = acc.0.multipliedReportingOverflow(by: d)
            return (p, acc.1 || o)
        }
        guard !overflow, let needed = type.byteCount(elements: count), needed == bytes.count else {
            throw .byteCount(type: type, shape: shape, got: bytes.count)
        }
        self.type = type
        self.shape = shape
        storage = .bytes(bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!, owner: owner)
    }

    /// `tensor` encoded as `type` (its last dimension a whole number of blocks): the quantised
    /// copy owned by the weight; Float32 keeps the tensor itself.
    public init(encoding tensor: Tensor, as type: ElementType) {
        guard type != .f32 else {
            self.init(tensor)
            return
        }
        requireArgument((tensor.shape.last ?? 1) % type.blockSize == 0,
                        "Weight: rows of \(tensor.shape.last ?? 1) elements are not whole \(type) blocks of \(type.blockSize)")
        let buffer = OwnedBytes(count: type.byteCount(elements: tensor.count)!)
        if tensor.count > 0 { type.quantize(tensor.pointer, count: tensor.count, into: buffer.base) }
        try! self.init(type: type, shape: tensor.shape, bytes: UnsafeRawBufferPointer(start: buffer.base, count: buffer.count),
                       owner: buffer)
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
    /// Elements per row (the last dimension).
    public var columns: Int { shape.last ?? 1 }
    /// Rows (the product of all but the last dimension).
    public var rows: Int { columns == 0 ? 0 : count / columns }
    /// Bytes of one row.
    public var bytesPerRow: Int { columns / type.blockSize * type.bytesPerBlock }
    /// Bytes of all elements.
    public var byteCount: Int { rows * bytesPerRow }

    /// The first byte of the encoded elements.
    public var bytes: UnsafeRawPointer {
        switch storage {
        case .tensor(let t): UnsafeRawPointer(t.pointer)
        case .bytes(let p, _): p
        }
    }

    /// The Float32 tensor this weight is, when it was made from one (trainable, updated in place).
    public var floatTensor: Tensor? {
        if case .tensor(let t) = storage { t } else { nil }
    }

    /// The elements as a Float32 tensor: the weight's own tensor when it has one, else a
    /// dequantised copy.
    public var tensor: Tensor {
        if let t = floatTensor { return t }
        let out = Tensor(zeros: shape)
        if count > 0 { type.dequantize(bytes, count: count, into: out.pointer) }
        return out
    }

    /// Rows `range` dequantised into `destination` ([range.count, columns] floats), split
    /// across cores when large.
    public func dequantizeRows(_ range: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        requireArgument(range.lowerBound >= 0 && range.upperBound <= rows, "dequantizeRows: \(range) outside 0..<\(rows)")
        guard !range.isEmpty else { return }
        type.dequantize(bytes + range.lowerBound * bytesPerRow, count: range.count * columns, into: destination)
    }

    /// The same elements with rows reordered: row i of the result is row `order[i]` of this one
    /// (a copy, in the same type).
    public func permutingRows(_ order: [Int]) -> Weight {
        requireArgument(order.count == rows, "permutingRows: an order of \(order.count) rows for \(rows)")
        return selectingRows(order)
    }

    /// Rows `range` of this weight viewed as a matrix [rows, columns], as a [range.count,
    /// columns] weight over the same bytes (no copy): e.g. one expert of a stacked mixture.
    public func rowBlock(_ range: Range<Int>) -> Weight {
        requireArgument(range.lowerBound >= 0 && range.upperBound <= rows, "rowBlock: \(range) outside 0..<\(rows)")
        let shape = [range.count, columns]
        switch storage {
        case .tensor(let t):
            return Weight(t.reshaped([rows, columns]).slice(rows: range))
        case .bytes(let p, let owner):
            return Weight(wholeRowsOf: type, shape: shape,
                          bytes: UnsafeRawBufferPointer(start: p + range.lowerBound * bytesPerRow, count: range.count * bytesPerRow),
                          owner: owner)
        }
    }

    /// The same elements as a matrix [rows, columns] (a view): a GGUF 3-D expert tensor
    /// [experts, out, in] as its stacked rows.
    public var asMatrix: Weight { shape.count == 2 ? self : rowBlock(0..<rows) }

    /// The rows of `parts` one after another (a copy in their common type; all must have the same
    /// type and columns): e.g. a mixture's per-expert matrices stacked.
    public static func stackingRows(_ parts: [Weight]) -> Weight {
        requireArgument(!parts.isEmpty && parts.allSatisfy { $0.type == parts[0].type && $0.columns == parts[0].columns },
                        "stackingRows: parts of types \(parts.map(\.type)) and shapes \(parts.map(\.shape))")
        let (type, columns) = (parts[0].type, parts[0].columns)
        let rows = parts.reduce(0) { $0 + $1.rows }
        if type == .f32 {
            let out = Tensor(zeros: [rows, columns])
            var at = 0
            for p in parts {
                let t = p.tensor
                withExtendedLifetime(t) { (out.pointer + at * columns).update(from: t.pointer, count: p.count) }
                at += p.rows
            }
            return Weight(out)
        }
        let buffer = OwnedBytes(count: parts.reduce(0) { $0 + $1.byteCount })
        var offset = 0
        for p in parts {
            (buffer.base + offset).copyMemory(from: p.bytes, byteCount: p.byteCount)
            offset += p.byteCount
        }
        return Weight(wholeRowsOf: type, shape: [rows, columns], bytes: UnsafeRawBufferPointer(start: buffer.base, count: buffer.count),
                      owner: buffer)
    }

    /// Rows `selection` of this matrix, in that order (a copy, in the same type): e.g. the query
    /// part of a fused q/k/v projection.
    public func selectingRows(_ selection: [Int]) -> Weight {
        requireArgument(shape.count == 2 && selection.allSatisfy { $0 >= 0 && $0 < rows },
                        "selectingRows: rows \(selection.min() ?? 0)...\(selection.max() ?? 0) of a matrix of \(rows) rows")
        let selected = [selection.count, columns]
        if let t = floatTensor {
            let out = Tensor(zeros: selected)
            for (i, r) in selection.enumerated() { (out.pointer + i * columns).update(from: t.pointer + r * columns, count: columns) }
            return Weight(out)
        }
        let buffer = OwnedBytes(count: selection.count * bytesPerRow)
        for (i, r) in selection.enumerated() {
            (buffer.base + i * bytesPerRow).copyMemory(from: bytes + r * bytesPerRow, byteCount: bytesPerRow)
        }
        return Weight(wholeRowsOf: type, shape: selected, bytes: UnsafeRawBufferPointer(start: buffer.base, count: buffer.count),
                      owner: buffer)
    }

    /// A weight over `bytes` that are whole rows of a weight already checked (`init(type:shape:
    /// bytes:owner:)` passed for its rows and columns), so the check cannot fail again: the
    /// row views and copies above, never bytes from a file.
    private init(wholeRowsOf type: ElementType, shape: [Int], bytes: UnsafeRawBufferPointer, owner: AnyObject) {
        try! self.init(type: type, shape: shape, bytes: bytes, owner: owner)
    }
}

/// Errors in a weight's description (from a file).
public enum WeightError: Error, Equatable, CustomStringConvertible {
    case notWholeBlocks(type: ElementType, shape: [Int])
    case byteCount(type: ElementType, shape: [Int], got: Int)

    public var description: String {
        switch self {
        case .notWholeBlocks(let t, let s):
            "a \(t) tensor of shape \(s): rows must be whole blocks of \(t.blockSize) elements"
        case .byteCount(let t, let s, let got):
            "a \(t) tensor of shape \(s) needs \(t.byteCount(elements: s.reduce(1, *)).map(String.init) ?? "too many") bytes, got \(got)"
        }
    }
}

/// A heap buffer (64-byte aligned) freed with its last reference, plus 64 bytes of zeros past
/// the end so vector loads of a last partial block stay inside the allocation.
final class OwnedBytes: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let count: Int

    init(count: Int) {
        self.count = count
        base = .allocate(byteCount: count + 64, alignment: 64)
        (base + count).initializeMemory(as: UInt8.self, repeating: 0, count: 64)
    }

    deinit { base.deallocate() }
}
