/// The ChatML template of instruct models such as SmolLM2-Instruct:
/// `<|im_start|>role\ncontent<|im_end|>\n` per message, then `<|im_start|>assistant\n` to
/// open the reply.
public enum ChatTemplate {
    /// One turn of a conversation.
    public struct Message: Sendable, Equatable {
        public var role: String
        public var content: String
        public init(role: String, content: String) {
            self.role = role
            self.content = content
        }
    }

    /// The prompt text for `messages`, ending with the opening of the assistant's turn.
    public static func chatML(_ messages: [Message], openAssistantTurn: Bool = true) -> String {
        var text = ""
        for m in messages { text += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n" }
        if openAssistantTurn { text += "<|im_start|>assistant\n" }
        return text
    }
}
