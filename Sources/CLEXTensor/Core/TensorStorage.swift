/// A heap block of `Float32` values shared by every `Tensor` view of it.
///
/// Storage is 64-byte aligned so SIMD loads and BLAS see cache-line-aligned rows, and it is
/// zero-initialised. Tensors have reference semantics for their data (as in PyTorch and MLX):
/// two views of one storage see each other's writes.
public final class TensorStorage: @unchecked Sendable {
    /// First element.
    public let base: UnsafeMutablePointer<Float>
    /// Number of elements.
    public let count: Int

    /// Allocates `count` zeroed elements.
    public init(count: Int) {
        precondition(count >= 0, "TensorStorage: negative element count \(count)")
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride,
                                                   alignment: 64)
        base = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        base.initialize(repeating: 0, count: max(count, 1))
    }

    deinit {
        base.deallocate()
    }
}
