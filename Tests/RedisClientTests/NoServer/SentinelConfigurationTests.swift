import RedisClient
import TestSupport
import Testing

/// `redis+sentinel://` URLs, without a server.
@Suite struct SentinelConfigurationTests {
    @Test func fullURL() throws {
        let c = try RedisConfiguration(url: "redis+sentinel://taskd:s3cr%40t@10.0.0.1:26380,sentinel-b,[::1]:26381/my%20master/2")
        let sentinel = try #require(c.sentinel)
        #expect(sentinel.serviceName == "my master")
        #expect(sentinel.endpoints == [.init(host: "10.0.0.1", port: 26380), .init(host: "sentinel-b", port: 26379), .init(host: "::1", port: 26381)])
        #expect(sentinel.username == nil && sentinel.password == nil && sentinel.tls == nil)
        // The credentials and database are the data nodes'; their address comes from the sentinels.
        #expect(c.endpoints.isEmpty)
        #expect(c.username == "taskd" && c.password == "s3cr@t" && c.database == 2 && c.tls == nil)
    }

    @Test func minimalURL() throws {
        let c = try RedisConfiguration(url: "redis+sentinel://127.0.0.1/mymaster")
        #expect(c.sentinel?.serviceName == "mymaster")
        #expect(c.sentinel?.endpoints == [.init(host: "127.0.0.1", port: 26379)])
        #expect(c.username == nil && c.password == nil && c.database == 0)
        let slash = try RedisConfiguration(url: "redis+sentinel://127.0.0.1/mymaster/")
        #expect(slash.database == 0)
    }

    @Test func sentinelCredentialsAndTLS() throws {
        let c = try RedisConfiguration(url: "rediss+sentinel://:pw@h1:26379,h2:26379/svc/1?sentinelUser=watcher&sentinelPassword=a%26b%3Dc")
        #expect(c.tls != nil && c.password == "pw" && c.database == 1)
        let sentinel = try #require(c.sentinel)
        #expect(sentinel.username == "watcher" && sentinel.password == "a&b=c")
        // TLS to the sentinels follows the scheme unless said otherwise.
        #expect(sentinel.tls != nil)

        let plainSentinels = try RedisConfiguration(url: "rediss+sentinel://h1/svc?sentinelTLS=false")
        #expect(plainSentinels.tls != nil && plainSentinels.sentinel?.tls == nil)
        let tlsSentinels = try RedisConfiguration(url: "redis+sentinel://h1/svc?sentinelTLS=true&sentinelPassword=x")
        #expect(tlsSentinels.tls == nil && tlsSentinels.sentinel?.tls != nil && tlsSentinels.sentinel?.password == "x")
    }

    @Test(arguments: [
        "redis+sentinel://h:26379", "redis+sentinel://h:26379/", "redis+sentinel:///svc", "redis+sentinel://h:0/svc",
        "redis+sentinel://h/svc/x", "redis+sentinel://h/svc/1/2", "redis+sentinel://h/svc?sentinelTLS=maybe",
        "redis+sentinel://h/svc?bogus=1", "redis+sentinel://u:%zz@h/svc", "sentinel://h/svc",
    ])
    func rejectsBadURLs(_ url: String) {
        #expect(throws: RedisClientError.self) { try RedisConfiguration(url: url) }
    }

    /// A password with an unescaped `&` turns its tail into an "option": the error must not show it.
    @Test func badOptionDoesNotEchoSecrets() {
        do {
            _ = try RedisConfiguration(url: "redis+sentinel://u:pw@h/svc?sentinelPassword=abc&hunter2")
            Issue.record("accepted a URL with an unknown option")
        } catch {
            #expect(!"\(error)".contains("hunter2"))
        }
    }

    @Test func statusDescription() {
        let ready = SentinelStatus(serviceName: "svc", master: .init(host: "10.0.0.1", port: 6379), problem: nil, switches: 1)
        #expect(ready.isReady && ready.description == "Redis Sentinel 'svc': master 10.0.0.1:6379")
        let waiting = SentinelStatus(serviceName: "svc", master: nil, problem: "No usable master.", switches: 0)
        #expect(!waiting.isReady && waiting.description.contains("not ready: No usable master."))
    }

    /// No sentinel listens: calls fail with `unavailable` within the retry budget, the status says
    /// why in one sentence, and neither shows the data nodes' or the sentinels' password.
    @Test func noSentinelReachable() async throws {
        let port = try RedisServerProcess.freePort()
        let url = "redis+sentinel://taskd:data-secret-1@127.0.0.1:\(port)/svc?sentinelPassword=sentinel-secret-2"
        let started = ContinuousClock.now
        try await withClient(url: url, configure: { $0.clusterRetryTimeout = .seconds(1); $0.connectTimeout = .milliseconds(300) }) { redis in
            do {
                _ = try await redis.send(.ping())
                Issue.record("PING succeeded without a sentinel")
            } catch let error as RedisClientError {
                #expect(error.code == .unavailable)
                #expect(!"\(error)".contains("secret"))
            }
            let status = try #require(redis.sentinelStatus)
            #expect(status.serviceName == "svc" && status.master == nil && !status.isReady)
            let problem = try #require(status.problem)
            #expect(!problem.contains("secret"))
        }
        #expect(ContinuousClock.now - started < .seconds(15))
    }
}
