import CLEXTensor

/// A llama2.c float32 checkpoint (`.bin` from karpathy/llama2.c `export.py`'s legacy, version-0
/// export, as `run.c` reads it), with tensors under Hugging Face LLaMA names.
///
/// Layout (`memory_map_weights` in run.c): 7 × int32 header (`Llama2CConfig`), then float32
/// arrays, each stacked over layers: token embedding `[vocab, dim]`; `rms_att` `[L, dim]`;
/// `wq` `[L, nh·hs, dim]`; `wk`, `wv` `[L, nkv·hs, dim]`; `wo` `[L, dim, nh·hs]`; `rms_ffn`
/// `[L, dim]`; `w1` `[L, hidden, dim]`; `w2` `[L, dim, hidden]`; `w3` `[L, hidden, dim]`;
/// `rms_final` `[dim]`; two skipped blocks of `seq_len·hs/2` floats (the old `freq_cis_real` and
/// `freq_cis_imag`); and, only when the header's vocab size is negative, the classifier
/// `[vocab, dim]` (otherwise `lm_head.weight` is the embedding). Matrices are `[out, in]`
/// row-major, as `run.c`'s `matmul` and PyTorch's `Linear.weight`.
///
/// Names: `model.embed_tokens.weight`, `model.layers.N.input_layernorm.weight`,
/// `model.layers.N.self_attn.{q,k,v,o}_proj.weight`, `model.layers.N.post_attention_layernorm.weight`,
/// `model.layers.N.mlp.{gate,down,up}_proj.weight` (w1, w2, w3), `model.norm.weight`, `lm_head.weight`.
///
/// RoPE layout: run.c rotates adjacent pairs `(2i, 2i+1)` of each head (Meta's interleaved
/// layout), and export.py un-permutes Hugging Face weights into that layout when converting. So
/// with `rotaryLayout: .interleaved` (the default) q/k are exactly the file's rows, for an
/// interleaved-pair RoPE; `.halfSplit` applies Hugging Face's `permute` to the q/k rows so that
/// they suit HF's `rotate_half` RoPE (pairs `(i, i + hs/2)`), like a Hugging Face checkpoint.
public final class Llama2CCheckpoint: CheckpointTensors {
    /// Row order of the q/k projection weights handed out.
    public enum RotaryLayout: Sendable {
        /// As stored: rotary pairs are adjacent rows `(2i, 2i+1)` of each head.
        case interleaved
        /// Hugging Face order: rotary pairs are rows `(i, i + headSize/2)` of each head.
        case halfSplit
    }

    private struct Region {
        let name: String
        let shape: [Int]
        let byteOffset: Int
        /// Heads to permute for `.halfSplit` (0: not a q/k weight).
        let rotaryHeads: Int
    }

    /// "ak42", the magic of llama2.c's later export versions, which this reader does not read.
    static let newFormatMagic: UInt32 = 0x616b_3432
    /// Header bytes: 7 × int32.
    public static let headerSize = 28

    /// The mapped file.
    public let file: MappedFile
    /// The header.
    public let config: Llama2CConfig
    /// The q/k row order handed out by `tensor(_:)`.
    public let rotaryLayout: RotaryLayout
    /// The header fields as metadata (see `Llama2CConfig`).
    public let metadata: CheckpointMetadata
    private let regions: [Region]
    private let regionIndex: [String: Int]

    /// The file path.
    public var path: String { file.path }
    /// Every tensor name, in file order (`lm_head.weight` last).
    public var tensorNames: [String] { regions.map(\.name) }

    /// Opens and validates the checkpoint at `path`.
    public convenience init(path: String, rotaryLayout: RotaryLayout = .interleaved) throws(CheckpointError) {
        try self.init(file: MappedFile(path: path), rotaryLayout: rotaryLayout)
    }

    /// Validates an already mapped checkpoint: a sane header and a file size of exactly the
    /// header plus every weight.
    public init(file: MappedFile, rotaryLayout: RotaryLayout = .interleaved) throws(CheckpointError) {
        self.file = file
        self.rotaryLayout = rotaryLayout
        config = try Self.readConfig(file)
        metadata = try CheckpointMetadata(path: file.path, entries: config.metadataEntries())
        if rotaryLayout == .halfSplit && config.headSize % 2 != 0 {
            throw .invalidValue(path: file.path, field: "header n_heads", expected: "an even head size for halfSplit RoPE",
                                found: "head size \(config.headSize)")
        }
        regions = try Self.layout(config, file: file)
        regionIndex = Dictionary(uniqueKeysWithValues: regions.enumerated().map { ($1.name, $0) })
    }

