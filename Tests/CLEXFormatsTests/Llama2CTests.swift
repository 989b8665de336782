import CLEXFormats
import CLEXTensor
import Foundation
import Testing

/// A llama2.c checkpoint built in run.c's `memory_map_weights` order, each region filled with
/// `base + index` where `base` is 1000 × the region's position, so every float says where it came from.
private struct TinyLlama2C {
    let config: Llama2CConfig
    var bytes: [UInt8] = []
    /// Region name (run.c) → values, in file order.
    var regions: [(name: String, values: [Float])] = []

    init(_ config: Llama2CConfig) {
        self.config = config
        for v in config.headerFields { bytes.appendLE(v) }
        let c = config
        let (d, h, hs, L) = (c.dim, c.hiddenDim, c.headSize, c.layerCount)
        let sizes: [(String, Int)] = [
            ("emb", c.vocabSize * d), ("rms_att", L * d), ("wq", L * d * c.headCount * hs),
            ("wk", L * d * c.kvHeadCount * hs), ("wv", L * d * c.kvHeadCount * hs), ("wo", L * c.headCount * hs * d),
            ("rms_ffn", L * d), ("w1", L * d * h), ("w2", L * h * d), ("w3", L * d * h), ("rms_final", d),
            ("freq_real", c.seqLen * hs / 2), ("freq_imag", c.seqLen * hs / 2),
        ] + (c.sharedClassifier ? [] : [("wcls", c.vocabSize * d)])
        for (k, (name, n)) in sizes.enumerated() {
            let values = (0..<n).map { Float(1000 * (k + 1) + $0) }
            regions.append((name, values))
            for v in values { bytes.appendFloat(v) }
        }
    }

    func values(_ region: String) -> [Float] { regions.first { $0.name == region }!.values }

    /// Layer `l` of a region stacked over layers.
    func layer(_ region: String, _ l: Int) -> [Float] {
        let all = values(region)
        let per = all.count / config.layerCount
        return Array(all[(l * per)..<((l + 1) * per)])
    }
}

private let gqaConfig = Llama2CConfig(dim: 8, hiddenDim: 12, layerCount: 2, headCount: 2, kvHeadCount: 1,
                                      vocabSize: 5, seqLen: 3, sharedClassifier: false)

/// Applies RoPE at `position` to each head of `v` (head size `hs`), pairing (2i, 2i+1) when
/// `interleaved`, else (i, i + hs/2) as Hugging Face's rotate_half does.
private func rope(_ v: [Double], hs: Int, position: Int, interleaved: Bool) -> [Double] {
    var out = v
    for head in 0..<(v.count / hs) {
        for i in 0..<(hs / 2) {
            let angle = Double(position) * pow(10000, -2 * Double(i) / Double(hs))
            let (a, b) = interleaved ? (head * hs + 2 * i, head * hs + 2 * i + 1) : (head * hs + i, head * hs + i + hs / 2)
            out[a] = v[a] * cos(angle) - v[b] * sin(angle)
            out[b] = v[a] * sin(angle) + v[b] * cos(angle)
        }
    }
    return out
}

private func matvec(_ w: Tensor, _ x: [Double]) -> [Double] {
    let (rows, cols) = (w.shape[0], w.shape[1])
    return (0..<rows).map { r in (0..<cols).reduce(0.0) { $0 + Double(w.pointer[r * cols + $1]) * x[$1] } }
}

