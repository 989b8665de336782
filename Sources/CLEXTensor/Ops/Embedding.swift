/// Token embedding: a row gather from a [V, E] table, and its scatter-add gradient.
///
/// An id outside 0..<V is a programmer error (token ids are validated where text is tokenised)
/// and stops the program naming the id, its position and V.
extension Ops {
    /// Rows `ids` of `table`.
    ///
    /// - table: [V, E]
    /// - ids: N entries in 0..<V
    /// - result: [N, E]
    public static func embedding(_ table: Tensor, ids: [Int32]) -> Tensor {
        requireArgument(table.rank == 2, "embedding: table of shape \(table.shape) must be [V, E]")
        checkIDs("embedding", ids, vocabularySize: table.shape[0])
        let e = table.shape[1]
        let out = Tensor(zeros: [ids.count, e])
        let (src, dst) = (UnsafePointer(table.pointer), out.pointer)
        ids.withUnsafeBufferPointer { idp in
            Parallel.forEachChunk(ids.count, costPerItem: e) { r in
                for i in r { (dst + i * e).update(from: src + Int(idp[i]) * e, count: e) }
            }
        }
        return out
    }

    /// Gradient of `embedding` with respect to the table: row i of g is added into row ids[i] of a
    /// zero [V, E] tensor, so repeated ids accumulate.
    ///
    /// Parallelised over column blocks of E (multiples of 16 floats, one cache line): every thread
    /// walks all N ids in order but owns its columns, so no two threads write the same element and
    /// the sums are the same for any thread count.
    ///
    /// - ids: N entries in 0..<`vocabularySize`
    /// - g: [N, E]
    /// - result: [vocabularySize, E]
    public static func embeddingBackward(ids: [Int32], vocabularySize: Int, gradient g: Tensor) -> Tensor {
        requireArgument(g.rank == 2 && g.shape[0] == ids.count,
                     "embeddingBackward: gradient of shape \(g.shape) must be [N, E] with N = \(ids.count) ids")
        checkIDs("embeddingBackward", ids, vocabularySize: vocabularySize)
        let e = g.shape[1]
        let out = Tensor(zeros: [vocabularySize, e])
        let (src, dst) = (UnsafePointer(g.pointer), out.pointer)
        typealias K = PointwiseKernel
        ids.withUnsafeBufferPointer { idp in
            PointwiseKernel.forEachRange(e, costPerElement: ids.count) { lo, hi in
                for (i, id) in idp.enumerated() {
                    let gr = src + i * e, dr = dst + Int(id) * e
                    var j = lo
                    while j + 16 <= hi {
                        K.store(K.load(dr + j) + K.load(gr + j), dr + j)
                        j += 16
                    }
                    while j < hi {
                        dr[j] += gr[j]
                        j += 1
                    }
                }
            }
        }
        return out
    }

    /// Stops the program unless every id is in 0..<vocabularySize.
    private static func checkIDs(_ op: String, _ ids: [Int32], vocabularySize v: Int) {
        // fatalError rather than precondition: release builds drop precondition messages, and this
        // one (ids from a tokenizer that does not match the model) must reach the user.
        for (i, id) in ids.enumerated() where !(id >= 0 && Int(id) < v) {
            fatalError("\(op): token id \(id) at position \(i) is outside the vocabulary 0..<\(v)")
        }
    }
}

extension Variable {
    /// Rows `ids` of `self` (an embedding table [V, E]): [N, E]. The table's gradient is the
    /// scatter-add of the result's gradient rows.
    public func embedding(ids: [Int32]) -> Variable {
        let table = self
        let rows = Ops.embedding(table.value, ids: ids)
        let v = table.shape[0]
        return record(rows, inputs: [table]) { g, sink in
            sink.add(Ops.embeddingBackward(ids: ids, vocabularySize: v, gradient: g), to: table)
        }
    }
}
