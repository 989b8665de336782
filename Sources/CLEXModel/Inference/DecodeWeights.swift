import CLEXFormats
import CLEXTensor

/// Which encoding of the linear weights decoding steps read. Prefill (more than
/// `LlamaModel.decodeTokenLimit` tokens) always multiplies the Float32 parameters with OpenBLAS.
public enum DecodeWeightFormat: String, CaseIterable, Sendable {
    /// The model's Float32 parameters.
    case f32
    /// Q8_0 blocks: the checkpoint's own where it stores a matrix as Q8_0, the Float32 parameters
    /// requantised (ggml's reference quantiser) for the others.
    case q8_0
    /// The checkpoint's own blocks where it stores a matrix as Q8_0, Q4_0 or Q4_1 (a quantised
    /// GGUF); the Float32 parameters for the others (all of them for safetensors and llama2.c).
    case native
}

/// One weight matrix as a decoding step reads it.
enum DecodeMatrix: Sendable {
    /// Float32 [rows, columns].
    case dense(Tensor)
    /// Blocks, dequantised in registers.
    case blocks(QuantizedMatrix)

    var rows: Int {
        switch self {
        case .dense(let t): t.shape[0]
        case .blocks(let q): q.rows
        }
    }

    var columns: Int {
        switch self {
        case .dense(let t): t.shape[1]
        case .blocks(let q): q.columns
        }
    }

    /// Bytes a GEMV reads.
    var byteCount: Int {
        switch self {
        case .dense(let t): 4 * t.count
        case .blocks(let q): q.byteCount
        }
    }

    /// The encoding's name ("F32", "Q4_1", …).
    var typeName: String {
        switch self {
        case .dense: "F32"
        case .blocks(let q): q.type.description
        }
    }

    /// The arrangements of the input the kernels read.
    var inputNeeds: QuantizedInput.Needs {
        if case .blocks(let q) = self { QuantizedInput.Needs(q.type) } else { [] }
    }
}

/// The linear weights of a model as its decoding steps read them: per layer q, k, v, o, gate, up
/// and down, and the LM head (the embedding when tied). Inference only: a session keeps these
/// beside the model's Float32 parameters, which prefill, the token embedding, the norms and
/// training use. Quantised matrices must come from the parameters of the same model — the
/// checkpoint it was loaded from and not changed since, or quantised from them here.
public struct DecodeWeights: Sendable {
    struct Layer: Sendable {
        let query, key, value, output, gate, up, down: DecodeMatrix
    }

    let layers: [Layer]
    /// [V, E]: the output head, or the embedding when tied.
    let head: DecodeMatrix

    static let layerSlots: [CheckpointNames.LayerSlot] = [.query, .key, .value, .output, .gate, .up, .down]

    /// The model's Float32 parameters (no copy).
    public init(model: LlamaModel) {
        // Nothing throws here. (`rethrows` on the builder below would say so, but with Swift 6.3
        // an error thrown through it — a typed CheckpointError from the GGUF reader — crashed
        // the process in the runtime's existential handling; not minimised.)
        try! self.init(model: model) { _, tensor in .dense(tensor) }
    }

    /// Every linear weight quantised to `type` (Q8_0, Q4_0 or Q4_1) from the Float32 parameters.
    /// Throws when a matrix's rows are not a whole number of 32-element blocks.
    public init(model: LlamaModel, quantizingTo type: GGMLType) throws {
        try self.init(model: model) { _, tensor in .blocks(try QuantizedMatrix(quantizing: tensor, to: type)) }
    }

    /// The weights in `format`, taking blocks from `checkpoint` (the file `model` was loaded from,
    /// unchanged since) where the format asks for the checkpoint's own. Throws when a matrix
    /// cannot be quantised (rows not a whole number of blocks), or when the checkpoint's blocks
    /// are not those of the model's parameters.
    public init(model: LlamaModel, format: DecodeWeightFormat, checkpoint: (any CheckpointTensors)?) throws {
        let gguf = checkpoint as? GGUFFile
        try self.init(model: model) { slot, tensor in
            if format == .f32 { return .dense(tensor) }
            if let gguf, let stored = try Self.storedBlocks(gguf, slot, tensor, accepting: format == .q8_0 ? [.q8_0] : QuantizedMatrix.supportedTypes) {
                return .blocks(stored)
            }
            return format == .q8_0 ? .blocks(try QuantizedMatrix(quantizing: tensor, to: .q8_0)) : .dense(tensor)
        }
    }

    /// Builds every matrix with `make(slot, parameter)`.
    private init(model: LlamaModel, _ make: (CheckpointNames.Slot, Tensor) throws -> DecodeMatrix) throws {
        let p = model.parameters
        layers = try p.layers.enumerated().map { i, l in
            let m = try Self.layerSlots.map { s in try make(.layer(i, s), p[.layer(i, s)]!) }
            return Layer(query: m[0], key: m[1], value: m[2], output: m[3], gate: m[4], up: m[5], down: m[6])
        }
        head = p.outputHead != nil ? try make(.outputHead, p.outputHead!) : try make(.embedding, p.embedding)
    }

