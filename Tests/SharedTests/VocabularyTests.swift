import Foundation
import Testing
@testable import Shared

/// The typed vocabulary that crosses process boundaries: the raw values are the v1 wire spellings (the wire does
/// not change), and a word a newer agent sends decodes as `unknown` and re-encodes unchanged instead of failing.
@Suite struct VocabularyTests {
    @Test func knownSpellingsAreTheWireSpellingsAndUnique() {
        #expect(DeployPhase.known.map(\.rawValue).prefix(7) == ["preflight", "snapshot", "update", "verify",
                                                                "restart", "health", "rollback"])
        #expect(PhaseState.known.map(\.rawValue) == ["started", "completed", "failed", "skipped"])
        #expect(Outcome.rolledBack.rawValue == "rolled_back" && Outcome.rolledBack.words == "rolled back")
        #expect(ErrorCode.firstDeployUnhealthy.rawValue == "first_deploy_unhealthy")
        #expect(ErrorCode.serviceActionFailed(.restart) == .restartFailed)
        for spellings in [DeployPhase.known.map(\.rawValue), PhaseState.known.map(\.rawValue),
                          Outcome.known.map(\.rawValue), ErrorCode.known.map(\.rawValue)] {
            #expect(Set(spellings).count == spellings.count, "a spelling twice: \(spellings)")
            #expect(spellings.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isLowercase || $0 == "_" } })
        }
    }

    @Test func everyKnownWordRoundTripsAndUnknownOnesAreKeptAsSent() throws {
        for code in ErrorCode.known {
            #expect(ErrorCode(rawValue: code.rawValue) == code && code.isKnown)
            let json = try JSONEncoder().encode(code)
            #expect(String(decoding: json, as: UTF8.self) == "\"\(code.rawValue)\"")
            #expect(try JSONDecoder().decode(ErrorCode.self, from: json) == code)
        }
        let newer = try JSONDecoder().decode(Outcome.self, from: Data("\"paused\"".utf8))
        #expect(newer == .unknown("paused") && !newer.isKnown && newer.rawValue == "paused")
        #expect(ErrorCode.unknown("locked") == .locked, "equal by spelling")
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(PhaseState.self, from: Data("7".utf8)) }
    }

    @Test func protocolErrorCodesAreErrorCodes() {
        let codes: [ProtocolError.Code] = [.malformed, .lineTooLong, .unsupportedVersion, .unknownType,
                                           .invalidMessage, .unexpected, .controlCharacter]
        for code in codes { #expect(code.wire.isKnown, "\(code)") }
    }

    @Test func anEventWithWordsThisBuildDoesNotKnowDecodesAndReencodesByteForByte() throws {
        let phase = Array(#"{"id":"3","name":"migrate","seq":9,"state":"paused","type":"phase","v":1}"#.utf8)
        let message = try WireCodec.decodeEvent(phase)
        guard case .phase(let event) = message.event else { Issue.record("not a phase"); return }
        #expect(event.name == .unknown("migrate") && event.state == .unknown("paused"))
        #expect(WireCodec.encode(message) == phase)
        let result = Array(#"{"error":{"code":"quota_exceeded","message":"a newer agent's"},"id":"3","ok":false,"#.utf8)
            + Array(#""seq":10,"type":"result","v":1}"#.utf8)
        let decodedMessage = try WireCodec.decodeEvent(result)
        #expect(WireCodec.encode(decodedMessage) == result)
        guard case .result(let decoded) = decodedMessage.event else { Issue.record("no result"); return }
        #expect(decoded.error?.code == .unknown("quota_exceeded"))
    }

    /// The one-pass check of a relative path (what a manifest's thousands of entries go through) agrees with the
    /// rule taken apart, on every spelling near a boundary of it.
    @Test func theOnePassPathRuleIsTheRule() {
        let long = String(repeating: "n", count: RelativePath.maxComponentBytes)
        let spellings = ["a", "a/b", "/a", "a/", "a//b", "//", "/", "", ".", "..", "...", "a/.", "a/..", "a/...",
                         "./a", "../a", ".../a", "a/./b", "a/../b", "a/.hidden", "a/..b", "a/b..", ".a", "..a",
                         "a\u{0}b", "\u{0}", "é/ü", "a b/c\nd", long, long + "n", "a/" + long, "a/" + long + "n",
                         String(repeating: "a/", count: 2047) + "b", String(repeating: "a/", count: 2048) + "b",
                         String(repeating: "a/", count: 2047) + "bc"]
        for text in spellings {
            #expect(RelativePath.passes(text) == (RelativePath.brokenRule(text) == nil), "\(text.prefix(40))")
            #expect(RelativePath.isValid(text) == (RelativePath.brokenRule(text) == nil))
        }
        #expect(RelativePath.passes(String(repeating: "a/", count: 2047) + "b"))
        #expect(!RelativePath.passes(String(repeating: "a/", count: 2047) + "bc"))
    }
}
