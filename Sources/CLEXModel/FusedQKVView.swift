import CLEXFormats
import CLEXTensor

/// A Phi-2 GGUF whose blocks keep q, k and v in one `blk.N.attn_qkv` tensor, seen as the three
/// tensors the family's names list. llama.cpp's PHI2 loader takes either form: conversions of
/// phi-2's original MixFormer checkpoint (`Wqkv`) wrote the fused one, and its graph reads q, k
/// and v as consecutive row ranges of it (q: head_count·head_dim rows, then k and v:
/// head_count_kv·head_dim each). The parts are row views of the stored weight (no copy); the
/// fused bias is cut the same way.
struct FusedQKVView: CheckpointTensors {
    let base: any CheckpointTensors
    /// Each presented name → the fused tensor and its rows.
    let parts: [String: (fused: String, rows: Range<Int>)]

    /// `base` itself unless it is a Phi-2 GGUF with a fused `attn_qkv` in block 0 and no
    /// `attn_q`; throws when a fused tensor does not have the configuration's q + 2·kv rows.
    static func wrapping(_ base: any CheckpointTensors, _ c: LlamaConfiguration) throws -> any CheckpointTensors {
        guard c.architecture == .phi2, base.contains("blk.0.attn_qkv.weight"), !base.contains("blk.0.attn_q.weight") else {
            return base
        }
        let (q, kv) = (c.headCount * c.headDimension, c.keyValueHeadCount * c.headDimension)
        var parts: [String: (fused: String, rows: Range<Int>)] = [:]
        for i in 0..<c.layerCount {
            for kind in ["weight", "bias"] {
                let fused = "blk.\(i).attn_qkv.\(kind)"
                let expected = kind == "weight" ? [q + 2 * kv, c.hiddenSize] : [q + 2 * kv]
                guard base.contains(fused) else {
                    throw ModelLoadError("\(base.path): tensor '\(fused)' is missing (expected shape \(expected); "
                                         + "block 0 keeps q, k and v fused, so every block must)")
                }
                let shape = try base.shape(of: fused)
                guard shape == expected else {
                    throw ModelLoadError("\(base.path): tensor '\(fused)' has shape \(shape), but the configuration needs \(expected) "
                                         + "(q \(q) rows, k and v \(kv) each)")
                }
                parts["blk.\(i).attn_q.\(kind)"] = (fused, 0..<q)
                parts["blk.\(i).attn_k.\(kind)"] = (fused, q..<(q + kv))
                parts["blk.\(i).attn_v.\(kind)"] = (fused, (q + kv)..<(q + 2 * kv))
            }
        }
        return FusedQKVView(base: base, parts: parts)
    }

    var path: String { base.path }
    var metadata: CheckpointMetadata { base.metadata }

    /// The stored names, each fused tensor replaced by its three parts.
    var tensorNames: [String] {
        base.tensorNames.flatMap { name -> [String] in
            guard name.hasSuffix(".attn_qkv.weight") || name.hasSuffix(".attn_qkv.bias") else { return [name] }
            return ["attn_q", "attn_k", "attn_v"].map { name.replacingOccurrences(of: "attn_qkv", with: $0) }
        }
    }

    func shape(of name: String) throws(CheckpointError) -> [Int] {
        guard let part = parts[name] else { return try base.shape(of: name) }
        var shape = try base.shape(of: part.fused)
        shape[0] = part.rows.count
        return shape
    }

    func tensor(_ name: String) throws(CheckpointError) -> Tensor {
        guard let part = parts[name] else { return try base.tensor(name) }
        let whole = try base.tensor(part.fused)
        let columns = whole.rank == 2 ? whole.shape[1] : 1
        let out = Tensor(zeros: whole.rank == 2 ? [part.rows.count, columns] : [part.rows.count])
        out.pointer.update(from: whole.pointer + part.rows.lowerBound * columns, count: part.rows.count * columns)
        return out
    }

    func weight(_ name: String) throws(CheckpointError) -> Weight {
        guard let part = parts[name] else { return try base.weight(name) }
        let whole = try base.weight(part.fused)
        return whole.shape.count == 2 ? whole.rowBlock(part.rows) : Weight(try tensor(name))
    }
}
