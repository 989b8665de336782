import CLEXTensor

/// ggml tensor element types (`enum ggml_type`), with their block layouts.
///
/// Quantised types store `blockSize` consecutive elements (along `ne[0]`, the fastest-varying
/// dimension) in `bytesPerBlock` bytes. Every type in current ggml is listed so that any GGUF
/// file's layout can be validated and its raw bytes handed out; the program reads those with a
/// row in `ElementType` (`elementType`). Ids 4, 5 and 31–33, 36–38 were removed from ggml.
/// Sizes agree with ggml-common.h and gguf-py's `GGML_QUANT_SIZES` (which still lists the old
/// 40-byte Q8_1; ggml's `block_q8_1` is 36 bytes, and Q8_1 never appears in model files).
public enum GGMLType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2K = 10, q3K = 11, q4K = 12, q5K = 13, q6K = 14, q8K = 15
    case iq2XXS = 16, iq2XS = 17, iq3XXS = 18, iq1S = 19, iq4NL = 20, iq3S = 21, iq2S = 22, iq4XS = 23
    case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1M = 29, bf16 = 30
    case tq1_0 = 34, tq2_0 = 35, mxfp4 = 39, nvfp4 = 40, q1_0 = 41

    /// ggml's name for the type (`"F32"`, `"Q4_0"`, `"Q4_K"`, `"IQ2_XXS"`, …).
    public var description: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q5_0: return "Q5_0"
        case .q5_1: return "Q5_1"
        case .q8_0: return "Q8_0"
        case .q8_1: return "Q8_1"
        case .q2K: return "Q2_K"
        case .q3K: return "Q3_K"
        case .q4K: return "Q4_K"
        case .q5K: return "Q5_K"
        case .q6K: return "Q6_K"
        case .q8K: return "Q8_K"
        case .iq2XXS: return "IQ2_XXS"
        case .iq2XS: return "IQ2_XS"
        case .iq3XXS: return "IQ3_XXS"
        case .iq1S: return "IQ1_S"
        case .iq4NL: return "IQ4_NL"
        case .iq3S: return "IQ3_S"
        case .iq2S: return "IQ2_S"
        case .iq4XS: return "IQ4_XS"
        case .i8: return "I8"
        case .i16: return "I16"
        case .i32: return "I32"
        case .i64: return "I64"
        case .f64: return "F64"
        case .iq1M: return "IQ1_M"
        case .bf16: return "BF16"
        case .tq1_0: return "TQ1_0"
        case .tq2_0: return "TQ2_0"
        case .mxfp4: return "MXFP4"
        case .nvfp4: return "NVFP4"
        case .q1_0: return "Q1_0"
        }
    }

    /// Elements per block (1 for plain types, 32 for the `_0`/`_1` quants, 256 for k-quants).
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16, .f64, .i8, .i16, .i32, .i64: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1, .iq4NL, .mxfp4: return 32
        case .nvfp4: return 64
        case .q1_0: return 128
        case .q2K, .q3K, .q4K, .q5K, .q6K, .q8K, .iq2XXS, .iq2XS, .iq3XXS, .iq1S, .iq3S, .iq2S,
             .iq4XS, .iq1M, .tq1_0, .tq2_0:
            return 256
        }
    }

    /// Bytes per block (`sizeof(block_…)` in ggml-common.h).
    public var bytesPerBlock: Int {
        switch self {
        case .i8: return 1
        case .f16, .bf16, .i16: return 2
        case .f32, .i32: return 4
        case .f64, .i64: return 8
        case .q4_0, .iq4NL, .q1_0: return 18
        case .q4_1: return 20
        case .q5_0: return 22
        case .q5_1: return 24
        case .q8_0: return 34
        case .q8_1, .nvfp4: return 36
        case .mxfp4: return 17
        case .q2K: return 84
        case .q3K: return 110
        case .q4K: return 144
        case .q5K: return 176
        case .q6K: return 210
        case .q8K: return 292
        case .iq2XXS: return 66
        case .iq2XS: return 74
        case .iq3XXS: return 98
        case .iq1S: return 50
        case .iq3S: return 110
        case .iq2S: return 82
        case .iq4XS: return 136
        case .iq1M: return 56
        case .tq1_0: return 54
        case .tq2_0: return 66
        }
    }

    /// Bytes taken by `count` elements (a multiple of `blockSize`), or nil on overflow.
    public func byteCount(elements count: Int) -> Int? {
        guard count >= 0, count % blockSize == 0 else { return nil }
        let (bytes, overflow) = (count / blockSize).multipliedReportingOverflow(by: bytesPerBlock)
        return overflow ? nil : bytes
    }

    /// The row of CLEXTensor's element-type table for this type (same id), nil for types the
    /// program does not read.
    public var elementType: ElementType? { ElementType(ggmlID: rawValue) }
}
