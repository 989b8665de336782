import CLEXTensor

OpenBLASCore.reexecWithFastCoreIfNeeded()
print("OpenBLAS core: \(BLAS.coreName)")
