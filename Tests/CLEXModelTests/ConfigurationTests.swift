import CLEXModel
import Foundation
import Testing

@Suite("LLaMA configuration") struct ConfigurationTests {
    static let smol = """
    {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 49152, "hidden_size": 576,
     "intermediate_size": 1536, "num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3,
     "hidden_act": "silu", "max_position_embeddings": 8192, "rms_norm_eps": 1e-05, "rope_theta": 100000,
     "tie_word_embeddings": true, "bos_token_id": 1, "eos_token_id": 2, "rope_scaling": null,
     "transformers_version": "4.42.3", "pretraining_tp": 1, "some_future_key": 3}
    """

    @Test("an HF config.json reads every LlamaConfig field")
    func reads() throws {
        let c = try LlamaConfiguration(hfConfig: Data(Self.smol.utf8), source: "config.json")
        #expect(c.vocabularySize == 49152 && c.hiddenSize == 576 && c.intermediateSize == 1536)
        #expect(c.layerCount == 30 && c.headCount == 9 && c.keyValueHeadCount == 3 && c.headDimension == 64)
        #expect(c.ropeTheta == 100000 && c.maxPositionEmbeddings == 8192 && c.tieWordEmbeddings)
        #expect(c.rmsNormEpsilon == 1e-5 && c.bosTokenID == 1 && c.eosTokenIDs == [2] && c.ropeScalingJSON == nil)
        #expect(c.parameterCount == 134_515_008)
        #expect(LlamaConfiguration.unknownKeys(hfConfig: Data(Self.smol.utf8)) == ["some_future_key"])
    }

    @Test("written config.json reads back equal")
    func roundTrip() throws {
        let c = try LlamaConfiguration(hfConfig: Data(Self.smol.utf8), source: "config.json")
        let again = try LlamaConfiguration(hfConfig: try c.hfConfigJSON(), source: "written")
        #expect(again == c)
    }

    @Test("bad values are refused with the key and the problem", arguments: [
        ("\"num_attention_heads\": 9", "\"num_attention_heads\": \"nine\"", "'num_attention_heads': expected an integer, found a string"),
        ("\"num_key_value_heads\": 3", "\"num_key_value_heads\": 4", "'num_key_value_heads': 4 must divide num_attention_heads (9)"),
        ("\"vocab_size\": 49152,", "", "'vocab_size': required key is missing"),
        ("\"hidden_act\": \"silu\"", "\"hidden_act\": \"gelu\"", "'hidden_act': \"gelu\" is not supported for llama (supported: \"silu\" (SwiGLU))"),
        ("\"rms_norm_eps\": 1e-05", "\"rms_norm_eps\": -1", "'rms_norm_eps': expected a positive number"),
        ("\"tie_word_embeddings\": true", "\"tie_word_embeddings\": 1", "'tie_word_embeddings': expected true or false"),
        ("\"model_type\": \"llama\"", "\"model_type\": \"gpt2\"", "'model_type': unsupported model type \"gpt2\" (supported: \"llama\", \"mistral\", \"qwen2\", \"mixtral\", \"phi\", \"gpt_neox\")"),
    ])
    func refuses(from: String, to: String, message: String) {
        let text = Self.smol.replacingOccurrences(of: from, with: to)
        #expect(text != Self.smol)
        do {
            _ = try LlamaConfiguration(hfConfig: Data(text.utf8), source: "config.json")
            Issue.record("accepted: \(to)")
        } catch {
            #expect("\(error)".contains("config.json: "), "\(error)")
            #expect("\(error)".contains(message), "\(error)")
        }
    }
}
