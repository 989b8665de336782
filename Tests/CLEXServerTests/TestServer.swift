import CLEXModel
import CLEXServer
import CLEXTensor
import CLEXTokenizer
import Foundation
import Glibc

/// A real `clex serve` stack in this process — HTTP server on a free port of 127.0.0.1,
/// scheduler, slots — over a tiny random model with the byte tokenizer, and a raw-socket client
/// (so tests can send malformed requests and hang up mid-reply).
final class TestServer {
    let scheduler: SlotScheduler
    let server: HTTPServer
    var port: Int { server.port }

    /// Two layers of width 32 over the byte vocabulary: fast, and its greedy replies are fixed.
    static let model: LlamaModel = {
        let c = LlamaConfiguration(vocabularySize: 257, hiddenSize: 32, intermediateSize: 48, layerCount: 2, headCount: 2,
                                   keyValueHeadCount: 1, maxPositionEmbeddings: 256)
        return LlamaModel(configuration: c, parameters: LlamaParameters(randomFor: c, seed: 5))
    }()

    /// A server of `slots` slots of `capacity` tokens over `model` (default: `TestServer.model`
    /// with plain RoPE) under `positional`.
    init(slots: Int = 2, capacity: Int = 256, queue: Int = 8, apiKey: String? = nil, model: LlamaModel = TestServer.model,
         positional: (any PositionalMethod)? = nil) throws {
        let method = try positional ?? PositionalConfiguration(model: model.configuration).makeMethod()
        let sessions = try (0..<slots).map { _ in
            try InferenceSession(model: model, capacity: capacity, positional: method, precision: .float32, cacheTypes: .f32)
        }
        scheduler = SlotScheduler(sessions: sessions, tokenizer: ByteTokenizer(), queueLimit: queue)
        let service = OpenAIService(scheduler: scheduler, tokenizer: ByteTokenizer(), defaults: Sampler(), modelName: "tiny",
                                    apiKey: apiKey)
        scheduler.start()
        server = try HTTPServer(address: HTTPServer.Address(host: "127.0.0.1", port: 0)) { service.handle($0) }
    }

    deinit {
        server.stop()
        scheduler.stop()
    }

    /// A response as read off the socket (chunked bodies joined).
    struct Reply {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] }
        /// The `data:` payloads of a server-sent-event body.
        var events: [String] {
            text.components(separatedBy: "\n\n").compactMap { $0.hasPrefix("data: ") ? String($0.dropFirst(6)) : nil }
        }
    }

    /// Opens a connection to the server.
    func connect() -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        precondition(connected == 0, "cannot connect to the test server")
        return fd
    }

    /// Sends `raw` bytes as they are and reads the whole answer (the request should ask for
    /// `Connection: close`); `halfClose` then ends the sending side, so a server waiting for more
    /// of a mangled request sees its end (it may then take the client as gone).
    func send(raw: [UInt8], halfClose: Bool = false) -> Reply? {
        let fd = connect()
        defer { close(fd) }
        _ = raw.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, raw.count, Int32(MSG_NOSIGNAL)) }
        if halfClose { shutdown(fd, Int32(SHUT_WR)) }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            data += buffer[0..<n]
        }
        return Self.parse(data)
    }

    /// A request with a well-formed head.
    func request(_ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:]) -> Reply? {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        return send(raw: Array((head + "\r\n" + (body ?? "")).utf8))
    }

    static func parse(_ data: [UInt8]) -> Reply? {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = (0...max(0, data.count - 4)).first(where: { data.count >= 4 && Array(data[$0..<($0 + 4)]) == separator }) else {
            return nil
        }
        let lines = String(decoding: data[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count >= 2, lines[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(data[(end + 4)...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" {
            var joined: [UInt8] = []
            var i = 0
            while let lineEnd = (i..<max(i, body.count - 1)).first(where: { body[$0] == 13 && body[$0 + 1] == 10 }),
                  let size = Int(String(decoding: body[i..<lineEnd], as: UTF8.self).split(separator: ";")[0], radix: 16), size > 0,
                  lineEnd + 2 + size <= body.count {
                joined += body[(lineEnd + 2)..<(lineEnd + 2 + size)]
                i = lineEnd + 2 + size + 2
            }
            body = joined
        }
        return Reply(status: status, headers: headers, body: body)
    }
}
