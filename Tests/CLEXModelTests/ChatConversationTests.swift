import CLEXModel
import CLEXTensor
import CLEXTokenizer
import Foundation
import Testing

/// A two-turn conversation keeps its KV cache across turns: the second reply must be the one a
/// fresh session gives for the whole transcript read at once.
@Suite("chat conversation",
       .enabled(if: Assets.haveSmolLM2, "needs cache/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf: run scripts/fetch-assets"))
struct ChatConversationTests {
    @Test("turn two, fed incrementally, equals the transcript read from scratch; reset starts over")
    func twoTurns() throws {
        let loaded = try ModelLoader.load(Assets.smolLM2)
        let tokenizer = try #require(loaded.tokenizer)
        let model = loaded.model
        func generator() throws -> Generator {
            Generator(session: try InferenceSession(model: model, capacity: 256, rotary: InferenceSession.defaultRotary(model.configuration)),
                      tokenizer: tokenizer, sampler: Sampler())
        }
        let system = "You are a helpful assistant."
        var chat = ChatConversation(generator: try generator(), system: system)
        // A token limit that cuts the first reply, so its last token is carried into turn two.
        let first = try chat.reply(to: "Name three colours.", maxTokens: 6)
        #expect(first.stopReason == .maxTokens && first.tokens.count == 6)
        let second = try chat.reply(to: "And three animals?", maxTokens: 12)

        let opening = ChatTemplate.chatML([.init(role: "system", content: system), .init(role: "user", content: "Name three colours.")])
        let turnTwo = "<|im_end|>\n" + ChatTemplate.chatML([.init(role: "user", content: "And three animals?")])
        let transcript = tokenizer.encode(opening, addSpecial: true) + first.tokens + tokenizer.encode(turnTwo, addSpecial: false)
        var fresh = try generator()
        let expected = try fresh.generate(prompt: transcript, maxTokens: 12)
        #expect(second.tokens == expected.tokens, "\(second.text) vs \(expected.text)")
        #expect(chat.contextTokens == transcript.count + second.tokens.count - (second.stopReason == .endOfSequence ? 0 : 1))

        chat.reset()
        #expect(chat.contextTokens == 0)
        let again = try chat.reply(to: "Name three colours.", maxTokens: 6)
        #expect(again.tokens == first.tokens)
    }
}
