import Foundation

/// Every process a test starts, written down under `TASKD_TEST_PIDS_DIR` (a file per process, named
/// by its pid, holding its start time from /proc): a test that fails before its cleanup, or whose
/// cleanup task never ran before the test process exited, would leave a taskd, redis-server or tmux
/// running. `./dev test` stops whatever of these is still up when the run ends; the start time tells
/// a reused pid from the process the test started.
public enum SpawnedProcesses {
    public static func record(_ pid: Int32) {
        guard let directory = ProcessInfo.processInfo.environment["TASKD_TEST_PIDS_DIR"], pid > 0,
              let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return }
        // Field 22 of /proc/<pid>/stat (starttime); the 20th after the command name's ")".
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19 else { return }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: directory + "/\(pid)", contents: Data(fields[19].utf8))
    }
}
