// taskctl: submit, list, watch and steer taskd's tasks over its HTTP API (README, "taskctl").
import Foundation

await TaskctlCommand.start()
