import Testing
@testable import Agent

/// How a line of a log becomes an event's text: bounded, and nothing in it lost without a marker.
@Suite(.timeLimit(.minutes(10)))
struct LogLineTests {
    @Test func validUTF8IsKeptAndOtherBytesAreWrittenAsHex() {
        #expect(LogLine.render(Array("prix 3 € — ok".utf8)) == "prix 3 € — ok")
        #expect(LogLine.render([0x61, 0xFF, 0x62, 0xC3]) == "a\\x{ff}b\\x{c3}")
        #expect(LogLine.render([0xED, 0xA0, 0x80]) == "\\x{ed}\\x{a0}\\x{80}", "a surrogate is not UTF-8")
        #expect(LogLine.render([0xC0, 0xAF]) == "\\x{c0}\\x{af}", "an overlong form is not UTF-8")
        #expect(LogLine.render(Array("tab\tesc\u{1B}[0m".utf8)) == "tab\tesc\u{1B}[0m",
                "control characters stay: the controller shows them escaped")
    }

    @Test func aCarriageReturnBeforeTheNewlineIsDropped() {
        #expect(LogLine.render(Array("windows\r".utf8)) == "windows")
    }

    @Test func anOverlongLineIsCutWithAMarkerThatCountsWhatWasLeftOut() {
        let line = LogLine.render([UInt8](repeating: 0x78, count: 10_000))
        #expect(line.hasPrefix(String(repeating: "x", count: LogLine.maxBytes) + " … [5904 more bytes cut]"))
        #expect(LogLine.render([UInt8](repeating: 0x78, count: 10), dropped: 7).hasSuffix("[7 more bytes cut]"))
        #expect(LogLine.renderEnd(Array("abc\r".utf8)) == "[… earlier bytes of this line cut] abc")
        #expect(LogLine.cut(String(repeating: "é", count: 5000)).utf8.count < LogLine.maxBytes + 40)
    }

    @Test func aNULMeansBinary() {
        #expect(LogLine.looksBinary([0x61, 0, 0x62]))
        #expect(!LogLine.looksBinary(Array("text\n".utf8)))
    }
}
