import CLEXTensor
import Foundation
import Testing

/// GELU, exact and tanh form, against values printed by PyTorch 2.13
/// (`torch.nn.functional.gelu(x, approximate=…)` in float64), and its gradient against finite
/// differences.
@Suite("gelu") struct GELUTests {
    static let inputs: [Float] = [-6, -2.5, -1, -0.5, 0, 0.25, 1, 3, 9]
    static let exact: [Float] = [-5.919525869479969e-09, -0.015524163314440398, -0.15865525393145702, -0.15426876936299344,
                                 0.0, 0.14967658142073093, 0.841344746068543, 2.99595030590511, 9.0]
    static let tanhForm: [Float] = [-8.43964897967453e-11, -0.015084266089998577, -0.15880800939172324, -0.15428599017485606,
                                    0.0, 0.149675350701685, 0.8411919906082768, 2.996362607918227, 9.0]

    @Test("forward matches PyTorch", arguments: GELUApproximation.allCases)
    func reference(approximation: GELUApproximation) throws {
        let x = try Tensor(shape: [Self.inputs.count], values: Self.inputs)
        let expected = approximation == .none ? Self.exact : Self.tanhForm
        expectClose(Ops.gelu(x, approximation: approximation).scalars, expected, rtol: 2e-7, atol: 1e-9, "\(approximation)")
    }

    @Test("the two forms differ (the approximation is not silently the exact one)")
    func formsDiffer() throws {
        let x = try Tensor(shape: [1], values: [1])
        #expect(Ops.gelu(x, approximation: .none).item != Ops.gelu(x, approximation: .tanh).item)
    }

    @Test("gradient matches finite differences", arguments: GELUApproximation.allCases)
    func gradients(approximation: GELUApproximation) {
        let x = randomTensor([7, 33], seed: 3, std: 2)
        let bad = GradientCheck().mismatches([x]) { _, v in v[0].gelu(approximation: approximation) }
        #expect(bad.isEmpty, "\(approximation): \(bad.prefix(5))")
    }
}
