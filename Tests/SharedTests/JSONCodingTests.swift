import Foundation
import Testing
@testable import Shared

/// The own JSON coder against Foundation's, which it replaces in the agent: the same bytes out, the same values
/// and the same `DecodingError` cases in.
@Suite struct JSONCodingTests {
    /// Everything a wire message holds, in every shape the coder has to write.
    struct Sample: Codable, Equatable {
        enum Kind: String, Codable { case plain, fancy = "fancy_one" }
        struct Inner: Codable, Equatable {
            var name: String
            var values: [Int]
            var nested: [[String: Bool]]
        }

        var text: String
        var int: Int
        var int64: Int64
        var uint64: UInt64
        var int32: Int32
        var uint8: UInt8
        var double: Double
        var float: Float
        var flag: Bool
        var absent: String?
        var kind: Kind
        var inner: Inner
        var list: [Inner]
        var map: [String: Int]
        var doubles: [Double]
        var empty: [String: String]
        var noList: [Int]
    }

    static let tricky: String = {
        var text = ""
        for scalar in 0..<0x80 { text.unicodeScalars.append(Unicode.Scalar(UInt8(scalar))) }
        return text + "a/b\\c \u{2028}\u{2029}\u{FEFF}é😀\u{9B}\u{7F}"
    }()

    static let keys = ["_a", "A", "a", "B", "b", "a10", "a9", "a_", "aB", "ab", "Ab", "a-b", "a.b", "a1", "a01", "Z",
                       "z", "é", "e", "0", "10", "9", "abc", "ab_c", "abC", " ", "~", "[", "`", "{", "|", "^", "\\",
                       "@", "ß", "ss", "a/b", "snake_case", "camelCase", "😀", "\u{7}", "\n"]

    static let doubles: [Double] = [0, -0.0, 2, 0.1, 1e-7, 1e-5, 1e-4, 0.001, 1e15, 1e16, 1e17, 1e20, 1e21, 1.5e300,
                                    123_456_789.125, 9_007_199_254_740_992, 1_234_567_890_123_456_768,
                                    .greatestFiniteMagnitude, .leastNonzeroMagnitude, -3.25, 1.0 / 3, 100, 12.5]

