/// One parser under fuzzing: how to run it on an input held in memory, its seed corpus and how
/// its inputs are mutated.
///
/// `run` must parse the input the way the product does and then use what it built (convert
/// tensors, build the tokenizer and encode text, make the positional method), so that an input
/// that parses but leaves something inconsistent behind still reaches the code that would trap.
/// Bad input must come back as a thrown error; anything else (a trap, a hang, an allocation
/// beyond the memory limit) is a bug the runner reports.
public struct FuzzTarget: Sendable {
    /// The name on the command line (`gguf`, `safetensors`, …).
    public let name: String
    /// One line for `clex fuzz --help`.
    public let summary: String
    /// How inputs are mutated.
    public let format: FuzzInputFormat
    /// Words of the format (JSON keys, type names) that JSON mutations insert.
    public let dictionary: [String]
    /// Whether a seed file of this name (a file name, not a path) suits the target.
    let acceptsFile: @Sendable (String) -> Bool
    let makeSeeds: @Sendable () -> [[UInt8]]
    let body: @Sendable ([UInt8]) throws -> Void

    /// A target; `seeds` builds the built-in seed corpus, `run` parses one input.
    public init(name: String, summary: String, format: FuzzInputFormat, dictionary: [String] = [],
                accepts: @escaping @Sendable (String) -> Bool, seeds: @escaping @Sendable () -> [[UInt8]],
                run: @escaping @Sendable ([UInt8]) throws -> Void) {
        self.name = name
        self.summary = summary
        self.format = format
        self.dictionary = dictionary
        acceptsFile = accepts
        makeSeeds = seeds
        body = run
    }

    /// The built-in seed corpus: small valid files, made with the project's own writers.
    public var seeds: [[UInt8]] { makeSeeds() }

    /// Whether a seed file named `fileName` (for example `python_written.gguf`) suits the target.
    public func accepts(fileName: String) -> Bool { acceptsFile(fileName) }

    /// Parses `input` (and uses the result); throws the parser's error for bad input.
    public func run(_ input: [UInt8]) throws { try body(input) }
}
