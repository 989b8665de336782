import CLEXTensor

extension KernelBenchmarks {
    func attentionRows() -> [BenchmarkRow] { [] }
    func pointwiseRows(copyRate: Double) -> [BenchmarkRow] { [] }
}
