import Foundation
import Synchronization

/// Every secret a test hands to taskd or gets from it (admin and API key secrets, lease tokens, Redis
/// passwords), written one a line under `TASKD_TEST_SECRETS_DIR` (a file per test process). At the end
/// of `./dev test`, every log and metric output the run wrote is searched for each of them: none may
/// appear (issue 14: no secret, credential or lease token in a log line or a metric label).
public enum TestSecrets {
    private static let file = Mutex<FileHandle?>(openFile())

    private static func openFile() -> FileHandle? {
        guard let directory = ProcessInfo.processInfo.environment["TASKD_TEST_SECRETS_DIR"] else { return nil }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/secrets-\(getpid()).txt"
        guard FileManager.default.fileExists(atPath: path) || FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path) else { return nil }
        handle.seekToEndOfFile()
        return handle
    }

    /// Records `secret` (a no-op outside `./dev test`). Values shorter than 8 characters are left out:
    /// they would match ordinary words in the logs.
    public static func record(_ secret: String) {
        guard secret.utf8.count >= 8, !secret.contains("\n") else { return }
        file.withLock { handle in handle?.write(Data((secret + "\n").utf8)) }
    }

    /// Records the secrets inside an `Authorization` value: the value itself and, for Basic and
    /// Bearer `key:secret`, the secret part.
    public static func recordAuthorization(_ value: String) {
        record(value)
        let credential = value.split(separator: " ", maxSplits: 1).last.map(String.init) ?? value
        if value.hasPrefix("Basic "), let decoded = Data(base64Encoded: credential).flatMap({ String(data: $0, encoding: .utf8) }) {
            record(credential)
            if let colon = decoded.firstIndex(of: ":") { record(String(decoded[decoded.index(after: colon)...])) }
        } else if let colon = credential.firstIndex(of: ":") {
            record(String(credential[credential.index(after: colon)...]))
        }
    }

    /// Records the `secret` and `leaseToken` strings of a decoded JSON answer (an API key's creation,
    /// a claim), at its top level and one level down.
    public static func recordSecrets(in object: Any) {
        guard let dictionary = object as? [String: Any] else { return }
        for (name, value) in dictionary {
            if name == "secret" || name == "leaseToken", let string = value as? String { record(string) }
            if let nested = value as? [String: Any] {
                for (innerName, innerValue) in nested where innerName == "secret" || innerName == "leaseToken" {
                    if let string = innerValue as? String { record(string) }
                }
            }
        }
    }
}
