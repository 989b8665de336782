import CLEXTensor

/// Element types of the safetensors format, declared in the order of the reference (Rust)
/// implementation's `Dtype` enum, which its writer uses to order tensors (see `writeOrder`).
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case bool = "BOOL"
    case f4 = "F4"
    case f6E2M3 = "F6_E2M3"
    case f6E3M2 = "F6_E3M2"
    case u8 = "U8"
    case i8 = "I8"
    case f8E5M2 = "F8_E5M2"
    case f8E4M3 = "F8_E4M3"
    case f8E8M0 = "F8_E8M0"
    case f8E4M3FNUZ = "F8_E4M3FNUZ"
    case f8E5M2FNUZ = "F8_E5M2FNUZ"
    case i16 = "I16"
    case u16 = "U16"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    case f32 = "F32"
    case c64 = "C64"
    case f64 = "F64"
    case i64 = "I64"
    case u64 = "U64"

    /// Bits per element (4 and 6 for the packed sub-byte float types).
    public var bits: Int {
        switch self {
        case .f4: return 4
        case .f6E2M3, .f6E3M2: return 6
        case .bool, .u8, .i8, .f8E5M2, .f8E4M3, .f8E8M0, .f8E4M3FNUZ, .f8E5M2FNUZ: return 8
        case .i16, .u16, .f16, .bf16: return 16
        case .i32, .u32, .f32: return 32
        case .c64, .f64, .i64, .u64: return 64
        }
    }

    /// Bytes taken by `count` elements; nil on overflow or when they do not fill whole bytes.
    public func byteCount(elements count: Int) -> Int? {
        let (totalBits, overflow) = count.multipliedReportingOverflow(by: bits)
        guard !overflow, count >= 0, totalBits % 8 == 0 else { return nil }
        return totalBits / 8
    }

    /// The types `SafetensorsFile.tensor(_:)` converts to Float32 and `SafetensorsWriter` writes.
    public static let convertibleTypes: [SafetensorsDType] = [.f32, .f16, .bf16]

    /// The row of CLEXTensor's element-type table for this type (F32, F16, BF16), nil for others.
    public var elementType: ElementType? {
        switch self {
        case .f32: .f32
        case .f16: .f16
        case .bf16: .bf16
        default: nil
        }
    }

    /// Position in the reference writer's order: it writes tensors by this rank, largest first,
    /// then by name.
    var writeOrder: Int { Self.allCases.firstIndex(of: self) ?? 0 }
}
