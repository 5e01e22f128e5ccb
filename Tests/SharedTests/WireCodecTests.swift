import Testing
@testable import Shared

@Suite struct WireCodecTests {
    private func error(_ text: String) -> ProtocolError? {
        do {
            _ = try WireCodec.decodeRequest(Array(text.utf8))
            return nil
        } catch {
            return error
        }
    }

    @Test func garbageIsMalformed() {
        #expect(error("garbage")?.code == .malformed)
        #expect(error("")?.code == .malformed)
        #expect(error("[1,2,3]")?.code == .malformed)
        #expect(error("{\"v\":1,")?.code == .malformed)
        #expect(error("\u{FF}\u{FE}")?.code == .malformed)
    }

    @Test func versionIsCheckedBeforeType() {
        #expect(error(#"{"v":2,"type":"no-such-type","id":"1"}"#)?.code == .unsupportedVersion)
        #expect(error(#"{"type":"hello","id":"1"}"#)?.code == .unsupportedVersion)
        #expect(error(#"{"v":"1","type":"hello","id":"1"}"#)?.code == .unsupportedVersion)
    }

    @Test func unknownTypeIsTyped() {
        let failure = error(#"{"v":1,"type":"shell","id":"1","cmd":"rm -rf /"}"#)
        #expect(failure?.code == .unknownType)
        #expect(failure?.message.contains("shell") == true)
    }

    @Test func missingFieldsNameTheField() {
        let failure = error(#"{"v":1,"type":"deploy","id":"1"}"#)
        #expect(failure?.code == .invalidMessage)
        #expect(failure?.message.contains("app") == true)
        #expect(error(#"{"v":1,"type":"status"}"#)?.code == .invalidMessage)
        #expect(error(#"{"v":1,"type":"status","id":""}"#)?.code == .invalidMessage)
        #expect(error(#"{"v":1,"type":"status","id":"1","app":7}"#)?.code == .invalidMessage)
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let failure = error(#"{"v":1,"type":"status","id":"1","app":"# + deep + "}")
        #expect(failure != nil)
    }

    @Test func unknownFieldsAreIgnoredForForwardCompatibility() throws {
        let request = try WireCodec.decodeRequest(Array(#"{"v":1,"type":"status","id":"9","extra":{"a":1}}"#.utf8))
        #expect(request == Request(id: "9", command: .status(app: nil)))
    }

    @Test func bestEffortIDFindsTheIDOfABadRequest() {
        #expect(WireCodec.bestEffortID(Array(#"{"v":9,"id":"abc"}"#.utf8)) == "abc")
        #expect(WireCodec.bestEffortID(Array("nonsense".utf8)) == nil)
    }

    @Test(arguments: [
        (#"{"v":1,"type":"deploy","id":"1","app":"bots","controller":"\u001b]0;pwned\u0007"}"#, "controller"),
        (#"{"v":1,"type":"deploy","id":"1","app":"bots","controller":"\u001b[2K"}"#, "controller"),
        (#"{"v":1,"type":"restore","id":"1","app":"bots","snapshot":"s","paths":["ok","a\u009bb"]}"#, "paths.1"),
        (#"{"v":1,"type":"status","id":"1","app":"bots\u007f"}"#, "app"),
        (#"{"v":1,"type":"status","id":"1","extra":{"x":"\n"}}"#, "extra.x"),
        ("{\"v\":1,\"type\":\"hello\",\"id\":\"1\",\"client\":\"x\u{9B}\",\"protocols\":[1]}", "client"),
    ])
    func aControlCharacterInAnyStringIsRefusedAndNamed(line: String, field: String) {
        let refused = error(line)
        #expect(refused?.code == .controlCharacter, "\(String(describing: refused))")
        #expect(refused?.message.contains("\"\(field)\"") == true, "\(String(describing: refused))")
        #expect(refused.map { ControlCharacters.first(in: $0.message) == nil } == true, "the message is plain")
    }

    /// Found by the fuzzer: the Codable decoder and the strict parser that looks for control characters read a
    /// line differently — a raw control byte inside a skipped field's string, a key given twice — so a control
    /// character in what the decoder kept went unseen.
    @Test func aControlCharacterCannotHideBehindWhatTheDecoderSkipsOrKeeps() {
        let raw = "{\"v\":1,\"type\":\"deploy\",\"id\":\"3\",\"app\":\"bots\",\"commit\":\"3f2c\\u00002d1c\","
            + "\"other\":\"ci\u{15}@runner\"}"
        #expect(error(raw)?.code == .malformed, "\(String(describing: error(raw)))")
        let twice = #"{"v":1,"type":"deploy","id":"3","app":"bots","ref":"main\u0000x","ref":"main"}"#
        #expect(error(twice)?.code == .controlCharacter, "\(String(describing: error(twice)))")
    }

    @Test func anIDWithAControlCharacterIsNotEchoed() {
        #expect(WireCodec.bestEffortID(Array(#"{"v":1,"type":"status","id":"\u001b[2K"}"#.utf8)) == nil)
        #expect(error(#"{"v":1,"type":"status","id":"\u001b[2K"}"#)?.code == .controlCharacter)
        #expect(error(#"{"v":1,"type":"status","id":"1","app":"bots ✓ ü"}"#) == nil, "plain Unicode is fine")
    }

    @Test func healthOrdersBySeverityAndMapsToNagiosCodes() {
        #expect([Health.ok, .critical, .warning].max() == .critical)
        #expect([Health.ok, .unknown, .warning].max() == .unknown)
        #expect(Health.allCases.map(\.exitCode) == [0, 1, 2, 3])
    }
}
