import CLEXTensor
import Foundation

OpenBLASCore.reexecWithFastCoreIfNeeded()
exit(CommandLineTool.run(Array(CommandLine.arguments.dropFirst())))
