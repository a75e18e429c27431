import Foundation
import HTTPTypes
@testable import TaskAPI
import Testing

/// The credential and media-type headers, parsed without Foundation's string bridging (issue 19):
/// the same answers as before for every style, case and spacing, and the same refusals.
struct HeaderParsingTests {
    func credentials(_ authorization: String) throws -> Credentials? {
        try Credentials.from([.authorization: authorization])
    }

    func basic(_ pair: String) -> String { Data(pair.utf8).base64EncodedString() }

    @Test func everySchemeSpellingAndSpacing() throws {
        let expected = Credentials(key: "k1", secret: "s:e cret")
        for header in ["Basic \(basic("k1:s:e cret"))", "basic \(basic("k1:s:e cret"))", "BASIC  \(basic("k1:s:e cret"))\t",
                       "Bearer k1:s:e cret", "bEaReR \t k1:s:e cret  "] {
            #expect(try credentials(header) == expected, "\(header)")
        }
        #expect(try Credentials.from([Credentials.apiKeyHeader: "k1", Credentials.apiSecretHeader: "s:e cret"]) == expected)
        #expect(try Credentials.from([:]) == nil)
    }

    @Test func malformedOnesAre401() {
        let bad = ["Basic", "Basic !!!notbase64", "Basic \(basic("no-colon"))", "Bearer no-colon",
                   "Basic " + Data([0x6B, 0x3A, 0xFF, 0xFE]).base64EncodedString(), "Digest k:s", "Basicx k:s"]
        for header in bad {
            #expect(throws: APIError.self, "\(header)") { try credentials(header) }
        }
    }

    @Test func jsonMediaTypes() {
        for type in ["application/json", "Application/JSON", " application/json ; charset=utf-8", "application/problem+json",
                     "APPLICATION/merge-patch+JSON;x=1"] {
            #expect(RequestMediaType.isJSON(type), "\(type)")
        }
        for type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "", "json",
                     "application/jsonx", "text/+json"] {
            #expect(!RequestMediaType.isJSON(type), "\(type)")
        }
    }

    @Test func trimmingIsSpacesAndTabsOnly() {
        #expect(" \t a b \t ".trimmingHTTPWhitespace == "a b")
        #expect("   ".trimmingHTTPWhitespace == "")
        #expect("\u{00A0}x".trimmingHTTPWhitespace == "\u{00A0}x")
    }
}
