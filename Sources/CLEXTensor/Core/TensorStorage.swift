/// A heap block of `Float32` values shared by every `Tensor` view of it.
///
/// Storage is 64-byte aligned (2 MB from 4 MB on) so SIMD loads and BLAS see cache-line-aligned rows, and it is
/// zero-initialised. Tensors have reference semantics for their data (as in PyTorch and MLX):
/// two views of one storage see each other's writes.
public final class TensorStorage: @unchecked Sendable {
    /// First element.
    public let base: UnsafeMutablePointer<Float>
    /// Number of elements.
    public let count: Int

    /// Bytes reserved for this block (its size class in `StoragePool`).
    let reservedBytes: Int

    /// Allocates `count` zeroed elements (large blocks come from `StoragePool`).
    public init(count: Int) {
        requireArgument(count >= 0, "TensorStorage: negative element count \(count)")
        self.count = count
        let (raw, size) = StoragePool.allocate(bytes: max(count, 1) * MemoryLayout<Float>.stride)
        reservedBytes = size
        base = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        base.initialize(repeating: 0, count: max(count, 1))
    }

    deinit {
        StoragePool.release(UnsafeMutableRawPointer(base), size: reservedBytes)
    }
}
