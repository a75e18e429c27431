import Foundation

/// Command line of the live-push load generator (see main.swift). Every bound has a ceiling, so
/// one wrong argument cannot make a run that never ends or eats the machine.
struct Options: Sendable {
    var urls: [String] = []
    var authorization = ""
    /// Tasks being driven; each gets `watchers / tasks` watchers, spread evenly over the replicas.
    var tasks = 100
    var watchers = 1000
    /// Heartbeats per second in total (open loop: sent on schedule, not when the previous one returned).
    var rate = 1000
    var seconds = 20
    /// Keep-alive connections per replica that carry the heartbeats.
    var workerConnections = 50
    var threads = 1
    /// Process ids whose CPU and RSS to sample during the load: `name=pid,…`.
    var pids: [(name: String, pid: Int32)] = []
    var commandType = "bench.live"

    static let usage = """
        LivePushBenchmark --urls http://127.0.0.1:8081,http://127.0.0.1:8082 --authorization 'Bearer key:secret'
                          [--tasks 100] [--watchers 1000] [--rate 1000] [--seconds 20] [--worker-connections 50]
                          [--threads 1] [--pids taskd-1=123,taskd-2=456,redis=789] [--command-type bench.live]
        """

    init(_ arguments: [String]) {
        var i = 1
        while i < arguments.count {
            guard i + 1 < arguments.count else { Self.fail("\(arguments[i]) needs a value") }
            let value = arguments[i + 1]
            switch arguments[i] {
            case "--urls": urls = value.split(separator: ",").map(String.init)
            case "--authorization": authorization = value
            case "--tasks": tasks = Self.integer(value, arguments[i])
            case "--watchers": watchers = Self.integer(value, arguments[i])
            case "--rate": rate = Self.integer(value, arguments[i])
            case "--seconds": seconds = Self.integer(value, arguments[i])
            case "--worker-connections": workerConnections = Self.integer(value, arguments[i])
            case "--threads": threads = Self.integer(value, arguments[i])
            case "--command-type": commandType = value
            case "--pids":
                pids = value.split(separator: ",").map { pair in
                    let parts = pair.split(separator: "=")
                    guard parts.count == 2, let pid = Int32(parts[1]) else { Self.fail("--pids wants name=pid,…") }
                    return (String(parts[0]), pid)
                }
            default: Self.fail("unknown option \(arguments[i])")
            }
            i += 2
        }
        guard !urls.isEmpty else { Self.fail("--urls is required") }
        guard (1...10_000).contains(tasks), (1...20_000).contains(watchers), watchers >= tasks else {
            Self.fail("want 1–10000 tasks and tasks–20000 watchers")
        }
        guard (1...20_000).contains(rate), (1...600).contains(seconds), (1...256).contains(workerConnections), (1...4).contains(threads) else {
            Self.fail("want rate 1–20000/s, seconds 1–600, worker connections 1–256, threads 1–4")
        }
        // Progress is heartbeat number / 1000 (three decimals, at most 100): distinct for every heartbeat of a task.
        guard heartbeatsPerTask <= 100_000 else { Self.fail("rate × seconds / tasks must be ≤ 100000 (distinct progress values)") }
    }

    /// Heartbeats each task gets (the last task may get fewer when rate × seconds does not divide).
    var heartbeatsPerTask: Int { (totalHeartbeats + tasks - 1) / tasks }
    var totalHeartbeats: Int { rate * seconds }

    static func integer(_ text: String, _ option: String) -> Int {
        guard let value = Int(text) else { fail("\(option) wants a whole number, got \(text)") }
        return value
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("LivePushBenchmark: \(message)\n\(usage)\n".utf8))
        exit(2)
    }
}

/// `http://host:port` → (host, port); exits on anything else.
func endpoint(_ url: String) -> (host: String, port: Int) {
    let rest = url.hasPrefix("http://") ? String(url.dropFirst(7)) : url
    let parts = rest.split(separator: ":")
    guard parts.count == 2, let port = Int(parts[1].prefix { $0.isNumber }) else { Options.fail("bad url \(url): use http://host:port") }
    return (String(parts[0]), port)
}
