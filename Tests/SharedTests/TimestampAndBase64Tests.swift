import Foundation
import Testing
@testable import Shared

/// ``Timestamp`` and ``Base64`` against the Foundation types they replace in the agent.
@Suite struct TimestampAndBase64Tests {
    static let times: [Double] = [0, -1, -1.25, 59.999, 86_399, 86_400, 951_782_400, 951_868_799, 1_764_000_000.75,
                                  1_796_144_399.999, 4_102_444_800, 253_402_300_799, -2_208_988_800, -12_219_292_800,
                                  1_709_164_800, 1_709_251_199, 1_735_603_200]

    @Test func utcFieldsAreTheGregorianCalendarsInUTC() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for seconds in Self.times + (0..<200).map({ Double($0) * 7_654_321.5 - 500_000_000 }) {
            let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second],
                                                from: Date(timeIntervalSince1970: seconds.rounded(.down)))
            let fields = Timestamp(timeIntervalSince1970: seconds).utc
            #expect([fields.year, fields.month, fields.day, fields.hour, fields.minute, fields.second]
                    == [parts.year, parts.month, parts.day, parts.hour, parts.minute, parts.second], "\(seconds)")
        }
        #expect(Timestamp.compact(Timestamp(timeIntervalSince1970: 1_795_588_857.9)) == "20261125T064057Z")
    }

    @Test func iso8601ReadsWhatJSONDecoderReadAndRoundTrips() throws {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        for text in ["2026-12-01T17:00:00Z", "2026-12-01T17:00:00.123Z", "2026-12-01T17:00:00+01:00",
                     "2026-12-01T17:00:00.123456789+01:00", "2026-12-01T17:00:00-05:30", "2000-02-29T23:59:59Z",
                     "1969-12-31T23:59:59Z", "2026-12-01T14:17:56.336222835Z"] {
            let date = try decoder.decode([Date].self, from: Data("[\"\(text)\"]".utf8))[0]
            let time = try #require(Timestamp(iso8601: text), "\(text)")
            #expect(abs(time.timeIntervalSince1970 - date.timeIntervalSince1970) < 1e-6, "\(text)")
        }
        for seconds in Self.times {
            let time = Timestamp(timeIntervalSince1970: seconds.rounded(.down))
            #expect(Timestamp(iso8601: time.iso8601) == time, "\(seconds)")
        }
        for bad in ["", "2026-12-01", "2026-12-01T17:00:00", "2026-13-01T17:00:00Z", "2026-02-29T17:00:00Z",
                    "2026-12-01T24:00:00Z", "2026-12-01T17:00:00.Z", "2026-12-01T17:00:00Zjunk", "2026-12-01 17:00:00Z",
                    "2026-12-01T17:00:00+1:00", "+2026-12-01T17:00:00Z"] {
            #expect(Timestamp(iso8601: bad) == nil, "\(bad)")
        }
    }

    @Test func timestampsOrderAndMeasure() {
        let earlier = Timestamp(timeIntervalSince1970: 100)
        let later = earlier + 2.5
        #expect(earlier < later)
        #expect(later - earlier == 2.5)
        #expect(later.timeIntervalSince(earlier) == 2.5)
        #expect(later - 2.5 == earlier)
        #expect(Timestamp.distantPast < earlier)
        let now = Timestamp.now().timeIntervalSince1970
        #expect(abs(now - Date().timeIntervalSince1970) < 5)
    }

    @Test func base64IsWhatDataWroteAndRead() {
        var generator = SystemRandomNumberGenerator()
        for count in Array(0..<40) + [255, 256, 257, 4096] {
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let text = Base64.encode(bytes)
            #expect(text == Data(bytes).base64EncodedString(), "\(count)")
            #expect(Base64.decode(text) == bytes)
        }
        for text in ["", "QQ==", "QQ", "QQ=", "QR==", "QUI=", "QUJ=", "QUJD", "Q Q==", "QQ==\n", "QQ==QQ==", "=QQ=",
                     "-_==", "+/==", "Q===", "QUJDRA==", "QUJDRA", "QUJD\u{0}", "éé=="] {
            #expect(Base64.decode(text) == Data(base64Encoded: text).map(Array.init), "\(text)")
        }
        // Where Data was lax, padding inside or after the text is refused.
        #expect(Base64.decode("QQ=A") == nil)
        #expect(Base64.decode("QUJD====") == nil)
        #expect(Base64.decode("====") == nil)
    }
}
