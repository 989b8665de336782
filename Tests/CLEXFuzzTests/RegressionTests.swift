import CLEXFuzz
import CLEXFormats
import CLEXModel
import CLEXTensor
import CLEXTokenizer
import Foundation
import Testing

/// One test per bug the fuzzer found (or that reading the code around a finding showed), with
/// the smallest input that showed it, built in code. Each ran into a trap or an allocation far
/// beyond the file's size before its fix; now each is an error naming the field.
@Suite("Fuzz findings")
struct RegressionTests {
    /// Runs `target` on `input`, expecting an error whose description contains every fragment.
    func expectRejection(_ target: FuzzTarget, _ input: [UInt8], _ fragments: [String],
                         sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try target.run(input)
            Issue.record("\(target.name) accepted the input", sourceLocation: sourceLocation)
        } catch {
            #expect(FuzzErrorKind.isExpected(error), "unexpected error type: \(error)", sourceLocation: sourceLocation)
            let text = "\(error)"
            for fragment in fragments where !text.contains(fragment) {
                Issue.record("\"\(text)\" does not contain \"\(fragment)\"", sourceLocation: sourceLocation)
            }
        }
    }

    /// The tiny GGUF model with `llama.block_count` replaced.
    func ggufModel(blockCount: UInt32) -> [UInt8] {
        var writer = GGUFWriter()
        for (key, value) in FuzzSeedsProbe.llamaMetadata() {
            writer.addMetadata(key, key == "llama.block_count" ? .uint32(blockCount) : value)
        }
        for (name, tensor) in FuzzSeeds.weights(.gguf, tied: false) { writer.addTensor(name, tensor) }
        return writer.serialized()
    }

    // A GGUF whose llama.block_count said 8,323,073 made the loader list 75 M expected tensor
    // names (a 340 MB allocation from a 3 KB file) before finding the first one missing.
    @Test("GGUF: a layer count beyond the file's tensors is refused before anything is listed")
    func ggufLayerCount() {
        expectRejection(.gguf, ggufModel(blockCount: 8_323_073),
                        ["fuzz.gguf", "layer count 8323073", "llama.block_count", "holds 12 tensors"])
    }

    // A GGUF whose blk.0.attn_v.weight had a type outside the table (I64) segfaulted: the error,
    // thrown while making layer 0 through `rethrows` initialisers and `map`, was lost in release
    // builds and the half-made layer destroyed. The weight sets' initialisers now use typed throws.
    @Test("GGUF: a layer's matrix of an unsupported type is refused by name")
    func unsupportedLayerMatrixType() {
        var bytes = ggufModel(blockCount: 1)
        let name = Array("blk.0.attn_v.weight".utf8)
        guard let start = (0...(bytes.count - name.count)).first(where: { Array(bytes[$0..<($0 + name.count)]) == name }) else {
            Issue.record("no tensor info for blk.0.attn_v.weight")
            return
        }
        // tensor info: name, n_dims (u32), n_dims × u64 dims, type (u32): I32 has F32's size
        let dims = Int(bytes[start + name.count])
        bytes[start + name.count + 4 + 8 * dims] = UInt8(GGMLType.i32.rawValue)
        expectRejection(.gguf, bytes, ["blk.0.attn_v.weight", "I32"])
    }

    @Test("safetensors + config.json: num_hidden_layers beyond the tensors is refused by name")
    func hfLayerCount() throws {
        var config = String(decoding: FuzzSeeds.tinyConfigJSON, as: UTF8.self)
        config = config.replacingOccurrences(of: "\"num_hidden_layers\":1", with: "\"num_hidden_layers\":16000000")
        let file = try SafetensorsFile(file: MappedFile(bytes: FuzzSeeds.safetensors()[0], path: "fuzz.safetensors"))
        #expect {
            _ = try ModelLoader.load(huggingFace: file, config: Data(config.utf8), configSource: "config.json") { nil }
        } throws: { error in
            "\(error)".contains("layer count 16000000 (num_hidden_layers)")
        }
    }

    /// The tiny config.json with `rope_scaling` set to `scaling`.
    func config(ropeScaling scaling: String) -> [UInt8] {
        let base = FuzzSeeds.hfConfigs()[0]
        return Array(base.dropLast()) + Array(",\"rope_scaling\":\(scaling)}".utf8)
    }

    // time_dt = 2^64 made the ODE grid from t = 1 to T a single node (no step at all), and the
    // first query past L trapped: "time 2.0 outside the solved range [1.0, 1.0]".
    @Test("CLEX: a step longer than the whole range is one step, not none")
    func clexLongStep() throws {
        let input = config(ropeScaling: "{\"type\":\"clex\",\"max_factor\":4,\"param_factor\":1,\"act\":\"tanh\",\"time_dt\":18446744073709551616}")
        try FuzzTarget.hfConfig.run(input)
        #expect(CLEXODE.grid(from: 1, to: 4, step: 1e19) == [1, 4])
        #expect(CLEXODE.grid(from: 1, to: 1, step: 0.5) == [1])
    }

    // Found while fixing the one above: nothing bounded T, λ or h, so a config could ask for a
    // 2^48-weight ODE, T·L past Int.max, or 10^18 RK4 steps.
    @Test("CLEX: max_factor, param_factor and time_dt are bounded, the error naming the key")
    func clexLimits() {
        let clex = { (t: String, lambda: String, h: String) in
            self.config(ropeScaling: "{\"type\":\"clex\",\"max_factor\":\(t),\"param_factor\":\(lambda),\"act\":\"tanh\",\"time_dt\":\(h)}")
        }
        expectRejection(.hfConfig, clex("1000000000000000", "1", "0.5"), ["rope_scaling.max_factor", "at most 65536"])
        expectRejection(.hfConfig, clex("4", "1000000000000000", "0.5"), ["rope_scaling.param_factor", "weights"])
        expectRejection(.hfConfig, clex("4", "1", "1e-12"), ["rope_scaling.time_dt", "RK4 steps"])
    }

    // A tokenizer.json whose vocabulary gave one token the id 12,121,212 made the loader build
    // id tables of 12 M entries (340 MB) from a 1 KB file.
    @Test("tokenizer.json: ids far past the number of tokens are refused, naming the token")
    func tokenizerIDHoles() {
        let sparse = #"{"model":{"type":"BPE","vocab":{"a":0,"w":12121212},"merges":[]}}"#
        expectRejection(.tokenizerJSON, Array(sparse.utf8), ["model.vocab['w']", "id 12121212", "holes"])
        let added = #"{"added_tokens":[{"id":16000000,"content":"<big>"}],"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}"#
        expectRejection(.tokenizerJSON, Array(added.utf8), ["added_tokens[0] '<big>'", "id 16000000"])
        // Holes up to the documented bound still load (added tokens past the model's ids).
        let holes = #"{"added_tokens":[{"id":250,"content":"<x>","special":true}],"model":{"type":"BPE","vocab":{"a":0,"b":1},"merges":[]}}"#
        #expect(throws: Never.self) { try FuzzTarget.tokenizerJSON.run(Array(holes.utf8)) }
    }

    /// A GGUF file with one F32 tensor `t` of ggml extents `dimensions` and no data.
    func ggufTensor(dimensions: [UInt64]) -> [UInt8] {
        var bytes: [UInt8] = []
        func append<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        append(GGUFFile.magic)
        append(UInt32(3))
        append(UInt64(1))                              // tensors
        append(UInt64(0))                              // metadata entries
        append(UInt64(1)); bytes.append(UInt8(ascii: "t"))
        append(UInt32(dimensions.count))
        for d in dimensions { append(d) }
        append(UInt32(0))                              // F32
        append(UInt64(0))                              // offset
        while bytes.count % 32 != 0 { bytes.append(0) }
        return bytes
    }

    // Found by reading the code around the layer-count finding: ggml extents [0, 2^40, 2^40]
    // hold no element, so the size checks passed, but the row-major shape [2^40, 2^40, 0]
    // overflowed when a tensor was made from it.
    @Test("GGUF and safetensors: shapes whose non-zero extents overflow are refused")
    func zeroExtentOverflow() {
        expectRejection(.gguf, ggufTensor(dimensions: [0, 1 << 40, 1 << 40]), ["tensor 't' dimensions", "overflows"])
        let header = #"{"t":{"dtype":"F32","shape":[0,1099511627776,1099511627776],"data_offsets":[0,0]}}"#
        var file: [UInt8] = []
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { file.append(contentsOf: $0) }
        file += Array(header.utf8)
        expectRejection(.safetensors, file, ["tensor 't' shape", "overflows"])
        // An empty tensor with small extents is still fine.
        #expect(throws: Never.self) { try FuzzTarget.gguf.run(ggufTensor(dimensions: [0, 3, 4])) }
    }

    // A CLEX config with head_dim 10000 (a duplicate key overriding 4) spent 2 s drawing a
    // 5000 × 10000 U for the ODE; the bound on U's size now refuses it, naming param_factor.
    @Test("CLEX: the ODE's size is bounded through head_dim too")
    func clexODESize() {
        let input = config(ropeScaling: "{\"type\":\"clex\",\"max_factor\":4,\"param_factor\":1,\"act\":\"tanh\",\"time_dt\":0.5}")
        let wide = Array(String(decoding: input, as: UTF8.self)
            .replacingOccurrences(of: "\"head_dim\":4", with: "\"head_dim\":10000").utf8)
        expectRejection(.hfConfig, wide, ["rope_scaling.param_factor", "50000000 weights"])
    }

    // Found by an experiment after reading the SentencePiece loader: building the score-ranked
    // merge table cut every piece at every position, O(k²) for a k-scalar piece, so one
    // 32,000-character token in a 32 KB GGUF took 43 s. Pieces past 256 scalars now take no
    // part in merges (they still decode).
    @Test("SentencePiece vocabularies: a huge piece is kept but not merged into")
    func longPiece() throws {
        let long = String(repeating: "a", count: 32_000)
        let metadata = GGUFTokenizerMetadata(model: "llama", tokens: ["<unk>", "<s>", "</s>", "a", "aa", long],
                                             scores: [0, 0, 0, -2, -1, 0], unknownID: 0, addBOS: false,
                                             addSpacePrefix: false)
        let tokenizer = try BPETokenizer(gguf: metadata)
        #expect(tokenizer.encode(String(repeating: "a", count: 6), addSpecial: false) == [4, 4, 4])
        #expect(tokenizer.decode([5]) == long)
        #expect(tokenizer.encode(long, addSpecial: false).allSatisfy { $0 == 4 })
    }

    // Found by reading the code: a llama2.c header of dim = vocab_size = 2^31 − 2 passes every
    // field check, and 4 bytes × vocab × dim (2^64) overflowed while sizing the embedding.
    @Test("llama2.c: a header whose tensor sizes overflow is refused, naming the tensor")
    func llama2cSizeOverflow() {
        var header: [UInt8] = []
        for field: Int32 in [0x7FFF_FFFE, 16, 1, 2, 1, 0x7FFF_FFFE, 4] {
            withUnsafeBytes(of: field.littleEndian) { header.append(contentsOf: $0) }
        }
        expectRejection(.llama2c, header, ["fuzz.bin", "tensor 'model.embed_tokens.weight'", "overflows"])
    }
}

/// The seeds' GGUF metadata as a list (the writer keeps it in order).
enum FuzzSeedsProbe {
    static func llamaMetadata() -> [(String, MetadataValue)] {
        var writer = GGUFWriter()
        FuzzSeeds.llamaMetadata(&writer)
        return writer.metadata.map { ($0.key, $0.value) }
    }
}
