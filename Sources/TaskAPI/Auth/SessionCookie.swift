import HTTPTypes
import TaskEngine

/// The dashboard's session cookie and its CSRF header. A browser's `EventSource` cannot send an
/// `Authorization` header, so the page logs in once (`POST /ui/login` with `key:secret`) and the
/// browser then sends this cookie by itself — but only to this origin (`SameSite=Strict`), never to
/// scripts (`HttpOnly`), and over TLS only when taskd is reached over TLS (`Secure`).
enum SessionCookie {
    static let name = "taskd_session"
    /// The header a state-changing call made with the cookie must carry: the session's CSRF token,
    /// which the page gets from `POST /ui/login` or `GET /ui/session`. A cross-site page can make
    /// the browser send the cookie, but cannot read the token.
    static let csrfHeader = HTTPField.Name("X-CSRF-Token")!

    /// The cookie's value in a request's `Cookie` headers; nil when it has none.
    static func value(in headers: HTTPFields) -> String? {
        for header in headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name {
                    return parts[1].trimmingCharacters(in: .whitespaces)
                }
            }
        }
        return nil
    }

    /// `Set-Cookie` for a new session. `Path=/`: the page's calls go to `/v1/…` as well as `/ui`
    /// (only the routes in ``DashboardController/pageRoutes`` accept it).
    static func setting(_ value: String, maxAge: Duration, secure: Bool) -> String {
        "\(name)=\(value); Path=/; Max-Age=\(maxAge.components.seconds); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// `Set-Cookie` that makes the browser forget the cookie.
    static func clearing(secure: Bool) -> String {
        "\(name)=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// Whether the CSRF header carries the session's token (compared in constant time).
    static func carriesToken(_ headers: HTTPFields, of session: BrowserSession) -> Bool {
        guard let sent = headers[csrfHeader] else { return false }
        return APIKeyStore.constantTimeEqual(sent, session.csrfToken)
    }
}