    private static func readConfig(_ file: MappedFile) throws(CheckpointError) -> Llama2CConfig {
        let path = file.path
        var cursor = BinaryCursor(bytes: file.bytes, path: path)
        if file.count >= 8, file.bytes.loadUnaligned(as: UInt32.self) == newFormatMagic {
            let version = Int32(littleEndian: file.bytes.loadUnaligned(fromByteOffset: 4, as: Int32.self))
            throw .unsupportedVersion(path: path, found: "export version \(version) (\"ak42\" header)",
                                      supported: "the legacy export (7 × int32 header, no magic)")
        }
        let names = ["dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"]
        var v: [Int] = []
        for name in names { v.append(Int(try cursor.read(Int32.self, "header \(name)"))) }
        for (i, name) in names.enumerated() where i != 5 && v[i] <= 0 {
            throw .invalidValue(path: path, field: "header \(name)", expected: "a positive integer", found: "\(v[i])")
        }
        guard v[5] != 0 else {
            throw .invalidValue(path: path, field: "header vocab_size", expected: "a non-zero integer", found: "0")
        }
        guard v[0] % v[3] == 0 else {
            throw .invalidValue(path: path, field: "header n_heads", expected: "a divisor of dim \(v[0])", found: "\(v[3])")
        }
        guard v[4] <= v[3], v[3] % v[4] == 0 else {
            throw .invalidValue(path: path, field: "header n_kv_heads", expected: "a divisor of n_heads \(v[3])", found: "\(v[4])")
        }
        return Llama2CConfig(dim: v[0], hiddenDim: v[1], layerCount: v[2], headCount: v[3], kvHeadCount: v[4],
                             vocabSize: abs(v[5]), seqLen: v[6], sharedClassifier: v[5] > 0)
    }

    /// One array of `run.c`'s layout: `layers` stacked copies (nil: a single one) of `shape`.
    private struct Block {
        /// The Hugging Face name; `{}` stands for the layer number. Empty for skipped blocks.
        let name: String
        /// The run.c name.
        let cName: String
        let shape: [Int]
        let layers: Int?
        let rotaryHeads: Int

        func name(layer: Int) -> String { name.replacing("{}", with: "\(layer)") }
        func cName(layer: Int?) -> String { layer.map { "\(cName)[\($0)]" } ?? cName }
    }