    /// The GGUF's own blocks of `slot` when they are of an accepted type, checked against the
    /// model's parameter: a few rows, dequantised, must equal it exactly.
    private static func storedBlocks(_ gguf: GGUFFile, _ slot: CheckpointNames.Slot, _ parameter: Tensor,
                                     accepting types: [GGMLType]) throws -> QuantizedMatrix? {
        let name = CheckpointNames.name(slot, .gguf)
        guard gguf.tensorNames.contains(name) else { return nil }
        let info = try gguf.info(name)
        guard types.contains(info.type) else { return nil }
        guard info.shape == parameter.shape else {
            throw ModelLoadError("\(gguf.path): tensor '\(name)' has shape \(info.shape), but the model's parameter has \(parameter.shape)")
        }
        let blocks = gguf.rawBytes(of: info)
        let matrix = try QuantizedMatrix(type: info.type, rows: info.shape[0], columns: info.shape[1], blocks: blocks)
        let (rows, columns) = (matrix.rows, matrix.columns)
        let row = UnsafeMutablePointer<Float>.allocate(capacity: columns)
        defer { row.deallocate() }
        for r in Set([0, 1, rows / 2, rows - 1]) where r >= 0 && r < rows {
            GGMLCodec.dequantize(info.type, from: blocks.baseAddress! + r * matrix.bytesPerRow, count: columns, into: row)
            guard UnsafeBufferPointer(start: row, count: columns).elementsEqual(
                UnsafeBufferPointer(start: parameter.pointer + r * columns, count: columns)) else {
                throw ModelLoadError("\(gguf.path): the stored blocks of '\(name)' (row \(r)) differ from the model's parameter; was the model changed after loading?")
            }
        }
        return matrix
    }

    /// `model` with its linear weights replaced by these, dequantised: the Float32 model whose
    /// logits decoding with these weights computes (up to the grouping of sums). The LM head
    /// becomes a separate output head when it was tied, the embedding staying as it was.
    public func dequantizedModel(_ model: LlamaModel) -> LlamaModel {
        func dense(_ m: DecodeMatrix) -> Tensor {
            switch m {
            case .dense(let t): t
            case .blocks(let q): q.dequantized()
            }
        }
        var out = model
        for (i, l) in layers.enumerated() {
            out.parameters.layers[i].query = dense(l.query)
            out.parameters.layers[i].key = dense(l.key)
            out.parameters.layers[i].value = dense(l.value)
            out.parameters.layers[i].output = dense(l.output)
            out.parameters.layers[i].gate = dense(l.gate)
            out.parameters.layers[i].up = dense(l.up)
            out.parameters.layers[i].down = dense(l.down)
        }
        if case .blocks = head {
            out.parameters.outputHead = dense(head)
            out.configuration.tieWordEmbeddings = false
        }
        return out
    }

    /// All matrices, layer by layer, then the head.
    var matrices: [DecodeMatrix] {
        layers.flatMap { [$0.query, $0.key, $0.value, $0.output, $0.gate, $0.up, $0.down] } + [head]
    }

    /// Bytes of the matrices one decoding step reads (all of them once).
    public var byteCount: Int { matrices.reduce(0) { $0 + $1.byteCount } }

    /// Bytes held beyond the model's Float32 parameters (the quantised copies).
    public var extraByteCount: Int {
        matrices.reduce(0) { if case .blocks(let q) = $1 { $0 + q.byteCount } else { $0 } }
    }

    /// The encodings and how many matrices use each, e.g. "Q4_1 ×210, Q8_0 ×1".
    public var summary: String {
        var counts: [String: Int] = [:]
        var order: [String] = []
        for m in matrices {
            if counts[m.typeName] == nil { order.append(m.typeName) }
            counts[m.typeName, default: 0] += 1
        }
        return order.map { "\($0) ×\(counts[$0]!)" }.joined(separator: ", ")
    }

    /// Whether every matrix has the shape `c` gives it.
    func matches(_ c: LlamaConfiguration) -> Bool {
        guard layers.count == c.layerCount else { return false }
        let expected = Self.layerSlots.map { CheckpointNames.shape(.layer(0, $0), c) }
        for l in layers {
            let shapes = [l.query, l.key, l.value, l.output, l.gate, l.up, l.down].map { [$0.rows, $0.columns] }
            if shapes != expected { return false }
        }
        return [head.rows, head.columns] == [c.vocabularySize, c.hiddenSize]
    }
}

extension LoadedModel {
    /// The model's linear weights in `format` for decoding (see `DecodeWeightFormat`), blocks
    /// taken from the checkpoint where the format asks for its own.
    public func decodeWeights(_ format: DecodeWeightFormat) throws -> DecodeWeights {
        try DecodeWeights(model: model, format: format, checkpoint: checkpoint)
    }
}
