// Throughput of the Redis client: N connections, each with `depth` commands in flight, for a fixed time.
// Run through `./dev bench redis-client`, which compares it with redis-benchmark on the same server.
import Foundation
import NIOCore
import NIOPosix
import RESP
import RedisClient

struct Options {
    var url = "redis://127.0.0.1:6379"
    var connections = 50
    var depth = 1
    var seconds = 5.0
    var command = "set"
    /// `nio`: Swift concurrency's global executor runs on NIO's event loops (see below); `default`: libdispatch's pool.
    var executor = "default"

    init(_ arguments: [String]) {
        var i = 1
        while i + 1 < arguments.count {
            let value = arguments[i + 1]
            switch arguments[i] {
            case "--url": url = value
            case "--connections": connections = Int(value) ?? connections
            case "--depth": depth = Int(value) ?? depth
            case "--seconds": seconds = Double(value) ?? seconds
            case "--command": command = value
            case "--executor": executor = value
            default: break
            }
            i += 2
        }
    }
}

let options = Options(CommandLine.arguments)
// With `--executor nio` the benchmark's tasks run on the same threads as the connections, so a reply
// resumes its caller without waking a thread of another pool: what a process that installs NIO's
// event loops as the global executor gets (taskd does not, today).
if options.executor == "nio", !NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor() {
    fatalError("NIO's event loops could not become the global executor on this platform")
}
let configuration = try RedisConfiguration(url: options.url)
// The same tiny script redis-benchmark runs with EVALSHA.
let script = RedisScript(name: "bench", source: "return redis.call('SET', KEYS[1], ARGV[1])")
let value = RESPArgument.bytes(ByteBuffer(repeating: UInt8(ascii: "x"), count: 3))

func command(_ n: Int) -> RedisCommand {
    switch options.command {
    case "get": return .get("key:__rand_int__")
    case "evalsha": return .evalsha(script.sha1, keys: ["key:__rand_int__"], arguments: [value])
    default: return .set("key:__rand_int__", value)
    }
}

var connections: [RedisConnection] = []
for _ in 0..<options.connections {
    connections.append(try await RedisConnection.connect(to: configuration.endpoints[0], configuration: configuration))
}
try await connections[0].loadScriptsOnNode([script])
_ = try await connections[0].send(.set("key:__rand_int__", value))

let batch = (0..<options.depth).map(command)
let single = command(0)
let deadline = ContinuousClock.now + .milliseconds(Int(options.seconds * 1000))
let started = ContinuousClock.now
let cpuAtStart = processCPUSeconds()
let total = try await withThrowingTaskGroup(of: Int.self) { group in
    for connection in connections {
        group.addTask {
            var done = 0
            // Check the clock every 64 rounds: reading it is not free at these rates.
            while true {
                for _ in 0..<64 {
                    if options.depth == 1 {
                        _ = try await connection.send(single)
                        done += 1
                    } else {
                        done += try await connection.pipeline(batch).count
                    }
                }
                if ContinuousClock.now >= deadline { return done }
            }
        }
    }
    var sum = 0
    for try await count in group { sum += count }
    return sum
}
let elapsed = ContinuousClock.now - started
let cpu = processCPUSeconds() - cpuAtStart
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
// Commands per second, then the process's CPU (user + system) per command in µs, both over the
// measured loop only: connecting and loading the script stay out.
print(String(format: "%.0f %.2f", Double(total) / seconds, cpu * 1e6 / Double(total)))
for connection in connections { connection.close() }

func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
