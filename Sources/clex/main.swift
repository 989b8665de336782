import CLEXCommandLine
import CLEXTensor
import Foundation

OpenBLASCore.reexecWithFastSettingsIfNeeded()
Interrupts.install()
let status = CommandLineTool.run(Array(CommandLine.arguments.dropFirst()))
Interrupts.awaitExitIfStopping()
exit(status)
