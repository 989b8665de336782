import CLEXTensor

/// The order of the rotated elements inside a head vector. The KV cache and the rotation applied
/// as attention reads it work in rotate-half order (pair j = elements j and j + r/2, HF's
/// layout); a GGUF checkpoint's projections produce the interleaved order (pair j = elements 2j
/// and 2j + 1). Queries and keys are reordered alike, which leaves every score unchanged.
enum RotaryOrder {
    /// Copies `vectors` head vectors of `dimension` elements from `source` to `destination` in
    /// rotate-half order: the first `rotaryDimension` elements of each are reordered from
    /// `layout`, the rest copied.
    static func toRotateHalf(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, vectors: Int,
                             dimension d: Int, rotaryDimension r: Int, from layout: RotaryLayout) {
        guard layout == .interleaved else {
            destination.update(from: source, count: vectors * d)
            return
        }
        let half = r / 2
        for v in 0..<vectors {
            let (x, y) = (source + v * d, destination + v * d)
            for j in 0..<half {
                y[j] = x[2 * j]
                y[j + half] = x[2 * j + 1]
            }
            for j in r..<d { y[j] = x[j] }
        }
    }
}
