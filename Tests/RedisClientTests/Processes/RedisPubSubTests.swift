import NIOCore
import RESP
import RedisClient
import TestSupport
import Testing

@Suite(.tags(.processes)) struct RedisPubSubTests {
    @Test func deliversChannelAndPatternMessages() async throws {
        let prefix = TestEnvironment.uniquePrefix()
        try await withClient { redis in
            try await redis.subscribe(channels: ["\(prefix):a"], patterns: ["\(prefix):p:*"]) { events in
                _ = try await redis.send(.publish("\(prefix):a", "one"))
                _ = try await redis.send(.publish("\(prefix):p:x", "two"))
                _ = try await redis.send(.publish("\(prefix):elsewhere", "never"))
                var got: [RedisPubSubMessage] = []
                for await case .message(let message) in events {
                    got.append(message)
                    if got.count == 2 { break }
                }
                #expect(got.map(\.channel) == ["\(prefix):a", "\(prefix):p:x"])
                #expect(got.map { String(buffer: $0.payload) } == ["one", "two"])
                #expect(got[1].pattern == "\(prefix):p:*")
            }
            // The scope has ended: Redis no longer sends to this client.
            let receivers = try await redis.send(.publish("\(prefix):a", "late"))
            #expect(receivers == 0)
        }
    }

    @Test func twoSubscriptionsShareAChannel() async throws {
        let channel = TestEnvironment.uniquePrefix()
        try await withClient { redis in
            try await redis.subscribe(channels: [channel]) { first in
                try await redis.subscribe(channels: [channel]) { second in
                    let receivers = try await redis.send(.publish(channel, "x"))
                    #expect(receivers == 1)
                    var a = first.makeAsyncIterator()
                    var b = second.makeAsyncIterator()
                    #expect(await a.next() == .message(.init(channel: channel, pattern: nil, payload: ByteBuffer(string: "x"))))
                    #expect(await b.next() == .message(.init(channel: channel, pattern: nil, payload: ByteBuffer(string: "x"))))
                }
                // The inner scope ended, the outer one still hears the channel.
                let receivers = try await redis.send(.publish(channel, "y"))
                #expect(receivers == 1)
            }
        }
    }

    /// `CLIENT KILL TYPE pubsub` drops the subscriber's connection: it reconnects, subscribes again,
    /// says `.gap`, and messages flow again without the caller doing anything.
    @Test func resubscribesAfterClientKill() async throws {
        let server = try await RedisServerProcess.started()
        let channel = TestEnvironment.uniquePrefix()
        try await withClient(url: server.url) { redis in
            try await redis.subscribe(channels: [channel]) { events in
                var iterator = events.makeAsyncIterator()
                _ = try await redis.send(.publish(channel, "before"))
                #expect(await iterator.next() == .message(.init(channel: channel, pattern: nil, payload: ByteBuffer(string: "before"))))

                let killed = try await redis.send(RedisCommand("CLIENT", ["KILL", "TYPE", "pubsub"]))
                #expect(killed == 1)
                #expect(await iterator.next() == .gap)
                // Publish until the new subscription is in place (the first publishes may find no subscriber).
                let resubscribed = try await eventually {
                    try await redis.send(.publish(channel, "after")).int == 1
                }
                #expect(resubscribed)
                #expect(await iterator.next() == .message(.init(channel: channel, pattern: nil, payload: ByteBuffer(string: "after"))))
            }
        }
        await server.stop()
    }
}