    static let sample = Sample(
        text: tricky, int: -42, int64: .min, uint64: .max, int32: .max, uint8: 255, double: 0.1, float: 1e-7,
        flag: true, absent: nil, kind: .fancy,
        inner: .init(name: "x", values: [1, -2, 3], nested: [["b": true, "a": false], [:]]),
        list: [.init(name: "", values: [], nested: [])],
        map: Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, $0) }),
        doubles: doubles, empty: [:], noList: [])

    private func foundation(_ value: some Encodable, escapingSlashes: Bool = false) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = escapingSlashes ? [.sortedKeys] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    private func own(_ value: some Encodable, escapingSlashes: Bool = false) throws -> String {
        String(decoding: try JSONEncoding.encode(value, escapingSlashes: escapingSlashes), as: UTF8.self)
    }

    @Test(arguments: [false, true])
    func encodesTheBytesJSONEncoderWrote(escapingSlashes: Bool) throws {
        #expect(try own(Self.sample, escapingSlashes: escapingSlashes)
                == foundation(Self.sample, escapingSlashes: escapingSlashes))
        for number in Self.doubles {
            #expect(try own([number]) == foundation([number]), "\(number)")
            #expect(try own([Float(number)].filter(\.isFinite)) == foundation([Float(number)].filter(\.isFinite)))
        }
        #expect(try own(["k": Self.tricky]) == foundation(["k": Self.tricky]))
        #expect(try own(Self.keys) == foundation(Self.keys))
    }

    @Test func nullsSuperEncodersAndMergedContainersAreWrittenAsJSONEncoderWroteThem() throws {
        struct Odd: Encodable {
            enum Keys: String, CodingKey { case n, m, u, v }
            func encode(to encoder: any Encoder) throws {
                var first = encoder.container(keyedBy: Keys.self)
                try first.encode(nil as String?, forKey: .n)
                try first.encodeIfPresent(nil as String?, forKey: .m)
                var single = first.superEncoder().singleValueContainer()
                try single.encode(3)
                var items = first.superEncoder(forKey: .u).unkeyedContainer()
                try items.encode(1)
                try items.encodeNil()
                var nested = items.nestedContainer(keyedBy: Keys.self)
                try nested.encode(true, forKey: .n)
                var second = encoder.container(keyedBy: Keys.self)
                try second.encode("merged", forKey: .v)
            }
        }
        struct Nothing: Encodable { func encode(to encoder: any Encoder) throws {} }
        #expect(try own(Odd()) == foundation(Odd()))
        #expect(try own(["x": Nothing()]) == foundation(["x": Nothing()]))
        #expect(throws: EncodingError.self) { try JSONEncoding.encode(Nothing()) }
        #expect(throws: EncodingError.self) { try JSONEncoding.encode([Double.nan]) }
        #expect(throws: EncodingError.self) { try JSONEncoding.encode([Double.infinity]) }
    }

    @Test func timestampsAreWhatIso8601DatesWere() throws {
        struct WithDate: Encodable { var at: Date; var list: [Date] }
        struct WithTimestamp: Encodable { var at: Timestamp; var list: [Timestamp] }
        for seconds in [0, 1_764_000_000.75, -1.25, 951_782_400, 4_102_444_800, 1_796_144_399.999, -2_208_988_800] {
            let date = Date(timeIntervalSince1970: seconds)
            let time = Timestamp(timeIntervalSince1970: seconds)
            #expect(try own(WithTimestamp(at: time, list: [time])) == foundation(WithDate(at: date, list: [date])),
                    "\(seconds)")
        }
    }

    @Test func decodesWhatItWritesAndWhatJSONDecoderRead() throws {
        let bytes = try JSONEncoding.encode(Self.sample)
        #expect(try JSONDecoding.decode(Sample.self, from: bytes) == Self.sample)
        let spaced = Array(" { \"v\" : [ 1 , 2.0 , 1e3 , -0 ] , \"s\" : \"a\\/b\\u00e9\\ud83d\\ude00\" } ".utf8)
        struct Loose: Decodable, Equatable { var v: [Int]; var s: String; var d: Double? }
        #expect(try JSONDecoding.decode(Loose.self, from: spaced) == Loose(v: [1, 2, 1000, 0], s: "a/bé😀", d: nil))
        struct Real: Decodable { var d: Double }
        #expect(try JSONDecoding.decode(Real.self, from: Array(#"{"d":7}"#.utf8)).d == 7, "an integer for a Double")
        struct Once: Decodable { var v: String }
        #expect(try JSONDecoding.decode(Once.self, from: Array(#"{"v":"first","v":"last"}"#.utf8)).v
                == JSONDecoder().decode(Once.self, from: Data(#"{"v":"first","v":"last"}"#.utf8)).v)
    }

    /// What a decoding failure says, as ``WireCodec`` reads it: the case and the path.
    private static func failure(_ error: any Error) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case DecodingError.keyNotFound(let key, let context): return "keyNotFound " + path(context.codingPath + [key])
        case DecodingError.typeMismatch(_, let context): return "typeMismatch " + path(context.codingPath)
        case DecodingError.valueNotFound(_, let context): return "valueNotFound " + path(context.codingPath)
        case DecodingError.dataCorrupted(let context): return "dataCorrupted " + path(context.codingPath)
        default: return "other \(error)"
        }
    }

    struct Shape: Decodable {
        struct Item: Decodable { var n: Int; var s: String? }
        var a: Int
        var b: String
        var c: [Item]
        var d: Bool?
        var e: Double?
        var t: Timestamp?
    }

    @Test(arguments: [
        #"{"b":"x","c":[]}"#, #"{"a":"1","b":"x","c":[]}"#, #"{"a":null,"b":"x","c":[]}"#,
        #"{"a":1,"b":2,"c":[]}"#, #"{"a":1,"b":"x","c":{}}"#, #"{"a":1,"b":"x","c":[{"s":"y"}]}"#,
        #"{"a":1,"b":"x","c":[{"n":1},{"n":"2"}]}"#, #"{"a":1,"b":"x","c":[{"n":1},{"n":null}]}"#,
        #"{"a":1,"b":"x","c":[null]}"#, #"{"a":1,"b":"x","c":[],"d":1}"#, #"{"a":1,"b":"x","c":[],"d":null}"#,
        #"{"a":1,"b":"x","c":[],"e":"1"}"#, #"{"a":1,"b":"x","c":[],"t":5}"#, #"{"a":1,"b":"x","c":[],"t":"soon"}"#,
        #"{"a":true,"b":"x","c":[]}"#, #"[1]"#, #"{"a":1,"b":"x","c":null}"#, #"{"a":1.5,"b":"x","c":[]}"#,
        #"{"a":1,"b":"x","c":[],"t":"2026-12-01T17:00:00Z"}"#, #"{"a":1,"b":"x","c":[{"n":1,"s":null}]}"#,
    ])
    func failsWithTheCaseAndPathJSONDecoderGave(line: String) {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        var theirs = "ok"
        do { _ = try decoder.decode(Shape.self, from: Data(line.utf8)) } catch { theirs = Self.failure(error) }
        var ours = "ok"
        do { _ = try JSONDecoding.decode(Shape.self, from: Array(line.utf8)) } catch { ours = Self.failure(error) }
        // JSONDecoder reported a number that does not fit with an empty path; the own coder names the field.
        #expect(ours == theirs || (theirs == "dataCorrupted " && ours == "dataCorrupted a"), "\(line)")
    }

    @Test(arguments: ["", "garbage", "{", #"{"a":1,}"#, #"{"a":01}"#, #"{"a":"\x"}"#, "{\"a\":\"\u{1}\"}", "\"top\"",
                      #"{"a":1} x"#, #"{"a":"\ud800"}"#])
    func bytesThatAreNotJSONAreCorruptAtTheTop(line: String) {
        let failure = Self.error { try JSONDecoding.decode([String: Int].self, from: Array(line.utf8)) }
        #expect(Self.failure(failure) == "dataCorrupted ")
    }

    @Test func bytesThatAreNotUTF8AreCorruptAtTheTop() {
        let line = Array(#"{"a":""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8)
        #expect(Self.failure(Self.error { try JSONDecoding.decode([String: String].self, from: line) })
                == "dataCorrupted ")
    }

    @Test func numbersThatDoNotFitAreRefused() {
        struct Small: Decodable { var v: UInt8 }
        for line in [#"{"v":256}"#, #"{"v":-1}"#, #"{"v":1.5}"#, #"{"v":99999999999999999999}"#] {
            #expect(Self.failure(Self.error { try JSONDecoding.decode(Small.self, from: Array(line.utf8)) })
                    == "dataCorrupted v", "\(line)")
        }
        struct Big: Decodable { var v: Double }
        #expect(Self.failure(Self.error { try JSONDecoding.decode(Big.self, from: Array(#"{"v":1e400}"#.utf8)) })
                == "dataCorrupted v")
    }

    @Test func nestingDeeperThanTheLimitIsAnErrorNotACrash() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(Self.failure(Self.error { try JSONDecoding.decode([[Int]].self, from: Array(deep.utf8)) })
                == "dataCorrupted ")
        func nested(_ depth: Int) -> [UInt8] {
            Array((String(repeating: "[", count: depth) + String(repeating: "]", count: depth)).utf8)
        }
        #expect(JSONValue.parse(nested(JSONValue.maxDepth)) != nil)
        #expect(JSONValue.parse(nested(JSONValue.maxDepth + 1)) == nil)
    }

    private static func error(_ body: () throws -> Any) -> any Error {
        do {
            _ = try body()
            return CancellationError()
        } catch {
            return error
        }
    }
}
