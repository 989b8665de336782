import Foundation

/// Command-line overrides of the positional method, in llama.cpp's vocabulary (`common/arg.cpp`:
/// --rope-scaling, --rope-scale, --rope-freq-base, --rope-freq-scale, --yarn-orig-ctx,
/// --yarn-ext-factor, --yarn-attn-factor, --yarn-beta-fast, --yarn-beta-slow) plus this tool's
/// types (dynamic, ntk, longrope, llama3, alibi, clex) and CLEX's flags.
///
/// | flag | meaning |
/// |---|---|
/// | `--rope-scaling T` | none, linear, yarn, dynamic, ntk, longrope, llama3, alibi, clex |
/// | `--rope-scale S` | the scheme's factor s (none + S becomes linear, as in llama.cpp) |
/// | `--rope-freq-scale F` | s = 1/F |
/// | `--rope-freq-base B` | b (0: keep the model's, as llama.cpp) |
/// | `--yarn-orig-ctx N` | L0 of yarn/llama3/longrope (0: keep) |
/// | `--yarn-ext-factor E` | YaRN ramp weight in [0, 1] (negative: default 1) |
/// | `--yarn-attn-factor A` | multiplies YaRN's attention factor (llama.cpp attn_factor) |
/// | `--yarn-beta-fast X`, `--yarn-beta-slow X` | YaRN's β (defaults 32, 1) |
/// | `--clex-max-factor T`, `--clex-param-factor λ`, `--clex-act tanh|silu`, `--clex-dt h` | CLEX |
/// | `--clex-continuous` | t = max(1, N/L), not rounded up |
/// | `--clex-hold-at-max` | continue at t = T past T·L tokens instead of refusing |
/// | `--clex-log-scale` | queries × ln N / ln L |
///
/// Values follow the flag (`--rope-scale 4`) or an equals sign (`--rope-scale=4`); boolean flags
/// take no value or `=true`/`=false`. When a flag is repeated the last one wins. Switching to a
/// scheme that needs a factor carries the model's factor over unless `--rope-scale` gives one;
/// switching to CLEX from another scheme starts from T = 16, λ = 1, tanh, h = 0.01; longrope
/// needs the model's own short/long factor lists.
extension PositionalConfiguration {
    /// Flags that take a value.
    public static let commandLineValueFlags: Set<String> = [
        "--rope-scaling", "--rope-scale", "--rope-freq-base", "--rope-freq-scale", "--yarn-orig-ctx",
        "--yarn-ext-factor", "--yarn-attn-factor", "--yarn-beta-fast", "--yarn-beta-slow",
        "--clex-max-factor", "--clex-param-factor", "--clex-act", "--clex-dt",
    ]
    /// Flags that switch something on.
    public static let commandLineSwitches: Set<String> = ["--clex-continuous", "--clex-hold-at-max", "--clex-log-scale"]