    private static func layout(_ c: Llama2CConfig, file: MappedFile) throws(CheckpointError) -> [Region] {
        let (d, h, hs, vocab, L) = (c.dim, c.hiddenDim, c.headSize, c.vocabSize, c.layerCount)
        let (q, kv) = (c.headCount * hs, c.kvHeadCount * hs)
        let layer = "model.layers.{}."
        var blocks = [
            Block(name: "model.embed_tokens.weight", cName: "token_embedding_table", shape: [vocab, d], layers: nil, rotaryHeads: 0),
            Block(name: layer + "input_layernorm.weight", cName: "rms_att_weight", shape: [d], layers: L, rotaryHeads: 0),
            Block(name: layer + "self_attn.q_proj.weight", cName: "wq", shape: [q, d], layers: L, rotaryHeads: c.headCount),
            Block(name: layer + "self_attn.k_proj.weight", cName: "wk", shape: [kv, d], layers: L, rotaryHeads: c.kvHeadCount),
            Block(name: layer + "self_attn.v_proj.weight", cName: "wv", shape: [kv, d], layers: L, rotaryHeads: 0),
            Block(name: layer + "self_attn.o_proj.weight", cName: "wo", shape: [d, q], layers: L, rotaryHeads: 0),
            Block(name: layer + "post_attention_layernorm.weight", cName: "rms_ffn_weight", shape: [d], layers: L, rotaryHeads: 0),
            Block(name: layer + "mlp.gate_proj.weight", cName: "w1", shape: [h, d], layers: L, rotaryHeads: 0),
            Block(name: layer + "mlp.down_proj.weight", cName: "w2", shape: [d, h], layers: L, rotaryHeads: 0),
            Block(name: layer + "mlp.up_proj.weight", cName: "w3", shape: [h, d], layers: L, rotaryHeads: 0),
            Block(name: "model.norm.weight", cName: "rms_final_weight", shape: [d], layers: nil, rotaryHeads: 0),
            Block(name: "", cName: "freq_cis_real (skipped)", shape: [c.seqLen * hs / 2], layers: nil, rotaryHeads: 0),
            Block(name: "", cName: "freq_cis_imag (skipped)", shape: [c.seqLen * hs / 2], layers: nil, rotaryHeads: 0),
        ]
        if !c.sharedClassifier {
            blocks.append(Block(name: "lm_head.weight", cName: "wcls", shape: [vocab, d], layers: nil, rotaryHeads: 0))
        }
        // First check sizes block by block (every product is checked: two header fields below
        // 2^31 fit in Int, but four bytes per element of them may not), naming the first layer
        // that the file cuts short; only then create the per-layer regions.
        var starts: [Int] = []
        var offset = headerSize
        for b in blocks {
            var layerBytes = 4
            for extent in b.shape {
                let (product, overflow) = layerBytes.multipliedReportingOverflow(by: extent)
                guard !overflow else {
                    let what = b.name.isEmpty ? b.cName : "tensor '\(b.name(layer: 0))' (\(b.cName), \(b.shape) float32)"
                    throw .overflow(path: file.path, field: what, detail: "4 bytes × \(b.shape) exceeds \(Int.max)")
                }
                layerBytes = product
            }
            let (bytes, o1) = layerBytes.multipliedReportingOverflow(by: b.layers ?? 1)
            let (end, o2) = offset.addingReportingOverflow(bytes)
            if o1 || o2 || end > file.count {
                let l = min(max(0, (file.count - offset) / max(layerBytes, 1)), (b.layers ?? 1) - 1)
                let at = offset + l * layerBytes
                let what = b.name.isEmpty ? b.cName : "tensor '\(b.name(layer: l))' (\(b.cName(layer: b.layers.map { _ in l })), \(b.shape) float32)"
                throw .truncated(path: file.path, field: what, offset: at, needed: layerBytes, available: max(0, file.count - at))
            }
            starts.append(offset)
            offset = end
        }
        guard offset == file.count else {
            throw .invalidValue(path: file.path, field: "file size",
                                expected: "\(offset) bytes for the header's configuration", found: "\(file.count) bytes")
        }
        var regions: [Region] = []
        for (b, start) in zip(blocks, starts) where !b.name.isEmpty {
            let layerBytes = 4 * b.shape.reduce(1, *)   // checked above
            if let layers = b.layers {
                for l in 0..<layers {
                    regions.append(Region(name: b.name(layer: l), shape: b.shape, byteOffset: start + l * layerBytes,
                                          rotaryHeads: b.rotaryHeads))
                }
            } else {
                regions.append(Region(name: b.name, shape: b.shape, byteOffset: start, rotaryHeads: b.rotaryHeads))
            }
        }
        if c.sharedClassifier {
            regions.append(Region(name: "lm_head.weight", shape: [vocab, d], byteOffset: headerSize, rotaryHeads: 0))
        }
        return regions
    }

    private func region(_ name: String) throws(CheckpointError) -> Region {
        guard let i = regionIndex[name] else { throw .missingTensor(path: path, name: name) }
        return regions[i]
    }

    /// The row-major shape of tensor `name`.
    public func shape(of name: String) throws(CheckpointError) -> [Int] { try region(name).shape }

    /// Tensor `name` (q/k rows in `rotaryLayout` order).
    public func tensor(_ name: String) throws(CheckpointError) -> Tensor {
        let r = try region(name)
        let out = Tensor(zeros: r.shape)
        guard let base = file.bytes.baseAddress else { return out }
        let source = base + r.byteOffset
        if r.rotaryHeads > 0 && rotaryLayout == .halfSplit {
            Self.permuteToHalfSplit(source, out, heads: r.rotaryHeads)
        } else {
            UnsafeMutableRawPointer(out.pointer).copyMemory(from: source, byteCount: 4 * out.count)
        }
        return out
    }

    /// Hugging Face's `permute(w, n_heads)`: within each head, output row `c·hs/2 + i` is input
    /// row `2i + c` (c ∈ {0, 1}).
    private static func permuteToHalfSplit(_ source: UnsafeRawPointer, _ out: Tensor, heads: Int) {
        let (rows, cols) = (out.shape[0], out.shape[1])
        let hs = rows / heads
        for head in 0..<heads {
            for c in 0..<2 {
                for i in 0..<(hs / 2) {
                    let from = head * hs + 2 * i + c
                    let to = head * hs + c * (hs / 2) + i
                    UnsafeMutableRawPointer(out.pointer + to * cols).copyMemory(from: source + 4 * from * cols,
                                                                                byteCount: 4 * cols)
                }
            }
        }
    }
}
