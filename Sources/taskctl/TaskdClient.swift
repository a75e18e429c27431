import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// taskd's HTTP API as taskctl calls it: one client per run, the credential sent as HTTP Basic.
/// Errors become ``TaskctlFailure``s whose message holds only the URL path, the status and
/// taskd's description, never a header.
struct TaskdClient: Sendable {
    let baseURL: String
    private let authorization: String?
    /// The key id of the credential, for --verbose (the secret is never shown).
    private let keyID: String?
    private let verbose: Bool
    private let http: HTTPClient

    struct Answer: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: Data
    }

    /// Runs `body` with a client, shutting it down afterwards whatever happens.
    static func with<T: Sendable>(_ options: ConnectionOptions, _ body: (TaskdClient) async throws -> T) async throws -> T {
        // A read timeout well past taskd's 15 s SSE keep-alive: a stream that stays silent longer
        // is dead, even when no FIN or RST came (a frozen or partitioned replica).
        let configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(5), read: .seconds(40)))
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let result = try await body(try TaskdClient(options, http: http))
            try? await http.shutdown()
            return result
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    private init(_ options: ConnectionOptions, http: HTTPClient) throws {
        var url = options.url
        while url.hasSuffix("/") { url.removeLast() }
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw TaskctlFailure(.usage, "taskctl: TASKD_URL (or --url) must start with http:// or https://, got \(url.prefix(100))")
        }
        baseURL = url
        if !options.credential.isEmpty {
            let credential = options.credential
            guard credential.contains(":") else {
                throw TaskctlFailure(.usage, "taskctl: the credential must be key:secret (TASKD_CREDENTIAL or --credential)")
            }
            authorization = "Basic " + Data(credential.utf8).base64EncodedString()
            keyID = String(credential.prefix(while: { $0 != ":" }))
        } else {
            authorization = nil
            keyID = nil
        }
        verbose = options.verbose
        self.http = http
    }

    /// One request; any status comes back (callers decide what is an error).
    func send(_ method: HTTPMethod, _ path: String, query: [(String, String?)] = [], json: Data? = nil,
              headers extra: [(String, String)] = [], timeout: TimeAmount = .seconds(30)) async throws -> Answer {
        let request = makeRequest(method, path, query: query, json: json, headers: extra)
        let started = ContinuousClock.now
        do {
            let response = try await http.execute(request, timeout: timeout)
            let body = try await response.body.collect(upTo: 16 << 20)
            log("\(Int(response.status.code)) after \(Self.milliseconds(since: started)) ms, \(body.readableBytes) bytes")
            return Answer(status: Int(response.status.code), headers: response.headers, body: Data(buffer: body))
        } catch let failure as TaskctlFailure {
            throw failure
        } catch {
            throw unreachable(error)
        }
    }

    /// A JSON answer of a 2xx, or the failure taskd's error answer describes.
    func json(_ method: HTTPMethod, _ path: String, query: [(String, String?)] = [], json body: Data? = nil,
              headers: [(String, String)] = []) async throws -> Answer {
        let answer = try await send(method, path, query: query, json: body, headers: headers)
        guard (200..<300).contains(answer.status) else { throw Self.failure(for: answer, method: method, path: path) }
        return answer
    }

    /// Opens an SSE stream; the response of a 200, else the failure it answered.
    func openStream(_ path: String, lastEventID: String?) async throws -> HTTPClientResponse {
        var headers = [("Accept", "text/event-stream")]
        if let lastEventID { headers.append(("Last-Event-ID", lastEventID)) }
        let request = makeRequest(.GET, path, query: [], json: nil, headers: headers)
        let response: HTTPClientResponse
        do {
            // The stream lasts as long as the task runs; the read timeout catches a dead one.
            response = try await http.execute(request, timeout: .hours(24 * 365))
        } catch {
            throw unreachable(error)
        }
        log("\(Int(response.status.code)) event stream\(lastEventID.map { ", resumed after \($0)" } ?? "")")
        guard response.status == .ok else {
            let body = (try? await response.body.collect(upTo: 1 << 20)).map { Data(buffer: $0) } ?? Data()
            throw Self.failure(for: Answer(status: Int(response.status.code), headers: response.headers, body: body), method: .GET, path: path)
        }
        return response
    }

    private func makeRequest(_ method: HTTPMethod, _ path: String, query: [(String, String?)], json: Data?,
                             headers extra: [(String, String)]) -> HTTPClientRequest {
        var url = baseURL + path
        let pairs = query.compactMap { name, value in value.map { "\(name)=\(Self.percentEncoded($0))" } }
        if !pairs.isEmpty { url += "?" + pairs.joined(separator: "&") }
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "User-Agent", value: "taskctl")
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        for (name, value) in extra { request.headers.add(name: name, value: value) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: json))
        }
        // --verbose shows what was sent, with the credential's key id only: never its secret.
        log("\(method.rawValue) \(url) \(keyID.map { "as key \($0)" } ?? "without a credential")")
        return request
    }

    private func log(_ line: String) {
        guard verbose else { return }
        FileHandle.standardError.write(Data("taskctl: \(line)\n".utf8))
    }

    private func unreachable(_ error: any Error) -> TaskctlFailure {
        TaskctlFailure(.unreachable, "taskctl: cannot reach taskd at \(baseURL): \(Self.reason(error))")
    }

    /// A connection error in a few words (AsyncHTTPClient's descriptions carry no request data).
    static func reason(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return "connect timed out"
            case .readTimeout: return "no data for 40 s (read timeout)"
            case .remoteConnectionClosed: return "the connection closed"
            case .deadlineExceeded: return "timed out"
            default: return "\(error)"
            }
        }
        let text = "\(error)"
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        return String(text.prefix(200))
    }

    /// One line for an error answer: status, reason, taskd's own description and what to try.
    static func failure(for answer: Answer, method: HTTPMethod, path: String) -> TaskctlFailure {
        let status = ExitStatus.forHTTPStatus(answer.status)
        let object = (try? JSONSerialization.jsonObject(with: answer.body)) as? [String: Any]
        let said = (object?["description"] as? String) ?? (object?["message"] as? String)
        let reason = HTTPResponseStatus(statusCode: answer.status).reasonPhrase
        var line = "taskctl: \(answer.status) \(reason.lowercased()): \(method.rawValue) \(path)"
        if let said { line += ": \(said)" }
        switch status {
        case .unauthorized: line += " (check TASKD_CREDENTIAL or --credential: key:secret)"
        case .forbidden: line += " (this key's role may not do it)"
        case .throttled:
            if let retry = answer.headers.first(name: "Retry-After") { line += " (retry in \(retry) s)" }
        case .unavailable: line += " (taskd cannot reach Redis; retry shortly)"
        default: break
        }
        return TaskctlFailure(status, line, httpStatus: answer.status)
    }

    static func percentEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Int {
        let elapsed = ContinuousClock.now - start
        return Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
    }
}
