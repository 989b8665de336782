import CLEXModel

/// `--decode-weights f32|q8_0|native`, shared by the commands that decode.
enum DecodeWeightsOption {
    static let help = """
      --decode-weights W  weights decoding reads: native (default; a quantised GGUF's own
                          Q8_0/Q4_0/Q4_1 blocks, Float32 otherwise), q8_0 (Q8_0 blocks,
                          requantised where the file has none) or f32; prefill always uses Float32
    """

    /// The format named by `--decode-weights` (default `.native`).
    static func parse(_ args: inout Arguments) throws -> DecodeWeightFormat {
        guard let name = args.string("--decode-weights") else { return .native }
        guard let format = DecodeWeightFormat(rawValue: name) else {
            let known = DecodeWeightFormat.allCases.map(\.rawValue).joined(separator: ", ")
            throw UsageError("--decode-weights expects one of \(known), got '\(name)'")
        }
        return format
    }
}
