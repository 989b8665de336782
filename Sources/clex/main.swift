import CLEXTensor
import Foundation

OpenBLASCore.reexecWithFastSettingsIfNeeded()
exit(CommandLineTool.run(Array(CommandLine.arguments.dropFirst())))
