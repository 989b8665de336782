/// ggml's k-quants (super-blocks of 256 elements): Q4_K, Q5_K, Q6_K. Being written.
enum KQuants {
    static func dequantizeQ4K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blocks: Int) { fatalError("Q4_K: not yet") }
    static func quantizeQ4K(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ blocks: Int) { fatalError("Q4_K: not yet") }
    static func dequantizeQ5K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blocks: Int) { fatalError("Q5_K: not yet") }
    static func quantizeQ5K(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ blocks: Int) { fatalError("Q5_K: not yet") }
    static func dequantizeQ6K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blocks: Int) { fatalError("Q6_K: not yet") }
    static func quantizeQ6K(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ blocks: Int) { fatalError("Q6_K: not yet") }
}