    /// This configuration with the positional flags of `arguments` applied, and the arguments it
    /// did not consume, in their order (everything from a "--" on is left alone). Errors are
    /// `ConfigurationError`s from source "command line" naming the flag.
    public func applyingCommandLine(_ arguments: [String]) throws -> (configuration: PositionalConfiguration, remaining: [String]) {
        func fail(_ flag: String, _ problem: String) -> ConfigurationError {
            ConfigurationError(source: "command line", key: flag, problem: problem)
        }
        var values: [String: String] = [:]
        var switches: [String: Bool] = [:]
        var remaining: [String] = []
        var i = 0
        while i < arguments.count {
            let argument = arguments[i]
            if argument == "--" {
                remaining += arguments[i...]
                break
            }
            let parts = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let flag = parts[0]
            if Self.commandLineValueFlags.contains(flag) {
                if parts.count == 2 {
                    values[flag] = parts[1]
                } else {
                    guard i + 1 < arguments.count else { throw fail(flag, "expects a value") }
                    values[flag] = arguments[i + 1]
                    i += 1
                }
            } else if Self.commandLineSwitches.contains(flag) {
                switch parts.count == 2 ? parts[1] : "true" {
                case "true": switches[flag] = true
                case "false": switches[flag] = false
                default: throw fail(flag, "expected true or false, found \"\(parts[1])\"")
                }
            } else {
                remaining.append(argument)
            }
            i += 1
        }

        func number(_ flag: String) throws -> Double? {
            guard let text = values[flag] else { return nil }
            guard let v = Double(text) else { throw fail(flag, "expected a number, found \"\(text)\"") }
            guard v.isFinite else { throw fail(flag, "expected a finite number, found \"\(text)\"") }
            return v
        }
        func integer(_ flag: String) throws -> Int? {
            guard let text = values[flag] else { return nil }
            guard let v = Int(text) else { throw fail(flag, "expected an integer, found \"\(text)\"") }
            return v
        }

        // The factor: --rope-scale, or the reciprocal of --rope-freq-scale.
        var factor = try number("--rope-scale")
        var factorFlag = "--rope-scale"
        if let scale = try number("--rope-freq-scale") {
            guard scale > 0 else { throw fail("--rope-freq-scale", "expected a number > 0, found \(scale)") }
            if let factor, abs(factor * scale - 1) > 1e-9 {
                throw fail("--rope-freq-scale", "\(scale) contradicts --rope-scale \(factor) (freq scale = 1 / scale)")
            }
            factor = 1 / scale
            factorFlag = "--rope-freq-scale"
        }

        var c = self
        let L = contextLength
        let currentFactor: Double? = {
            switch scheme {
            case .linear(let s), .ntk(let s), .dynamic(let s): return s
            case .yarn(let y): return y.factor
            case .longRoPE(let p): return p.factor
            case .llama3(let p): return p.factor
            case .none, .alibi, .clex: return nil
            }
        }()
        let currentOriginal: Int? = {
            switch scheme {
            case .yarn(let y): return y.originalContextLength
            case .longRoPE(let p): return p.originalContextLength
            case .llama3(let p): return p.originalContextLength
            default: return nil
            }
        }()
        let originalOverride = try integer("--yarn-orig-ctx").flatMap { $0 == 0 ? nil : $0 }
        func neededFactor(_ type: String) throws -> Double {
            guard let s = factor ?? currentFactor else {
                throw fail("--rope-scale", "--rope-scaling \(type) needs a factor: give --rope-scale")
            }
            return s
        }

        if let type = values["--rope-scaling"] {
            switch type {
            case "none":
                if factor != nil { throw fail(factorFlag, "--rope-scaling none takes no factor (use linear)") }
                c.scheme = .none
            case "linear": c.scheme = .linear(factor: try neededFactor(type))
            case "ntk": c.scheme = .ntk(factor: try neededFactor(type))
            case "dynamic": c.scheme = .dynamic(factor: try neededFactor(type))
            case "yarn":
                var y: YaRNParameters
                if case .yarn(let current) = scheme { y = current } else {
                    y = YaRNParameters(factor: try neededFactor(type), originalContextLength: currentOriginal ?? L)
                }
                if let factor { y.factor = factor }
                c.scheme = .yarn(y)
            case "longrope":
                guard case .longRoPE = scheme else {
                    throw fail("--rope-scaling", "longrope needs the model's short_factor/long_factor lists; its config has \(scheme.typeName)")
                }
            case "llama3":
                if case .llama3 = scheme {} else {
                    c.scheme = .llama3(Llama3Parameters(factor: try neededFactor(type), originalContextLength: currentOriginal ?? L))
                }
            case "alibi":
                if factor != nil { throw fail(factorFlag, "ALiBi takes no factor") }
                c.scheme = .alibi
            case "clex":
                if case .clex = scheme {} else { c.scheme = .clex(CLEXParameters(maxFactor: 16)) }
            default:
                throw fail("--rope-scaling", "unknown value \"\(type)\" (expected none, linear, yarn, dynamic, ntk, longrope, llama3, alibi, clex)")
            }
        }

        // The factor on whatever scheme is now selected.
        if let factor {
            switch c.scheme {
            case .none: c.scheme = .linear(factor: factor)
            case .linear: c.scheme = .linear(factor: factor)
            case .ntk: c.scheme = .ntk(factor: factor)
            case .dynamic: c.scheme = .dynamic(factor: factor)
            case .yarn(var y):
                y.factor = factor
                c.scheme = .yarn(y)
            case .longRoPE(var p):
                p.factor = factor
                c.scheme = .longRoPE(p)
            case .llama3(var p):
                p.factor = factor
                c.scheme = .llama3(p)
            case .alibi, .clex:
                throw fail(factorFlag, "the \(c.scheme.typeName) method takes no factor")
            }
        }
        if let originalOverride {
            switch c.scheme {
            case .yarn(var y):
                y.originalContextLength = originalOverride
                c.scheme = .yarn(y)
            case .longRoPE(var p):
                p.originalContextLength = originalOverride
                c.scheme = .longRoPE(p)
            case .llama3(var p):
                p.originalContextLength = originalOverride
                c.scheme = .llama3(p)
            default:
                throw fail("--yarn-orig-ctx", "applies to yarn, llama3 and longrope, not \(c.scheme.typeName)")
            }
        }

        let yarnFlags = ["--yarn-ext-factor", "--yarn-attn-factor", "--yarn-beta-fast", "--yarn-beta-slow"]
        if case .yarn(var y) = c.scheme {
            if let e = try number("--yarn-ext-factor") { y.extrapolationMix = e < 0 ? 1 : e }
            if let a = try number("--yarn-attn-factor") { y.attentionScale = a }
            if let b = try number("--yarn-beta-fast") { y.betaFast = b }
            if let b = try number("--yarn-beta-slow") { y.betaSlow = b }
            c.scheme = .yarn(y)
        } else if let flag = yarnFlags.first(where: { values[$0] != nil }) {
            throw fail(flag, "applies to yarn, not \(c.scheme.typeName)")
        }

        let clexFlags = ["--clex-max-factor", "--clex-param-factor", "--clex-act", "--clex-dt"]
        if case .clex(var p) = c.scheme {
            if let v = try integer("--clex-max-factor") { p.maxFactor = v }
            if let v = try integer("--clex-param-factor") { p.paramFactor = v }
            if let name = values["--clex-act"] {
                guard let act = CLEXActivation(rawValue: name) else {
                    throw fail("--clex-act", "expected tanh or silu, found \"\(name)\"")
                }
                p.activation = act
            }
            if let v = try number("--clex-dt") { p.timeStep = v }
            if let v = switches["--clex-continuous"] { p.continuous = v }
            if let v = switches["--clex-hold-at-max"] { p.holdAtMax = v }
            if let v = switches["--clex-log-scale"] { p.logScale = v }
            c.scheme = .clex(p)
        } else if let flag = clexFlags.first(where: { values[$0] != nil })
                    ?? Self.commandLineSwitches.sorted().first(where: { switches[$0] != nil }) {
            throw fail(flag, "applies to clex, not \(c.scheme.typeName)")
        }

        if let b = try number("--rope-freq-base"), b != 0 { c.base = b }
        try c.validate(source: "command line") { key in
            switch key {
            case .base: return "--rope-freq-base"
            case .factor: return factorFlag
            case .originalContextLength: return "--yarn-orig-ctx"
            case .betaFast: return "--yarn-beta-fast"
            case .betaSlow: return "--yarn-beta-slow"
            case .extrapolationMix: return "--yarn-ext-factor"
            case .attentionScale: return "--yarn-attn-factor"
            case .maxFactor: return "--clex-max-factor"
            case .paramFactor: return "--clex-param-factor"
            case .timeStep: return "--clex-dt"
            default: return key.hfName(prefix: "rope_scaling.")
            }
        }
        return (c, remaining)
    }
}
