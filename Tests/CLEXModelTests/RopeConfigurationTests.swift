import CLEXModel
import CLEXTensor
import Foundation
import Testing

/// Reading the positional method from HF config.json (`rope_scaling` with `type` or
/// `rope_type`, v5 `rope_parameters`), GGUF metadata and llama.cpp-style command-line flags;
/// every refusal names the key or flag.
@Suite("RoPE configuration") struct RopeConfigurationTests {
    /// A small LLaMA config.json with `members` merged in (JSON text without braces).
    static func config(_ members: String, maxPositions: Int = 8192) -> Data {
        let base = """
        "model_type": "llama", "vocab_size": 100, "hidden_size": 256, "intermediate_size": 512,
        "num_hidden_layers": 2, "num_attention_heads": 4, "max_position_embeddings": \(maxPositions),
        "bos_token_id": 1, "eos_token_id": 2
        """
        return Data("{\(base)\(members.isEmpty ? "" : ", " + members)}".utf8)
    }

    static func parse(_ members: String, maxPositions: Int = 8192) throws -> PositionalConfiguration {
        let data = config(members, maxPositions: maxPositions)
        let model = try LlamaConfiguration(hfConfig: data, source: "config.json")
        return try PositionalConfiguration(hfConfig: data, model: model, source: "config.json")
    }

