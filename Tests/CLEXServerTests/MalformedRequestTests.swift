import CLEXFuzz
import CLEXTensor
import Foundation
import Testing

/// Mutated requests — JSON bodies, and now and then the request line and headers too — sent to a
/// real server over sockets. Every answer to a well-formed head is 200 or an OpenAI-shaped JSON
/// error with a 4xx/503 status; a mangled head may get libmicrohttpd's own 4xx/5xx page or a
/// closed connection; the server answers `/health` throughout and after.
@Suite("clex serve: malformed requests", .serialized)
struct MalformedRequestTests {
    static let bodies = [
        #"{"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3, "temperature": 0.5, "stop": ["x"], "seed": 2}"#,
        #"{"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": [{"type": "text", "text": "Q"}]}], "stream": true, "max_tokens": 2}"#,
        #"{"prompt": "Once", "max_tokens": 3, "top_k": 3, "top_p": 0.5}"#,
        #"{"content": "abc", "tokens": [97, 98]}"#,
    ]
    static let paths = ["/v1/chat/completions", "/v1/completions", "/tokenize", "/detokenize", "/v1/models", "/health", "/x"]
    /// Extra headers: harmless ones, and ones that make the HTTP layer refuse or wait (`risky`).
    static let headers = ["Authorization: Bearer k", "Content-Type: text/plain", "Accept: */*", "User-Agent: \u{e9}"]
    static let riskyHeaders = ["Transfer-Encoding: chunked", "Expect: 100-continue", "Content-Length: 99999999999", "X: \u{1}\u{7f}",
                               "Content-Length: -1", ": no name"]

    @Test("2,000 mutated requests: no crash, statuses as expected, server still up")
    func fuzz() throws {
        let server = try TestServer(slots: 2, capacity: 48)
        var mutator = FuzzMutator(seed: 7, maximumSize: 4096, dictionary: FuzzTarget.serveRequest.dictionary)
        var g = SeededGenerator(seed: 11)
        var counts: [Int: Int] = [:]
        for i in 0..<2000 {
            let seed = Array(Self.bodies[i % Self.bodies.count].utf8)
            let body = i % 10 == 0 ? seed : mutator.mutate(seed, format: .json, donor: Array(Self.bodies.randomElement(using: &g)!.utf8))
            let path = Self.paths[Int.random(in: 0..<Self.paths.count, using: &g)]
            let method = ["POST", "POST", "POST", "GET", "PUT", "DELETE"].randomElement(using: &g)!
            var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            var risky = i % 4 == 3
            switch Int.random(in: 0..<4, using: &g) {
            case 0: head += Self.headers.randomElement(using: &g)! + "\r\n"
            case 1:
                head += Self.riskyHeaders.randomElement(using: &g)! + "\r\n"
                risky = true
            default: break
            }
            head += "Content-Length: \(body.count)\r\n\r\n"
            var raw = Array(head.utf8)
            if i % 4 == 3 { mutator.mutateBytes(&raw, donor: Array("GET / HTTP/1.0\r\nX: y\r\n\r\n".utf8)) }
            let reply = server.send(raw: raw + body, halfClose: risky)
            guard let reply else {
                #expect(risky, "no answer to a well-formed request: \(head)")
                continue
            }
            counts[reply.status, default: 0] += 1
            if risky {
                #expect(reply.status < 600 && reply.status != 500, "\(reply.status) for \(String(decoding: raw, as: UTF8.self))")
                continue
            }
            #expect([200, 400, 404, 405, 413, 503].contains(reply.status), "\(reply.status) for \(head)")
            if reply.status >= 400 {
                let error = reply.json?["error"] as? [String: Any]
                #expect(error?["message"] is String && error?["code"] is String, "\(reply.status): \(reply.text)")
            }
        }
        #expect(counts[200, default: 0] > 50 && counts[400, default: 0] > 50, "\(counts)")
        #expect(server.request("GET", "/health")?.status == 200)
    }
}
