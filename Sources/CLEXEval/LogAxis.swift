import Foundation

/// A logarithmic axis: maps values in [low, high] (both > 0) to pixels in [start, end] so that
/// equal ratios take equal distances, and proposes tick values.
struct LogAxis {
    let low: Double
    let high: Double
    let start: Double
    let end: Double

    /// The pixel of `value` (> 0).
    func position(_ value: Double) -> Double {
        let span = Foundation.log(high) - Foundation.log(low)
        guard span > 0 else { return (start + end) / 2 }
        return start + (Foundation.log(value) - Foundation.log(low)) / span * (end - start)
    }

    /// Powers of two in [low, high], thinned to at most `limit`.
    static func powerOfTwoTicks(low: Double, high: Double, limit: Int = 10) -> [Double] {
        var ticks: [Double] = []
        var p = Foundation.pow(2, Foundation.floor(Foundation.log2(low)))
        while p <= high * (1 + 1e-12) {
            if p >= low * (1 - 1e-12) { ticks.append(p) }
            p *= 2
        }
        return thinned(ticks, limit)
    }

    /// 1-2-5 × 10^k values in [low, high]; only powers of ten when those are too many; finer
    /// (1 … 9 × 10^k, thinned) when fewer than four fall inside; the ends themselves as a last
    /// resort.
    static func decadeTicks(low: Double, high: Double, limit: Int = 10) -> [Double] {
        func values(_ mantissas: [Double]) -> [Double] {
            var out: [Double] = []
            var k = Foundation.floor(Foundation.log10(low)) - 1
            while Foundation.pow(10, k) <= high * 10 {
                for m in mantissas {
                    let v = m * Foundation.pow(10, k)
                    if v >= low * (1 - 1e-12) && v <= high * (1 + 1e-12) { out.append(v) }
                }
                k += 1
            }
            return out
        }
        let standard = values([1, 2, 5])
        if standard.count > limit { return thinned(values([1]), limit) }
        if standard.count >= 4 { return standard }
        let fine = values([1, 2, 3, 4, 5, 6, 7, 8, 9])
        if fine.count >= 2 { return thinned(fine, limit) }
        return standard.count >= 2 ? standard : [low, high]
    }

    /// Every k-th tick so that at most `limit` remain.
    static func thinned(_ ticks: [Double], _ limit: Int) -> [Double] {
        guard ticks.count > limit, limit > 0 else { return ticks }
        let step = (ticks.count + limit - 1) / limit
        return ticks.enumerated().filter { $0.offset % step == 0 }.map(\.element)
    }

    /// A tick label: integers without decimals, others with up to three significant digits.
    static func label(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e15 { return String(Int(value)) }
        return String(format: "%.3g", value)
    }
}
