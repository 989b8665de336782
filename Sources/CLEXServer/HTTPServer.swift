import CMicroHTTPD
import Foundation
import Glibc

/// An HTTP/1.1 server on GNU libmicrohttpd: the library parses requests and writes responses
/// (chunked when streamed); this type gathers each request's headers and body and hands the
/// whole request to `handler` on the connection's own thread (one per connection, so a handler
/// may wait for a model without holding up other connections).
///
/// libmicrohttpd rather than libevent's evhttp: evhttp runs every connection on one event loop,
/// so a waiting handler or a streamed reply must be written as callbacks on that loop, while
/// libmicrohttpd's thread-per-connection mode lets a handler block and streams through a pull
/// callback on the connection's thread — which is also where a vanished client is noticed.
public final class HTTPServer: @unchecked Sendable {
    /// A request as the handler sees it.
    public struct Request: Sendable {
        public let method: String
        /// The path without the query string.
        public let path: String
        /// Header values by lower-cased name.
        public let headers: [String: String]
        public let body: [UInt8]
        /// The body went past `bodyLimit` (and was not kept).
        public let bodyTooLarge: Bool
        /// The connection's socket, to notice a client that has gone (`clientGone`).
        let socket: Int32

        /// A request not read from a connection (tests, fuzzing): its client never goes away.
        public init(method: String, path: String, headers: [String: String] = [:], body: [UInt8], bodyTooLarge: Bool = false) {
            self.init(method: method, path: path, headers: headers, body: body, bodyTooLarge: bodyTooLarge, socket: -1)
        }

        init(method: String, path: String, headers: [String: String], body: [UInt8], bodyTooLarge: Bool, socket: Int32) {
            (self.method, self.path, self.headers, self.body, self.bodyTooLarge, self.socket) = (method, path, headers, body, bodyTooLarge, socket)
        }

        /// Whether the client has closed the connection (checked without blocking).
        public var clientGone: Bool { HTTPServer.peerClosed(socket) }
    }

    /// What the handler answers.
    public enum Response: Sendable {
        /// A complete body.
        case full(status: Int, contentType: String, body: [UInt8], headers: [String: String])
        /// A body written as it is produced (server-sent events).
        case stream(status: Int, contentType: String, stream: ResponseStream, headers: [String: String])
    }

    /// Bytes of a request body kept at most; a larger body gets `Request.bodyTooLarge`.
    public let bodyLimit: Int
    /// The default `bodyLimit`: 8 MiB (a document of a million tokens or so).
    public static let defaultBodyLimit = 8 << 20
    private let handler: @Sendable (Request) -> Response
    private var daemon: OpaquePointer?
    /// The port listened on (the one chosen by the system when 0 was asked).
    public private(set) var port = 0

    /// Where to listen: a numeric IPv4 or IPv6 address and a port, checked before anything
    /// starts (so a command can refuse a bad `--host` before loading a model).
    public struct Address: Sendable {
        public let host: String
        public let port: Int
        let ipv6: Bool

        /// Throws when `host` is not a numeric address or `port` is outside 0 … 65535.
        public init(host: String, port: Int) throws {
            guard (0...65535).contains(port) else { throw ServerError("--port: expected 0 … 65535, got \(port)") }
            var v4 = in_addr(), v6 = in6_addr()
            if inet_pton(AF_INET, host, &v4) == 1 {
                ipv6 = false
            } else if inet_pton(AF_INET6, host, &v6) == 1 {
                ipv6 = true
            } else {
                throw ServerError("--host: expected a numeric IPv4 or IPv6 address (e.g. 127.0.0.1, 0.0.0.0, ::1), got '\(host)'")
            }
            (self.host, self.port) = (host, port)
        }

