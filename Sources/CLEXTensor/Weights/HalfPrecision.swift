/// Bulk conversions between Float32 and the two 16-bit float formats found in checkpoints:
/// IEEE 754 binary16 (`F16`) and bfloat16 (`BF16`, the upper half of a Float32).
///
/// Sources and destinations are raw little-endian bytes with no alignment requirement. Loops run
/// 16 lanes at a time (F16C / AVX-512 conversions when compiled for such a CPU).
public enum HalfPrecision {
    /// Widens `count` binary16 values at `source` into `destination`.
    public static func f16ToF32(_ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>, _ count: Int) {
        var i = 0
        while i + 16 <= count {
            let h = source.loadUnaligned(fromByteOffset: 2 * i, as: SIMD16<Float16>.self)
            UnsafeMutableRawPointer(destination + i).storeBytes(of: SIMD16<Float>(h), as: SIMD16<Float>.self)
            i += 16
        }
        while i < count {
            destination[i] = Float(source.loadUnaligned(fromByteOffset: 2 * i, as: Float16.self))
            i += 1
        }
    }

    /// Widens `count` bfloat16 values at `source` into `destination` (exact: bfloat16 is a
    /// truncated Float32).
    public static func bf16ToF32(_ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>, _ count: Int) {
        var i = 0
        while i + 16 <= count {
            let b = source.loadUnaligned(fromByteOffset: 2 * i, as: SIMD16<UInt16>.self)
            let w = SIMD16<UInt32>(truncatingIfNeeded: b) &<< 16
            UnsafeMutableRawPointer(destination + i).storeBytes(of: w, as: SIMD16<UInt32>.self)
            i += 16
        }
        while i < count {
            let b = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            destination[i] = Float(bitPattern: UInt32(b) << 16)
            i += 1
        }
    }

    /// Narrows `count` floats to binary16 (round to nearest even; out-of-range values become ±inf).
    public static func f32ToF16(_ source: UnsafePointer<Float>, _ destination: UnsafeMutableRawPointer, _ count: Int) {
        var i = 0
        while i + 16 <= count {
            let f = UnsafeRawPointer(source + i).loadUnaligned(as: SIMD16<Float>.self)
            destination.storeBytes(of: SIMD16<Float16>(f), toByteOffset: 2 * i, as: SIMD16<Float16>.self)
            i += 16
        }
        while i < count {
            destination.storeBytes(of: Float16(source[i]), toByteOffset: 2 * i, as: Float16.self)
            i += 1
        }
    }

    /// Narrows `count` floats to bfloat16, rounding to nearest even as PyTorch does; NaN stays NaN.
    public static func f32ToBF16(_ source: UnsafePointer<Float>, _ destination: UnsafeMutableRawPointer, _ count: Int) {
        for i in 0..<count {
            destination.storeBytes(of: bf16Bits(source[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
        }
    }

    /// The bfloat16 bit pattern nearest to `value` (ties to even; NaN maps to a quiet NaN).
    @inlinable public static func bf16Bits(_ value: Float) -> UInt16 {
        if value.isNaN { return 0x7FC0 | UInt16(value.bitPattern >> 16 & 0x8000) }
        let bits = value.bitPattern
        let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
        return UInt16(rounded >> 16)
    }
}