@Suite("llama2.c checkpoints") struct Llama2CTests {
    @Test("weights map to Hugging Face names and shapes in run.c's order", arguments: [false, true])
    func names(shared: Bool) throws {
        var config = gqaConfig
        config.sharedClassifier = shared
        let tiny = TinyLlama2C(config)
        let dir = TemporaryDirectory()
        defer { dir.cleanUp() }
        let path = dir.write("stories.bin", tiny.bytes)
        let ck = try Llama2CCheckpoint(path: path)
        #expect(ck.config == config)
        #expect(try ck.metadata.int("n_kv_heads") == 1 && ck.metadata.bool("shared_classifier") == shared)
        #expect(ck.tensorNames.count == 2 + 9 * 2 + 1 && ck.tensorNames.last == "lm_head.weight")
        let expected: [(String, [Int], [Float])] = [
            ("model.embed_tokens.weight", [5, 8], tiny.values("emb")),
            ("model.layers.1.input_layernorm.weight", [8], tiny.layer("rms_att", 1)),
            ("model.layers.0.self_attn.q_proj.weight", [8, 8], tiny.layer("wq", 0)),
            ("model.layers.1.self_attn.k_proj.weight", [4, 8], tiny.layer("wk", 1)),
            ("model.layers.0.self_attn.v_proj.weight", [4, 8], tiny.layer("wv", 0)),
            ("model.layers.1.self_attn.o_proj.weight", [8, 8], tiny.layer("wo", 1)),
            ("model.layers.0.post_attention_layernorm.weight", [8], tiny.layer("rms_ffn", 0)),
            ("model.layers.1.mlp.gate_proj.weight", [12, 8], tiny.layer("w1", 1)),
            ("model.layers.0.mlp.down_proj.weight", [8, 12], tiny.layer("w2", 0)),
            ("model.layers.1.mlp.up_proj.weight", [12, 8], tiny.layer("w3", 1)),
            ("model.norm.weight", [8], tiny.values("rms_final")),
            ("lm_head.weight", [5, 8], shared ? tiny.values("emb") : tiny.values("wcls")),
        ]
        for (name, shape, values) in expected {
            let t = try ck.tensor(name)
            #expect(t.shape == shape && t.scalars == values, "\(name)")
            #expect(try ck.shape(of: name) == shape)
        }
        let opened = try Checkpoint.open(path)
        #expect(opened is Llama2CCheckpoint && opened.contains("model.norm.weight") && !opened.contains("nope"))
    }

