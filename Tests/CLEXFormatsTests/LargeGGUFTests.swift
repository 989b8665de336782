import CLEXFormats
import CLEXTensor
import Foundation
import Testing

/// A GGUF file of `tensors` random `type` tensors of shape `[rows, 4096]` (about `megabytes` MB
/// of tensor data in all), built directly from bytes (block scales are finite fp16 values).
private func syntheticGGUF(_ type: GGMLType, megabytes: Int, tensors: Int) -> [UInt8] {
    let cols = 4096
    let rowBytes = type.byteCount(elements: cols)!
    let rows = megabytes * 1_000_000 / tensors / rowBytes
    let tensorBytes = rows * rowBytes
    var header: [UInt8] = Array("GGUF".utf8)
    header.appendLE(UInt32(3))
    header.appendLE(UInt64(tensors))
    header.appendLE(UInt64(0))
    for t in 0..<tensors {
        let name = Array("blk.\(t).ffn_up.weight".utf8)
        header.appendLE(UInt64(name.count))
        header += name
        header.appendLE(UInt32(2))
        header.appendLE(UInt64(cols))
        header.appendLE(UInt64(rows))
        header.appendLE(type.rawValue)
        header.appendLE(UInt64(t * ((tensorBytes + 31) / 32 * 32)))
    }
    while header.count % 32 != 0 { header.append(0) }
    var rng = SeededGenerator(seed: 5)
    var data = [UInt8](repeating: 0, count: tensors * ((tensorBytes + 31) / 32 * 32))
    data.withUnsafeMutableBytes { raw in
        let words = raw.bindMemory(to: UInt64.self)
        for i in words.indices { words[i] = rng.next() }
    }
    if type.blockSize > 1 {
        let scales = type == .q4_1 ? 2 : 1
        for t in 0..<tensors {
            let base = t * ((tensorBytes + 31) / 32 * 32)
            for b in 0..<(tensorBytes / type.bytesPerBlock) {
                for s in 0..<scales {
                    data.setLE(Float16(Float(b % 97) * 1e-3 - 0.05).bitPattern, at: base + b * type.bytesPerBlock + 2 * s)
                }
            }
        }
    } else if type == .f16 {
        data.withUnsafeMutableBytes { raw in
            let halves = raw.bindMemory(to: UInt16.self)
            for i in halves.indices { halves[i] &= 0xBBFF }
        }
    }
    return header + data
}

@Suite("large quantised GGUF") struct LargeGGUFTests {
    /// Opens a ~50 MB synthetic GGUF file (8 tensors) and dequantises every tensor: the parallel
    /// block decoder must agree with the scalar reference on the first and last block of a tensor
    /// and produce finite values everywhere it is sampled.
    @Test("a 50 MB quantised file dequantises like the scalar reference", arguments: [GGMLType.q4_1, .q8_0, .f16])
    func largeFile(type: GGMLType) throws {
        let dir = TemporaryDirectory()
        defer { dir.cleanUp() }
        let path = dir.write("large-\(type).gguf", syntheticGGUF(type, megabytes: 50, tensors: 8))
        let g = try GGUFFile(path: path)
        var elements = 0
        var checksum: Float = 0
        for name in g.tensorNames {
            let t = try g.tensor(name)
            elements += t.count
            checksum += t.pointer[t.count - 1]
        }
        #expect(checksum.isFinite)
        #expect(elements == g.tensorInfos.reduce(0) { $0 + $1.elementCount })
        // Spot-check one tensor against the scalar reference on its first and last blocks.
        let info = g.tensorInfos[3]
        let t = try g.tensor(info.name)
        let raw = Array(g.rawBytes(of: info))
        for block in [0, info.elementCount / type.blockSize - 1] {
            var want = [Float](repeating: 0, count: type.blockSize)
            let slice = Array(raw[(block * type.bytesPerBlock)..<((block + 1) * type.bytesPerBlock)])
            slice.withUnsafeBytes { r in
                want.withUnsafeMutableBufferPointer { type.elementType!.dequantize(r.baseAddress!, count: type.blockSize, into: $0.baseAddress!) }
            }
            let got = Array(UnsafeBufferPointer(start: t.pointer + block * type.blockSize, count: type.blockSize))
            #expect(got == want, "\(type) block \(block)")
        }
    }
}
