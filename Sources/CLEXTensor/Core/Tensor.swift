/// A dense, row-major (C order) array of `Float32` with a shape.
///
/// A tensor is a window of `shape.product` contiguous elements starting at `offset` in a
/// `TensorStorage`. Views (`reshaped`, `slice(rows:)`) share the storage and copy nothing; every
/// kernel writes its result into fresh storage unless its name says `inPlace`.
///
/// Error policy for the whole engine: shapes that disagree at an op are programmer errors and stop
/// the program with a precondition naming both shapes (as an out-of-range array index does);
/// data that comes from outside the program (values arrays, files, configs) is checked with
/// thrown errors (`TensorError`).
public struct Tensor: @unchecked Sendable {
    /// Extent of each dimension, outermost first. A scalar has shape `[]`.
    public let shape: [Int]
    /// The shared element block.
    public let storage: TensorStorage
    /// Index of this tensor's first element in `storage`.
    public let offset: Int

    /// Number of elements (product of `shape`; 1 for a scalar).
    @inlinable public var count: Int { shape.reduce(1, *) }
    /// Number of dimensions.
    @inlinable public var rank: Int { shape.count }

    /// A zero-filled tensor.
    public init(zeros shape: [Int]) {
        requireArgument(shape.allSatisfy { $0 >= 0 }, "Tensor: negative extent in shape \(shape)")
        self.shape = shape
        self.storage = TensorStorage(count: shape.reduce(1, *))
        self.offset = 0
    }

    /// A tensor filled with one value.
    public init(shape: [Int], repeating value: Float) {
        self.init(zeros: shape)
        if value != 0 { storage.base.update(repeating: value, count: count) }
    }

    /// A tensor holding `values` in row-major order; throws when the count does not match `shape`.
    public init(shape: [Int], values: [Float]) throws(TensorError) {
        guard shape.allSatisfy({ $0 >= 0 }) else { throw .invalidShape(shape) }
        let n = shape.reduce(1, *)
        guard n == values.count else { throw .valueCount(shape: shape, expected: n, got: values.count) }
        self.init(zeros: shape)
        values.withUnsafeBufferPointer { storage.base.update(from: $0.baseAddress!, count: n) }
    }

    /// A scalar tensor (shape `[]`).
    public init(scalar: Float) {
        self.init(shape: [], repeating: scalar)
    }

    /// A view over existing storage; `offset + shape.product` must fit in it.
    public init(storage: TensorStorage, offset: Int, shape: [Int]) {
        let n = shape.reduce(1, *)
        requireArgument(offset >= 0 && offset + n <= storage.count,
                     "Tensor view of shape \(shape) at offset \(offset) exceeds storage of \(storage.count) elements")
        self.storage = storage
        self.offset = offset
        self.shape = shape
    }

    /// Pointer to the first element. Valid while `self` (or another view of its storage) lives.
    @inlinable public var pointer: UnsafeMutablePointer<Float> { storage.base + offset }

    /// The elements in row-major order.
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    /// The single element of a one-element tensor.
    public var item: Float {
        requireArgument(count == 1, "item: tensor of shape \(shape) has \(count) elements, expected 1")
        return pointer.pointee
    }

    /// Element at a multi-index.
    public subscript(_ index: Int...) -> Float {
        get { pointer[flatIndex(index)] }
        nonmutating set { pointer[flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        requireArgument(index.count == shape.count, "index \(index) does not match shape \(shape)")
        var flat = 0
        for (i, extent) in zip(index, shape) {
            requireArgument(i >= 0 && i < extent, "index \(index) out of range for shape \(shape)")
            flat = flat * extent + i
        }
        return flat
    }

    /// The same elements under another shape with the same count (a view). One extent may be -1.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var resolved = newShape
        if let hole = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != hole }.reduce(1) { $0 * $1.element }
            requireArgument(known > 0 && count % known == 0, "reshaped: cannot reshape \(shape) to \(newShape)")
            resolved[hole] = count / known
        }
        requireArgument(resolved.reduce(1, *) == count && resolved.allSatisfy { $0 >= 0 },
                     "reshaped: cannot reshape \(shape) (\(count) elements) to \(newShape)")
        return Tensor(storage: storage, offset: offset, shape: resolved)
    }

    /// Rows `range` of the outermost dimension (a view).
    public func slice(rows range: Range<Int>) -> Tensor {
        requireArgument(rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0],
                     "slice(rows: \(range)) out of range for shape \(shape)")
        let inner = shape.dropFirst().reduce(1, *)
        return Tensor(storage: storage, offset: offset + range.lowerBound * inner,
                      shape: [range.count] + shape.dropFirst())
    }

    /// A deep copy with its own storage.
    public func copy() -> Tensor {
        let out = Tensor(zeros: shape)
        out.pointer.update(from: pointer, count: count)
        return out
    }

    /// Overwrites every element with `other`'s (same count required).
    public func assign(_ other: Tensor) {
        requireArgument(other.count == count, "assign: shape \(other.shape) into shape \(shape)")
        pointer.update(from: other.pointer, count: count)
    }
}

/// Errors in data that came from outside the program.
public enum TensorError: Error, Equatable, CustomStringConvertible {
    /// A shape with a negative extent.
    case invalidShape([Int])
    /// A values array whose length does not match the shape.
    case valueCount(shape: [Int], expected: Int, got: Int)

    public var description: String {
        switch self {
        case .invalidShape(let s): return "invalid shape \(s): extents must be ≥ 0"
        case .valueCount(let s, let e, let g): return "shape \(s) needs \(e) values, got \(g)"
        }
    }
}
