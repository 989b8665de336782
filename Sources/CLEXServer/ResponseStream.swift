import Foundation

/// The body of a streamed response, between the thread producing it (the scheduler, which never
/// waits on a client) and the connection's thread writing it to the socket. Writes append to an
/// unbounded buffer, so a slow reader holds up only its own stream. When the client goes away
/// — noticed while the writer waits for more, or by libmicrohttpd when a write fails — the
/// stream is cancelled once and `onCancel` runs (freeing the request's slot).
public final class ResponseStream: @unchecked Sendable {
    private let condition = NSCondition()
    private var buffer: [UInt8] = []
    private var sent = 0
    private var closed = false
    private var cancelled = false
    private var cancelHandler: (@Sendable () -> Void)?
    /// The connection's socket, watched for a hang-up while there is nothing to send.
    var socket: Int32 = -1

    public init() {}

    /// Runs `handler` when the client goes away before the stream is closed (at once if it has).
    public func onCancel(_ handler: @escaping @Sendable () -> Void) {
        condition.lock()
        let now = cancelled
        if !now { cancelHandler = handler }
        condition.unlock()
        if now { handler() }
    }

    /// Appends `bytes` to the body.
    public func write(_ bytes: [UInt8]) {
        condition.lock()
        if !closed && !cancelled { buffer += bytes }
        condition.signal()
        condition.unlock()
    }

    /// Ends the body after what was written.
    public func close() {
        condition.lock()
        closed = true
        cancelHandler = nil
        condition.signal()
        condition.unlock()
    }

    /// Whether the client went away before the end.
    public var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }

    /// Marks the stream abandoned by the client and runs the cancel handler once.
    public func cancel() {
        condition.lock()
        let handler = closed || cancelled ? nil : cancelHandler
        if !closed { cancelled = true }
        cancelHandler = nil
        condition.signal()
        condition.unlock()
        handler?()
    }

    /// libmicrohttpd's pull: copies up to `max` pending bytes to `destination`, waiting for some;
    /// -1 at the end of the body, -2 (an error: the connection is closed) when the client went
    /// away.
    func read(into destination: UnsafeMutablePointer<CChar>, max: Int) -> Int {
        condition.lock()
        while sent == buffer.count && !closed && !cancelled {
            if !condition.wait(until: Date(timeIntervalSinceNow: 0.1)) && HTTPServer.peerClosed(socket) {
                condition.unlock()
                cancel()
                return -2
            }
        }
        defer { condition.unlock() }
        if cancelled { return -2 }
        if sent == buffer.count { return -1 }
        let n = min(max, buffer.count - sent)
        buffer.withUnsafeBytes { UnsafeMutableRawPointer(destination).copyMemory(from: $0.baseAddress! + sent, byteCount: n) }
        sent += n
        if sent == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            sent = 0
        }
        return n
    }
}