        /// Calls `body` with the address as a `sockaddr`.
        func withSocketAddress<R>(_ body: (UnsafePointer<sockaddr>) -> R) -> R {
            if ipv6 {
                var a = sockaddr_in6()
                a.sin6_family = sa_family_t(AF_INET6)
                a.sin6_port = in_port_t(UInt16(port).bigEndian)
                _ = inet_pton(AF_INET6, host, &a.sin6_addr)
                return withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1, body) }
            }
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = in_port_t(UInt16(port).bigEndian)
            _ = inet_pton(AF_INET, host, &a.sin_addr)
            return withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1, body) }
        }
    }

    /// Starts listening at `address` (port 0 lets the system choose). Throws when the port
    /// cannot be bound.
    public init(address: Address, bodyLimit: Int = HTTPServer.defaultBodyLimit, connectionLimit: Int = 256,
                handler: @escaping @Sendable (Request) -> Response) throws {
        self.bodyLimit = bodyLimit
        self.handler = handler
        let me = Unmanaged.passUnretained(self).toOpaque()
        guard let started = address.withSocketAddress({ Self.start($0, me, connectionLimit, address.ipv6) }) else {
            throw ServerError("cannot listen on \(address.host):\(address.port) (the port is in use, or the address is not this machine's)")
        }
        daemon = started
        port = Int(clex_mhd_port(started))
    }

    private static func start(_ address: UnsafePointer<sockaddr>, _ me: UnsafeMutableRawPointer, _ limit: Int, _ ipv6: Bool) -> OpaquePointer? {
        clex_mhd_start(address, { cls, connection, url, method, _, upload, size, state in
            Unmanaged<HTTPServer>.fromOpaque(cls!).takeUnretainedValue()
                .access(connection!, url.map { String(cString: $0) } ?? "/", method.map { String(cString: $0) } ?? "", upload, size!, state!)
        }, me, { _, _, state, _ in
            guard let state, let pending = state.pointee else { return }
            Unmanaged<PendingRequest>.fromOpaque(pending).release()
            state.pointee = nil
        }, nil, 600, UInt32(limit), ipv6 ? 1 : 0)
    }

    /// Stops listening and closes every connection (waiting for their handlers to return).
    public func stop() {
        if let daemon { MHD_stop_daemon(daemon) }
        daemon = nil
    }

    deinit { stop() }

    /// A request being received: its body so far.
    private final class PendingRequest {
        var body: [UInt8] = []
        var tooLarge = false
    }

    /// libmicrohttpd's access handler: first call (headers read) makes the pending request, the
    /// next ones bring the body, the last (no more data) answers.
    private func access(_ connection: OpaquePointer, _ url: String, _ method: String, _ upload: UnsafePointer<CChar>?,
                        _ size: UnsafeMutablePointer<Int>, _ state: UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> MHD_Result {
        guard let opaque = state.pointee else {
            state.pointee = Unmanaged.passRetained(PendingRequest()).toOpaque()
            return .YES
        }
        let pending = Unmanaged<PendingRequest>.fromOpaque(opaque).takeUnretainedValue()
        if size.pointee > 0 {
            if let upload, !pending.tooLarge {
                if pending.body.count + size.pointee > bodyLimit {
                    pending.tooLarge = true
                    pending.body = []
                } else {
                    upload.withMemoryRebound(to: UInt8.self, capacity: size.pointee) {
                        pending.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: size.pointee))
                    }
                }
            }
            size.pointee = 0
            return .YES
        }
        let request = Request(method: method, path: String(url.prefix { $0 != "?" }), headers: Self.headers(connection),
                              body: pending.body, bodyTooLarge: pending.tooLarge, socket: clex_mhd_connection_fd(connection))
        return queue(handler(request), on: connection)
    }

    private static func headers(_ connection: OpaquePointer) -> [String: String] {
        final class Box { var headers: [String: String] = [:] }
        let box = Box()
        _ = MHD_get_connection_values(connection, .HEADER_KIND, { cls, _, key, value in
            guard let cls, let key else { return .YES }
            let box = Unmanaged<Box>.fromOpaque(cls).takeUnretainedValue()
            box.headers[String(cString: key).lowercased()] = value.map { String(cString: $0) } ?? ""
            return .YES
        }, Unmanaged.passUnretained(box).toOpaque())
        return box.headers
    }

    private func queue(_ response: Response, on connection: OpaquePointer) -> MHD_Result {
        let made: OpaquePointer?
        let status: Int, contentType: String, headers: [String: String]
        switch response {
        case let .full(s, type, body, extra):
            (status, contentType, headers) = (s, type, extra)
            made = body.withUnsafeBytes {
                MHD_create_response_from_buffer(body.count, UnsafeMutableRawPointer(mutating: $0.baseAddress), .RESPMEM_MUST_COPY)
            }
        case let .stream(s, type, stream, extra):
            (status, contentType, headers) = (s, type, extra)
            stream.socket = clex_mhd_connection_fd(connection)
            made = MHD_create_response_from_callback(UInt64.max, 4096, { cls, _, buffer, max in
                Unmanaged<ResponseStream>.fromOpaque(cls!).takeUnretainedValue().read(into: buffer!, max: max)
            }, Unmanaged.passRetained(stream).toOpaque(), { cls in
                let stream = Unmanaged<ResponseStream>.fromOpaque(cls!).takeRetainedValue()
                stream.cancel()
            })
        }
        guard let made else { return .NO }
        defer { MHD_destroy_response(made) }
        _ = MHD_add_response_header(made, "Content-Type", contentType)
        for (name, value) in headers { _ = MHD_add_response_header(made, name, value) }
        return MHD_queue_response(connection, UInt32(status), made)
    }

    /// Whether the peer of `socket` has closed or reset the connection (POLLRDHUP), without
    /// blocking or consuming anything it sent.
    static func peerClosed(_ socket: Int32) -> Bool {
        guard socket >= 0 else { return false }
        let hangUp: Int16 = 0x2000  // POLLRDHUP
        var entry = pollfd(fd: socket, events: hangUp, revents: 0)
        guard poll(&entry, 1, 0) > 0 else { return false }
        return entry.revents & (hangUp | Int16(POLLHUP) | Int16(POLLERR) | Int16(POLLNVAL)) != 0
    }
}

/// A problem starting the server (address, port), for the command line.
public struct ServerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
