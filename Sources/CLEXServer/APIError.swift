import CLEXModel
import Foundation

/// An error answered in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, with
/// its HTTP status. Every refusal of the server is one of these: a request never traps it.
public struct APIError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The HTTP status (400, 401, 404, 405, 413, 500, 503).
    public let status: Int
    /// What was wrong and, for a bad field, what is accepted.
    public let message: String
    /// OpenAI's error type (`invalid_request_error`, `authentication_error`, …).
    public let type: String
    /// The request field at fault, when one is.
    public let param: String?
    /// A short machine-readable code (`invalid_value`, `context_length_exceeded`, …).
    public let code: String
    /// Extra response headers (`Retry-After`, `Allow`).
    public let headers: [String: String]

    public init(status: Int, message: String, type: String, param: String? = nil, code: String, headers: [String: String] = [:]) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers
    }

    public var description: String { "\(status) \(code): \(message)" }

    /// 400: a body or field the server cannot use; `param` names the field.
    public static func invalid(_ param: String?, _ message: String) -> APIError {
        APIError(status: 400, message: message, type: "invalid_request_error", param: param, code: "invalid_value")
    }

    /// 400 for a field that fails its check (`ConfigurationError` from `JSONFields`).
    public static func invalid(_ error: ConfigurationError) -> APIError {
        invalid(error.key == "(document)" ? nil : error.key,
                error.key == "(document)" ? "the request body: \(error.problem)" : "'\(error.key)': \(error.problem)")
    }

    /// 413: the prompt does not leave room for a reply in a slot's context.
    public static func contextExceeded(promptTokens: Int, context: Int) -> APIError {
        APIError(status: 413, message: "the prompt takes \(promptTokens) tokens, which leaves no room for a reply in the "
                 + "context of \(context) tokens per slot (clex serve --ctx-size); shorten the prompt or restart the server "
                 + "with a larger --ctx-size", type: "invalid_request_error", param: "messages", code: "context_length_exceeded")
    }

    /// 413: a body larger than the server reads.
    public static func bodyTooLarge(limit: Int) -> APIError {
        APIError(status: 413, message: "the request body exceeds \(limit) bytes", type: "invalid_request_error",
                 code: "request_too_large")
    }

    /// 401: no or the wrong `Authorization: Bearer KEY`.
    public static let unauthorized = APIError(status: 401, message: "missing or invalid API key: send 'Authorization: Bearer KEY' with "
                                       + "the key given to clex serve --api-key", type: "authentication_error",
                                       code: "invalid_api_key")

    /// 404: no such endpoint; lists those there are.
    public static func notFound(_ path: String) -> APIError {
        APIError(status: 404, message: "no endpoint \(path); this server has GET /, /health, /v1/models and POST "
                 + "/v1/chat/completions, /v1/completions, /tokenize, /detokenize", type: "invalid_request_error",
                 code: "not_found")
    }

    /// 405: the endpoint exists but not for this method.
    public static func methodNotAllowed(_ method: String, _ path: String, allowed: String) -> APIError {
        APIError(status: 405, message: "\(path) does not accept \(method); use \(allowed)", type: "invalid_request_error",
                 code: "method_not_allowed", headers: ["Allow": allowed])
    }

    /// 503: every slot is busy and the queue is full.
    public static func overloaded(queue: Int) -> APIError {
        APIError(status: 503, message: "the server is busy: every slot is generating and \(queue) requests are waiting; "
                 + "retry shortly", type: "server_error", code: "server_overloaded", headers: ["Retry-After": "1"])
    }

    /// 500: the model failed while generating (the slot is freed).
    public static func generationFailed(_ error: any Error) -> APIError {
        APIError(status: 500, message: "generation failed: \(error)", type: "server_error", code: "generation_failed")
    }

    /// The response body.
    public var body: [UInt8] {
        let object: [String: Any] = ["error": ["message": message, "type": type, "param": param.map { $0 as Any } ?? NSNull(), "code": code]]
        return [UInt8]((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }
}
