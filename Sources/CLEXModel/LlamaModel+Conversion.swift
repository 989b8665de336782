import CLEXTensor

extension LlamaModel {
    /// The same model with every matrix stored as `type` (norms stay Float32): matrices already
    /// of that type are kept as they are, others are dequantised and re-encoded one at a time.
    /// Throws when a matrix's rows are not whole blocks of `type`.
    public func converted(to type: ElementType) throws -> LlamaModel {
        var out = self
        out.parameters = try parameters.map { slot, w in
            guard CheckpointNames.role(slot) == .matrix, w.type != type else { return w }
            guard w.columns % type.blockSize == 0 else {
                throw ModelLoadError("cannot store '\(CheckpointNames.name(slot, .huggingFace, configuration.architecture))' as \(type): its rows of "
                                     + "\(w.columns) elements are not whole blocks of \(type.blockSize)")
            }
            return Weight(encoding: w.tensor, as: type)
        }
        return out
    }
}