    @Test("halfSplit q/k rows are HF's permute of the interleaved rows and give the same attention scores")
    func rotaryLayouts() throws {
        let config = Llama2CConfig(dim: 16, hiddenDim: 8, layerCount: 1, headCount: 4, kvHeadCount: 2,
                                   vocabSize: 3, seqLen: 2, sharedClassifier: true)
        var tiny = TinyLlama2C(config)
        // Random q/k weights so that scores are not degenerate.
        var rng = SeededGenerator(seed: 11)
        let qStart = Llama2CCheckpoint.headerSize + 4 * (tiny.values("emb").count + tiny.values("rms_att").count)
        for i in 0..<(16 * 16 + 8 * 16) { tiny.bytes.setLE((rng.nextUnitFloat() - 0.5).bitPattern, at: qStart + 4 * i) }
        let dir = TemporaryDirectory()
        defer { dir.cleanUp() }
        let path = dir.write("rope.bin", tiny.bytes)
        let plain = try Llama2CCheckpoint(path: path)
        let hf = try Llama2CCheckpoint(path: path, rotaryLayout: .halfSplit)
        #expect(try hf.tensor("model.layers.0.self_attn.v_proj.weight").scalars
                == plain.tensor("model.layers.0.self_attn.v_proj.weight").scalars, "v is not permuted")
        let hs = config.headSize
        for (name, heads) in [("q_proj", 4), ("k_proj", 2)] {
            let a = try plain.tensor("model.layers.0.self_attn.\(name).weight")
            let b = try hf.tensor("model.layers.0.self_attn.\(name).weight")
            for h in 0..<heads {
                for c in 0..<2 {
                    for i in 0..<(hs / 2) {
                        let row = Array(a.scalars[((h * hs + 2 * i + c) * 16)..<((h * hs + 2 * i + c + 1) * 16)])
                        let permuted = Array(b.scalars[((h * hs + c * hs / 2 + i) * 16)..<((h * hs + c * hs / 2 + i + 1) * 16)])
                        #expect(row == permuted, "\(name) head \(h) pair \(i) half \(c)")
                    }
                }
            }
        }
        // q·k scores with interleaved RoPE on the file's rows equal those with rotate-half RoPE on HF rows.
        let x = (0..<16).map { _ in Double(rng.nextNormal()) }
        let y = (0..<16).map { _ in Double(rng.nextNormal()) }
        for interleaved in [true, false] {
            let ck = interleaved ? plain : hf
            let q = rope(matvec(try ck.tensor("model.layers.0.self_attn.q_proj.weight"), x), hs: hs, position: 5, interleaved: interleaved)
            let k = rope(matvec(try ck.tensor("model.layers.0.self_attn.k_proj.weight"), y), hs: hs, position: 2, interleaved: interleaved)
            let score = (0..<hs).reduce(0.0) { $0 + q[3 * hs + $1] * k[1 * hs + $1] }
            if interleaved {
                let other = rope(matvec(try hf.tensor("model.layers.0.self_attn.q_proj.weight"), x), hs: hs, position: 5, interleaved: false)
                let otherK = rope(matvec(try hf.tensor("model.layers.0.self_attn.k_proj.weight"), y), hs: hs, position: 2, interleaved: false)
                let otherScore = (0..<hs).reduce(0.0) { $0 + other[3 * hs + $1] * otherK[1 * hs + $1] }
                #expect(abs(score - otherScore) < 1e-9 * max(1, abs(score)), "\(score) vs \(otherScore)")
                let wrong = rope(matvec(try plain.tensor("model.layers.0.self_attn.q_proj.weight"), x), hs: hs, position: 5, interleaved: false)
                let wrongK = rope(matvec(try plain.tensor("model.layers.0.self_attn.k_proj.weight"), y), hs: hs, position: 2, interleaved: false)
                let wrongScore = (0..<hs).reduce(0.0) { $0 + wrong[3 * hs + $1] * wrongK[1 * hs + $1] }
                #expect(abs(score - wrongScore) > 1e-6, "the layouts must matter for this test to mean anything")
            }
        }
    }

    @Test("truncated files name the tensor being read; sizes and headers are checked")
    func corrupt() {
        let tiny = TinyLlama2C(gqaConfig)
        let dir = TemporaryDirectory()
        defer { dir.cleanUp() }
        let embBytes = 4 * 5 * 8
        let cases: [([UInt8], [String])] = [
            (Array(tiny.bytes[0..<10]), ["header n_layers", "needs 4 bytes at byte 8, only 2 left"]),
            (Array(tiny.bytes[0..<(28 + embBytes - 1)]), ["tensor 'model.embed_tokens.weight' (token_embedding_table, [5, 8] float32)", "needs 160 bytes at byte 28, only 159 left"]),
            (Array(tiny.bytes.dropLast(1)), ["tensor 'lm_head.weight' (wcls, [5, 8] float32)", "needs 160 bytes"]),
            (Array(tiny.bytes.dropLast(4 * 40 + 2)), ["truncated: freq_cis_imag (skipped) needs 24 bytes"]),
            (Array(tiny.bytes[0..<(28 + embBytes + 32 * 2 + 256 + 10)]), ["tensor 'model.layers.1.self_attn.q_proj.weight' (wq[1], [8, 8] float32)", "needs 256 bytes"]),
            (tiny.bytes + [0, 0, 0, 0], ["file size", "expected \(tiny.bytes.count) bytes for the header's configuration", "found \(tiny.bytes.count + 4) bytes"]),
        ]
        for (bytes, fragments) in cases {
            let p = dir.write("bad.bin", bytes)
            expectCheckpointError(["bad.bin"] + fragments) { _ = try Llama2CCheckpoint(path: p) }
        }
        for (field, value, fragment) in [(3, Int32(3), "header n_heads: expected a divisor of dim 8, found 3"),
                                         (4, 0, "header n_kv_heads: expected a positive integer, found 0"),
                                         (4, 4, "header n_kv_heads: expected a divisor of n_heads 2, found 4"),
                                         (5, 0, "header vocab_size: expected a non-zero integer"),
                                         (5, Int32.min, "tensor 'model.embed_tokens.weight'"),
                                         (0, -8, "header dim: expected a positive integer, found -8"),
                                         (2, Int32.max, "tensor 'model.layers.131.input_layernorm.weight' (rms_att_weight[131], [8] float32)")] {
            var bytes = tiny.bytes
            bytes.setLE(value, at: 4 * field)
            let p = dir.write("header.bin", bytes)
            expectCheckpointError(["header.bin", fragment]) { _ = try Llama2CCheckpoint(path: p) }
        }
        var ak42: [UInt8] = []
        ak42.appendLE(UInt32(0x616b_3432))
        ak42.appendLE(Int32(2))
        ak42 += [UInt8](repeating: 0, count: 248)
        let p = dir.write("q80.bin", ak42)
        expectCheckpointError(["q80.bin", "export version 2 (\"ak42\" header)"]) { _ = try Llama2CCheckpoint(path: p) }
        let odd = TinyLlama2C(Llama2CConfig(dim: 6, hiddenDim: 4, layerCount: 1, headCount: 2, kvHeadCount: 2,
                                            vocabSize: 2, seqLen: 2, sharedClassifier: true)).bytes
        let po = dir.write("odd.bin", odd)
        #expect((try? Llama2CCheckpoint(path: po)) != nil)
        expectCheckpointError(["odd.bin", "even head size", "head size 3"]) { _ = try Llama2CCheckpoint(path: po, rotaryLayout: .halfSplit) }
    }

    @Test("random byte corruption and truncation never trap")
    func fuzz() {
        let base = TinyLlama2C(gqaConfig).bytes
        let dir = TemporaryDirectory()
        defer { dir.cleanUp() }
        var rng = SeededGenerator(seed: 8)
        for _ in 0..<200 {
            var bytes = base
            let at = Int(rng.next() % 28)
            bytes[at] = UInt8(truncatingIfNeeded: rng.next())
            if rng.next() % 2 == 0 { bytes.removeLast(Int(rng.next() % UInt64(bytes.count))) }
            let p = dir.write("fuzz.bin", bytes)
            if let ck = try? Llama2CCheckpoint(path: p) {
                for name in ck.tensorNames { _ = try? ck.tensor(name) }
            }
        }
    }

    @Test("tokenizer.bin: tokens and scores, with and without a vocab size; errors name the token")
    func tokenizer() throws {
        let tokens: [[UInt8]] = [Array("<unk>".utf8), Array(" the".utf8), [0xE2, 0x96], [], Array("\n".utf8)]
        let scores: [Float] = [0, -1.5, -2.25, 3, -1e9]
        let bytes = Llama2CTokenizerFile.serialized(maxTokenLength: 5, tokens: tokens, scores: scores)
        let dir = TemporaryDirectory()
        defer { dir.cleanUp() }
        let p = dir.write("tokenizer.bin", bytes)
        for vocab in [5, nil] {
            let t = try Llama2CTokenizerFile(path: p, vocabSize: vocab)
            #expect(t.maxTokenLength == 5 && t.tokens == tokens && t.scores == scores)
        }
        expectCheckpointError(["tokenizer.bin", "token 5 score", "needs 4 bytes"]) { _ = try Llama2CTokenizerFile(path: p, vocabSize: 6) }
        expectCheckpointError(["tokenizer.bin", "file size", "for 4 tokens"]) { _ = try Llama2CTokenizerFile(path: p, vocabSize: 4) }
        expectCheckpointError(["tokenizer.bin", "vocab size 1000", "expected at most"]) { _ = try Llama2CTokenizerFile(path: p, vocabSize: 1000) }
        let cut1 = dir.write("cut1.bin", Array(bytes.dropLast(1)))
        expectCheckpointError(["cut1.bin", "token 4 bytes", "needs 1 bytes"]) { _ = try Llama2CTokenizerFile(path: cut1) }
        let cut2 = dir.write("cut2.bin", Array(bytes.dropLast(2)))
        expectCheckpointError(["cut2.bin", "token 4 length", "needs 4 bytes"]) { _ = try Llama2CTokenizerFile(path: cut2) }
        var long = bytes
        long.setLE(Int32(4), at: 0)
        let pl = dir.write("long.bin", long)
        expectCheckpointError(["long.bin", "token 0 length", "expected 0...4 (max_token_length)", "found 5"]) {
            _ = try Llama2CTokenizerFile(path: pl)
        }
        var negative = bytes
        negative.setLE(Int32(-1), at: 0)
        let pn = dir.write("neg.bin", negative)
        expectCheckpointError(["neg.bin", "max_token_length", "found -1"]) { _ = try Llama2CTokenizerFile(path: pn) }
    }
}