    @Test("legacy rope_scaling with \"type\": YaRN, dynamic, linear; defaults as HF")
    func legacyTypes() throws {
        let yarn = try Self.parse(#""rope_theta": 1000000, "rope_scaling": {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 2048}"#)
        #expect(yarn.scheme == .yarn(YaRNParameters(factor: 4, originalContextLength: 2048)))
        #expect(yarn.base == 1_000_000 && yarn.rotaryDimension == 64 && yarn.contextLength == 8192 && yarn.headCount == 4)
        // Without original_max_position_embeddings YaRN's L0 is max_position_embeddings (HF standardize_rope_params).
        let implicit = try Self.parse(#""rope_scaling": {"type": "yarn", "factor": 2, "beta_fast": null, "truncate": false, "mscale": 1, "mscale_all_dim": 0.5}"#)
        #expect(implicit.scheme == .yarn(YaRNParameters(factor: 2, originalContextLength: 8192, mscale: 1, mscaleAllDim: 0.5,
                                                        truncate: false)))
        #expect(try Self.parse(#""rope_scaling": {"type": "dynamic", "factor": 2.0}"#).scheme == .dynamic(factor: 2))
        #expect(try Self.parse(#""rope_scaling": {"rope_type": "linear", "type": "linear", "factor": 4}"#).scheme == .linear(factor: 4))
        #expect(try Self.parse(#""rope_scaling": null"#).scheme == PositionalScheme.none)
        #expect(try Self.parse("").scheme == PositionalScheme.none)
        #expect(try Self.parse(#""rope_scaling": {"type": "ntk", "factor": 3}"#).scheme == .ntk(factor: 3))
        #expect(try Self.parse(#""rope_scaling": {"type": "alibi"}"#).scheme == .alibi)
    }

    @Test("Llama 3.1's rope_scaling (rope_type llama3)")
    func llama3() throws {
        let c = try Self.parse(#"""
            "rope_theta": 500000.0, "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
            "original_max_position_embeddings": 8192, "rope_type": "llama3"}
            """#, maxPositions: 131072)
        #expect(c.scheme == .llama3(Llama3Parameters(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4,
                                                     originalContextLength: 8192)))
        #expect(c.base == 500000)
    }

    @Test("transformers v5 rope_parameters carries rope_theta (and wins over the top level)")
    func ropeParameters() throws {
        let plain = try Self.parse(#""rope_parameters": {"rope_type": "default", "rope_theta": 500000.0}"#)
        #expect(plain.scheme == PositionalScheme.none && plain.base == 500000)
        let yarn = try Self.parse(#""rope_theta": 10000, "rope_parameters": {"rope_type": "yarn", "rope_theta": 1e6, "factor": 4, "original_max_position_embeddings": 2048, "partial_rotary_factor": 0.5}"#)
        #expect(yarn.base == 1e6 && yarn.rotaryDimension == 32)
        #expect(yarn.scheme == .yarn(YaRNParameters(factor: 4, originalContextLength: 2048)))
    }

    @Test("Phi-3 LongRoPE: top-level original_max_position_embeddings, factor from the ratio, \"su\" alias")
    func phi3() throws {
        let short = (0..<32).map { _ in "1.0" }.joined(separator: ", "), long = (0..<32).map { "\(1 + Double($0) / 4)" }.joined(separator: ", ")
        for type in ["longrope", "su"] {
            let c = try Self.parse("""
                "original_max_position_embeddings": 4096,
                "rope_scaling": {"type": "\(type)", "short_factor": [\(short)], "long_factor": [\(long)]}
                """, maxPositions: 131072)
            guard case .longRoPE(let p) = c.scheme else { Issue.record("not longrope: \(c.scheme)"); continue }
            #expect(p.originalContextLength == 4096 && p.factor == 32 && p.attentionFactor == nil)
            #expect(p.longFactor[4] == 2 && p.shortFactor.allSatisfy { $0 == 1 })
            #expect(abs(p.resolvedAttentionFactor - (1 + log(32.0) / log(4096.0)).squareRoot()) < 1e-12)
        }
    }

    @Test("CLEX's config: rope_scaling type clex plus the top-level log_scale")
    func clex() throws {
        let c = try Self.parse(#"""
            "rope_scaling": {"type": "clex", "max_factor": 16, "param_factor": 1, "act": "silu", "time_dt": 0.01, "factor": 1},
            "log_scale": true
            """#, maxPositions: 4096)
        #expect(c.scheme == .clex(CLEXParameters(maxFactor: 16, paramFactor: 1, activation: .silu, timeStep: 0.01, logScale: true)))
        #expect(c.contextLength == 4096)
        let method = try #require(try c.makeMethod() as? CLEXPositional)
        #expect(method.up.shape == [32, 64])
    }

    @Test("written configuration reads back equal (rope_scaling, rope_theta, log_scale)", arguments: [
        PositionalScheme.none, .linear(factor: 2), .dynamic(factor: 3), .ntk(factor: 2), .alibi,
        .yarn(YaRNParameters(factor: 4, originalContextLength: 2048, betaFast: 16, betaSlow: 2, mscale: 1, mscaleAllDim: 1,
                             truncate: false)),
        .yarn(YaRNParameters(factor: 4, originalContextLength: 2048, attentionFactor: 1.5)),
        .longRoPE(LongRoPEParameters(shortFactor: Array(repeating: 1, count: 32), longFactor: Array(repeating: 4, count: 32),
                                     originalContextLength: 2048, factor: 4, attentionFactor: 1.2)),
        .llama3(Llama3Parameters(factor: 8, originalContextLength: 2048)),
        .clex(CLEXParameters(maxFactor: 8, paramFactor: 2, activation: .silu, timeStep: 0.02, logScale: true)),
    ])
    func roundTrip(scheme: PositionalScheme) throws {
        let model = try LlamaConfiguration(hfConfig: Self.config(""), source: "config.json")
        let c = PositionalConfiguration(scheme: scheme, base: 50000, rotaryDimension: 64, contextLength: 8192, headCount: 4)
        let data = try model.hfConfigJSON(extra: try c.hfConfigMembers(headDimension: 64))
        let reread = try LlamaConfiguration(hfConfig: data, source: "written")
        #expect(try PositionalConfiguration(hfConfig: data, model: reread, source: "written") == c)
        // The LlamaConfiguration path (ropeScalingJSON; log_scale passed by the caller).
        var logScale = false
        if case .clex(let p) = scheme { logScale = p.logScale }
        #expect(try PositionalConfiguration(model: reread, logScale: logScale, source: "written") == c)
    }

    @Test("invalid rope configurations are refused with the key and the problem", arguments: [
        (#""rope_scaling": {"type": "quadratic", "factor": 2}"#, "'rope_scaling.type': unknown rope type \"quadratic\""),
        (#""rope_parameters": {"rope_type": "fancy"}"#, "'rope_parameters.rope_type': unknown rope type \"fancy\""),
        (#""rope_scaling": {"type": "yarn", "original_max_position_embeddings": 2048}"#, "'rope_scaling.factor': required key for rope type \"yarn\" is missing"),
        (#""rope_scaling": {"type": "clex", "max_factor": 16, "param_factor": 1, "act": "tanh"}"#, "'rope_scaling.time_dt': required key"),
        (#""rope_scaling": {"type": "linear", "factor": 2, "scale": 3}"#, "'rope_scaling.scale': unknown key for rope type \"linear\""),
        (#""rope_scaling": {"type": "longrope", "short_factor": [1, 1], "long_factor": [1, 1]}"#, "'rope_scaling.short_factor': expected 32 numbers (rotary dimension 64 / 2), found 2"),
        (#""rope_scaling": {"type": "linear", "factor": 0.5}"#, "'rope_scaling.factor': expected a number ≥ 1, found 0.5"),
        (#""rope_scaling": {"type": "dynamic", "factor": "2"}"#, "'rope_scaling.factor': expected a number, found a string"),
        (#""rope_scaling": {"type": "clex", "max_factor": 16, "param_factor": 1, "act": "tanh", "time_dt": -0.01}"#, "'rope_scaling.time_dt': expected a number > 0, found -0.01"),
        (#""rope_scaling": {"type": "clex", "max_factor": 16, "param_factor": 1, "act": "relu", "time_dt": 0.01}"#, "'rope_scaling.act': expected \"tanh\" or \"silu\", found \"relu\""),
        (#""rope_scaling": {"type": "clex", "max_factor": 16.5, "param_factor": 1, "act": "tanh", "time_dt": 0.01}"#, "'rope_scaling.max_factor': expected an integer"),
        (#""rope_scaling": {"type": "clex", "max_factor": 16, "param_factor": 0, "act": "tanh", "time_dt": 0.01}"#, "'rope_scaling.param_factor': expected a positive integer, found 0"),
        (#""rope_scaling": {"type": "yarn", "factor": 4, "beta_fast": 1, "beta_slow": 32}"#, "'rope_scaling.beta_fast': must not be below beta_slow"),
        (#""rope_scaling": {"type": "yarn", "factor": 4, "attention_factor": -1}"#, "'rope_scaling.attention_factor': expected a number > 0"),
        (#""rope_scaling": {"rope_type": "llama3", "factor": 8, "low_freq_factor": 4, "high_freq_factor": 1}"#, "'rope_scaling.high_freq_factor': must be greater than low_freq_factor"),
        (#""rope_scaling": {"rope_type": "yarn", "type": "linear", "factor": 4}"#, "'rope_scaling.type': \"linear\" disagrees with rope_type \"yarn\""),
        (#""rope_scaling": {"type": "linear", "factor": 4}, "log_scale": true"#, "'log_scale': log_scale applies to CLEX only"),
        (#""rope_scaling": {"type": "yarn", "factor": 4, "truncate": 1}"#, "'rope_scaling.truncate': expected true or false"),
        (#""rope_parameters": {"rope_type": "default", "rope_theta": 0.5}"#, "'rope_parameters.rope_theta': expected a number > 1"),
        (#""rope_scaling": {"type": "linear", "factor": 2}, "rope_parameters": {"rope_type": "default"}"#, "'rope_parameters': both rope_scaling and rope_parameters"),
        (#""rope_scaling": {"type": "longrope", "short_factor": [1], "long_factor": ["x"]}"#, "'rope_scaling.long_factor[0]': expected a finite number"),
    ])
    func refuses(members: String, message: String) {
        do {
            _ = try Self.parse(members)
            Issue.record("accepted: \(members)")
        } catch {
            #expect(error is ConfigurationError, "\(error)")
            #expect("\(error)".hasPrefix("config.json: "), "\(error)")
            #expect("\(error)".contains(message), "\(error)")
        }
    }

    @Test("non-finite numbers and bad list entries are refused (values that JSON text cannot carry)")
    func nonFinite() throws {
        let model = try LlamaConfiguration(hfConfig: Self.config(""), source: "config.json")
        for (object, key) in [
            (["type": "linear", "factor": Double.infinity] as [String: Any], "rope_scaling.factor"),
            (["type": "yarn", "factor": 4.0, "beta_fast": Double.nan], "rope_scaling.beta_fast"),
            (["type": "longrope", "short_factor": Array(repeating: 1.0, count: 32),
              "long_factor": Array(repeating: 1.0, count: 31) + [-2.0]], "rope_scaling.long_factor[31]"),
        ] {
            #expect {
                try PositionalConfiguration(ropeObject: object, model: model, source: "config.json")
            } throws: { error in
                (error as? ConfigurationError)?.key == key
            }
        }
    }

    @Test("GGUF llama.rope.* metadata: none, linear (incl. legacy scale_linear), yarn, frequency factors")
    func gguf() throws {
        let model = LlamaConfiguration(vocabularySize: 10, hiddenSize: 256, intermediateSize: 8, layerCount: 1, headCount: 4,
                                       ropeTheta: 10000, maxPositionEmbeddings: 8192)
        let yarn = try PositionalConfiguration(gguf: [
            "llama.rope.freq_base": 1e6, "llama.rope.dimension_count": 64, "llama.rope.scaling.type": "yarn",
            "llama.rope.scaling.factor": 4, "llama.rope.scaling.original_context_length": 2048,
            "llama.context_length": 8192, "general.name": "x",
        ], model: model, source: "m.gguf")
        #expect(yarn.scheme == .yarn(YaRNParameters(factor: 4, originalContextLength: 2048)) && yarn.base == 1e6)
        #expect(try PositionalConfiguration(gguf: [:], model: model, source: "m.gguf").scheme == PositionalScheme.none)
        #expect(try PositionalConfiguration(gguf: ["llama.rope.scale_linear": 2], model: model, source: "m.gguf").scheme
                == .linear(factor: 2))
        #expect(try PositionalConfiguration(gguf: ["llama.rope.scaling.type": "linear", "llama.rope.scaling.factor": 8],
                                            model: model, source: "m.gguf").scheme == .linear(factor: 8))
        let factors = (0..<32).map { 1 + Double($0) }
        let llama31 = try PositionalConfiguration(gguf: ["llama.rope.scaling.type": "none"], model: model,
                                                  frequencyFactors: factors, source: "m.gguf")
        let r = try #require(try llama31.makeMethod().inference(contextLength: 100_000))
        let plain = RopeFrequencies.standard(base: 10000, dimension: 64)
        #expect(r.exactFrequencies == zip(plain, factors).map { $0 / $1 } && r.attentionFactor == 1)

        for (metadata, message) in [
            (["llama.rope.scaling.type": "longrope"] as [String: RopeMetadataValue], "'llama.rope.scaling.type': unsupported rope scaling type \"longrope\""),
            (["llama.rope.scaling.type": 2], "'llama.rope.scaling.type': expected a string"),
            (["llama.rope.scaling.type": "yarn", "llama.rope.scaling.factor": 0.25], "'llama.rope.scaling.factor': expected a number ≥ 1"),
            (["llama.rope.freq_base": "big"], "'llama.rope.freq_base': expected a number"),
            (["llama.rope.dimension_count": 65], "'llama.rope.dimension_count'"),
            (["llama.rope.scaling.factor": .number(.infinity)], "'llama.rope.scaling.factor': expected a finite number"),
        ] {
            #expect(throws: ConfigurationError.self) { try PositionalConfiguration(gguf: metadata, model: model, source: "m.gguf") }
            do {
                _ = try PositionalConfiguration(gguf: metadata, model: model, source: "m.gguf")
            } catch {
                #expect("\(error)".contains(message), "\(error)")
            }
        }
    }

    static let base = PositionalConfiguration(scheme: .none, base: 10000, rotaryDimension: 64, contextLength: 2048, headCount: 4)

    @Test("command line: llama.cpp flags build the same configuration; other arguments are left in order")
    func commandLine() throws {
        let (yarn, rest) = try Self.base.applyingCommandLine(
            ["-m", "model.gguf", "--rope-scaling", "yarn", "--rope-scale=4", "--yarn-orig-ctx", "2048", "-n", "5"])
        #expect(yarn.scheme == .yarn(YaRNParameters(factor: 4, originalContextLength: 2048)))
        #expect(rest == ["-m", "model.gguf", "-n", "5"])
        let (viaFreqScale, _) = try Self.base.applyingCommandLine(["--rope-scaling", "yarn", "--rope-freq-scale", "0.25"])
        #expect(viaFreqScale == yarn)
        // llama.cpp: a factor without a type scales the model's scheme (none becomes linear).
        #expect(try Self.base.applyingCommandLine(["--rope-scale", "2"]).configuration.scheme == .linear(factor: 2))
        let (tuned, _) = try yarn.applyingCommandLine(["--yarn-beta-fast", "16", "--yarn-beta-slow", "2", "--yarn-ext-factor", "-1",
                                                       "--yarn-attn-factor", "0.5", "--rope-freq-base", "500000"])
        #expect(tuned.scheme == .yarn(YaRNParameters(factor: 4, originalContextLength: 2048, betaFast: 16, betaSlow: 2,
                                                     attentionScale: 0.5)))
        #expect(tuned.base == 500000)
        // Switching type keeps the model's factor when none is given.
        #expect(try yarn.applyingCommandLine(["--rope-scaling", "dynamic"]).configuration.scheme == .dynamic(factor: 4))
        #expect(try yarn.applyingCommandLine(["--rope-scaling", "none"]).configuration.scheme == PositionalScheme.none)
        #expect(try yarn.applyingCommandLine(["--rope-scaling", "alibi"]).configuration.scheme == .alibi)
        let (llama3, _) = try Self.base.applyingCommandLine(["--rope-scaling", "llama3", "--rope-scale", "8", "--yarn-orig-ctx", "1024"])
        #expect(llama3.scheme == .llama3(Llama3Parameters(factor: 8, originalContextLength: 1024)))
        // Everything after "--" is not ours.
        let (_, after) = try Self.base.applyingCommandLine(["x", "--", "--rope-scale", "oops"])
        #expect(after == ["x", "--", "--rope-scale", "oops"])
    }

    @Test("command line: CLEX flags")
    func commandLineCLEX() throws {
        let (c, rest) = try Self.base.applyingCommandLine(
            ["--rope-scaling", "clex", "--clex-max-factor", "64", "--clex-param-factor=2", "--clex-act", "silu", "--clex-dt", "0.05",
             "--clex-continuous", "--clex-hold-at-max", "--clex-log-scale", "prompt.txt"])
        #expect(c.scheme == .clex(CLEXParameters(maxFactor: 64, paramFactor: 2, activation: .silu, timeStep: 0.05,
                                                 logScale: true, continuous: true, holdAtMax: true)))
        #expect(rest == ["prompt.txt"])
        let (off, _) = try c.applyingCommandLine(["--clex-log-scale=false"])
        guard case .clex(let p) = off.scheme else { Issue.record("not clex"); return }
        #expect(!p.logScale && p.holdAtMax && p.maxFactor == 64)
        let (fresh, _) = try Self.base.applyingCommandLine(["--rope-scaling", "clex"])
        #expect(fresh.scheme == .clex(CLEXParameters(maxFactor: 16)))
    }

    @Test("command-line errors name the flag", arguments: [
        (["--rope-scale", "0.5"], "'--rope-scale': expected a number ≥ 1, found 0.5"),
        (["--rope-scale", "inf"], "'--rope-scale': expected a finite number"),
        (["--rope-scale", "four"], "'--rope-scale': expected a number, found \"four\""),
        (["--rope-freq-scale", "0"], "'--rope-freq-scale': expected a number > 0"),
        (["--rope-scale", "4", "--rope-freq-scale", "0.5"], "'--rope-freq-scale': 0.5 contradicts --rope-scale 4.0"),
        (["--rope-scaling", "cubic"], "'--rope-scaling': unknown value \"cubic\""),
        (["--rope-scaling", "yarn"], "'--rope-scale': --rope-scaling yarn needs a factor"),
        (["--rope-scaling", "none", "--rope-scale", "2"], "'--rope-scale': --rope-scaling none takes no factor"),
        (["--rope-scaling", "longrope"], "'--rope-scaling': longrope needs the model's short_factor/long_factor lists"),
        (["--rope-scaling", "yarn", "--rope-scale", "4", "--yarn-beta-fast", "0.5"], "'--yarn-beta-fast': must not be below beta_slow"),
        (["--rope-scaling", "yarn", "--rope-scale", "4", "--yarn-ext-factor", "2"], "'--yarn-ext-factor': expected a number in [0, 1]"),
        (["--yarn-beta-fast", "16"], "'--yarn-beta-fast': applies to yarn, not default"),
        (["--yarn-orig-ctx", "1024"], "'--yarn-orig-ctx': applies to yarn, llama3 and longrope"),
        (["--rope-scaling", "clex", "--clex-dt", "-0.01"], "'--clex-dt': expected a number > 0, found -0.01"),
        (["--rope-scaling", "clex", "--clex-act", "relu"], "'--clex-act': expected tanh or silu, found \"relu\""),
        (["--rope-scaling", "clex", "--clex-max-factor", "0"], "'--clex-max-factor': expected a positive integer, found 0"),
        (["--rope-scaling", "clex", "--clex-max-factor", "2.5"], "'--clex-max-factor': expected an integer, found \"2.5\""),
        (["--rope-scaling", "clex", "--rope-scale", "2"], "'--rope-scale': the clex method takes no factor"),
        (["--clex-hold-at-max"], "'--clex-hold-at-max': applies to clex, not default"),
        (["--rope-scaling", "clex", "--clex-log-scale=maybe"], "'--clex-log-scale': expected true or false"),
        (["--rope-freq-base"], "'--rope-freq-base': expects a value"),
        (["--rope-freq-base", "0.5"], "'--rope-freq-base': expected a number > 1"),
    ])
    func commandLineErrors(arguments: [String], message: String) {
        do {
            _ = try Self.base.applyingCommandLine(arguments)
            Issue.record("accepted: \(arguments)")
        } catch {
            #expect("\(error)".hasPrefix("command line: "), "\(error)")
            #expect("\(error)".contains(message), "\(error)")
        }
    }
}
