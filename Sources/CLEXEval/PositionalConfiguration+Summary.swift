import CLEXModel

extension PositionalConfiguration {
    /// A short name for tables and legends: the scheme and its parameters, e.g. "none",
    /// "linear ×4", "yarn ×4 (L0 8192)", "dynamic ×2 (L 8192)", "clex T=16 (L 2048)"; the base
    /// is added when it differs from `referenceBase`.
    public func summary(referenceBase: Double? = nil) -> String {
        func factor(_ s: Double) -> String { s == s.rounded() && abs(s) < 1e15 ? String(Int(s)) : String(s) }
        var text: String
        switch scheme {
        case .none: text = "none"
        case .linear(let s): text = "linear ×\(factor(s))"
        case .ntk(let s): text = "ntk ×\(factor(s))"
        case .dynamic(let s): text = "dynamic ×\(factor(s)) (L \(contextLength))"
        case .yarn(let y): text = "yarn ×\(factor(y.factor)) (L0 \(y.originalContextLength))"
        case .longRoPE(let p): text = "longrope ×\(factor(p.factor)) (L0 \(p.originalContextLength))"
        case .llama3(let p): text = "llama3 ×\(factor(p.factor)) (L0 \(p.originalContextLength))"
        case .alibi: text = "alibi"
        case .clex(let p): text = "clex T=\(p.maxFactor) (L \(contextLength))"
        }
        if let referenceBase, base != referenceBase { text += " b=\(factor(base))" }
        return text
    }
}
