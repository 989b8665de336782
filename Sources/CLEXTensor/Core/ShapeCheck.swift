/// Shape agreement checks shared by the ops. Each returns nil when the shapes agree, else the
/// message an op stops with (naming both shapes); tests call them directly to check the wording.
public enum ShapeCheck {
    /// Same shape required.
    public static func same(_ op: String, _ a: [Int], _ b: [Int]) -> String? {
        a == b ? nil : "\(op): shapes \(a) and \(b) must be equal"
    }

    /// `b` must equal a trailing part of `a` (broadcast over leading dimensions).
    public static func suffix(_ op: String, _ a: [Int], _ b: [Int]) -> String? {
        (b.count <= a.count && Array(a.suffix(b.count)) == b) ? nil
            : "\(op): shape \(b) must equal the trailing dimensions of shape \(a)"
    }

    /// Stops the program with `message` when it is non-nil.
    @inlinable
    public static func require(_ message: @autoclosure () -> String?) {
        if let m = message() { fatalError(m) }
    }
}

/// Stops the program with `message` when `condition` is false: the engine's precondition for
/// programmer errors. Unlike `precondition`, it keeps its message in optimised builds (`-O`
/// drops precondition messages), so a shape mismatch in a release binary still says what
/// disagreed.
@inlinable
public func requireArgument(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError(message()) }
}
