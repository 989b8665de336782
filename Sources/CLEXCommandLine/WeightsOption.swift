import CLEXModel
import CLEXTensor

/// `--weights native|TYPE` and `--activations q8|f32`, shared by the commands that run a model for
/// inference.
struct WeightsOption {
    static let help = """
      --weights W             element type the matrices are computed in: native (default: as the
                              file stores them, read where they lie) or one of \(ElementType.allCases.map(\.description).joined(separator: ", "))
                              (converted at load; needs memory for the converted copy)
      --activations A         how activations meet quantised weights: q8 (default; 8-bit blocks and
                              integer dot products, as llama.cpp) or f32 (weights widened to Float32:
                              the dequantise-then-Float32 result, slower)
    """

    /// The type named by `--weights` (nil: native).
    var type: ElementType?
    var precision: ActivationPrecision

    /// Reads both options (defaults: native, q8).
    init(_ args: Arguments) throws {
        if let name = args.string("--weights"), name != "native" {
            guard let type = ElementType(rawValue: name.uppercased()) else {
                let known = (["native"] + ElementType.allCases.map(\.description)).joined(separator: ", ")
                throw UsageError("--weights expects one of \(known), got '\(name)'", command: args.spec.name)
            }
            self.type = type
        }
        let name = args.string("--activations") ?? "q8"
        guard let precision = ActivationPrecision(rawValue: name.lowercased()) else {
            throw UsageError("--activations expects q8 or f32, got '\(name)'", command: args.spec.name)
        }
        self.precision = precision
    }

    /// `model` with its matrices in the chosen type (unchanged for native).
    func apply(to model: LlamaModel) throws -> LlamaModel {
        guard let type else { return model }
        return try model.converted(to: type)
    }
}
