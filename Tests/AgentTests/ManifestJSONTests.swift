import Foundation
import ShipkeepSandbox
import Testing
@testable import Agent
@testable import Shared

/// The manifest's own JSON coder (`Manifest+JSON.swift`) against the Codable path it replaces in `Manifest.load`
/// and `encoded()`: the same bytes out as `StateDirectory.encode` (and Foundation's `JSONEncoder`), the same
/// manifest in as `StateDirectory.decode`, and a refusal wherever that throws.
@Suite(.timeLimit(.minutes(10))) struct ManifestJSONTests {
    typealias Entry = Manifest.Entry

    static let info = SnapshotInfo(id: "20261125T101500Z-3f2c1e0b",
                                   createdAt: Timestamp(timeIntervalSince1970: 1_764_065_700),
                                   deploy: "d-20261125T101500Z-1a2b",
                                   commit: "0123456789abcdef0123456789abcdef01234567", files: 5000,
                                   bytes: 123_456_789, linked: 4990, copied: 10, copiedBytes: 4096)

    static let fullInfo: SnapshotInfo = {
        var info = Self.info
        info.kinds = ["append": 2, "sqlite": 1, "mutable": 4997]
        info.origin = "schedule"
        info.outcome = .rolledBack
        return info
    }()

    static let oddPath = "out/é 😀/\"quoted\"\\back\\slash\u{1}\t\n\r\u{8}\u{C}\u{1F}\u{7F}\u{2028}/x.json"

    static let everyField = Entry(path: "out/big.jsonl", kind: .file, size: .max, mtime: .min, mode: .max,
                                  hash: "xxh64:0123456789abcdef", target: "../elsewhere", data: .sqlite, inode: .max,
                                  firstSeen: true, chunks: ["c0", "c1/../x", ""], chunkSize: 4_194_304,
                                  hashState: "xxh64-state:AAAA/+==")

    static let empty = Manifest(info: SnapshotInfo(id: "", createdAt: Timestamp(timeIntervalSince1970: 0),
                                                   deploy: nil, commit: nil, files: 0, bytes: 0, linked: 0, copied: 0,
                                                   copiedBytes: 0),
                                dataDirs: [], entries: [])

    static let kinds: [Entry] = [
        Entry(path: "out", kind: .directory, mode: 0o755),
        Entry(path: "out/a.jsonl", kind: .file, size: 12, mtime: 1_764_065_700_123_456_789, mode: 0o644,
              hash: "xxh64:00000000deadbeef", data: .append, inode: 1_234_567),
        Entry(path: "out/state.json", kind: .file, size: 0, mtime: 0, mode: 0o600, hash: "xxh64:ef46db3751d8e999",
              data: .mutable, inode: 2, firstSeen: false),
        Entry(path: "out/link", kind: .symlink, mode: 0o777, target: "a.jsonl"),
        Entry(path: "db", kind: .directory),
    ]

    static let chunked: [Entry] = [
        Entry(path: "out/big.jsonl", kind: .file, size: 9_000_000, mtime: -1, mode: 0o644,
              hash: "xxh64:0123456789abcdef", data: .append, inode: 99,
              chunks: ["0123456789abcdef0123", "fedcba9876543210fedc", "00ff00ff00ff00ff00ff"],
              chunkSize: 4_194_304, hashState: "AQIDBAUGBwgJCgsMDQ4PEA=="),
        Entry(path: "out/empty-chunks", kind: .file, size: 0, chunks: [], chunkSize: 1),
        Entry(path: "out/no-state", kind: .file, size: 1, chunks: ["aa"], chunkSize: 1),
    ]

    static let oddPaths: [Entry] = [
        Entry(path: oddPath, kind: .file, hash: oddPath, target: oddPath, chunks: [oddPath]),
        Entry(path: "/", kind: .symlink, target: "//"),
        Entry(path: "", kind: .directory),
    ]

    static let extremes: [Entry] = [
        Entry(path: "a", kind: .file, size: .min, mtime: .max, mode: 0, inode: 0, chunkSize: .min),
        Entry(path: "b", kind: .file, size: -1, mtime: 9_007_199_254_740_993, mode: 1, inode: 1 << 63,
              chunkSize: .max),
    ]

    static func smallFile(_ number: Int) -> Entry {
        let hash: String = "xxh64:" + String(UInt64(number) &* 0x9E37_79B9_7F4A_7C15, radix: 16)
        let data: DataKind? = number % 3 == 0 ? nil : .mutable
        let firstSeen: Bool? = number % 5 == 0 ? true : nil
        return Entry(path: "out/files/f\(number).txt", kind: .file, size: Int64(number) * 37,
                     mtime: 1_764_065_700_000_000_000 + Int64(number), mode: 0o644, hash: hash, data: data,
                     inode: UInt64(number) + 1000, firstSeen: firstSeen)
    }

    static let manifests: [(String, Manifest)] = [
        ("empty", empty),
        ("files, dirs and symlinks", Manifest(info: info, dataDirs: ["out", "db"], entries: kinds)),
        ("every field set", Manifest(info: fullInfo, dataDirs: ["out"], entries: [everyField])),
        ("every optional unset", Manifest(info: info, dataDirs: ["out"], entries: [Entry(path: "out/x", kind: .file)])),
        ("chunked", Manifest(info: info, dataDirs: ["out"], entries: chunked)),
        ("odd paths", Manifest(info: fullInfo, dataDirs: ["out/é", "a\\b", "\"q\""], entries: oddPaths)),
        ("extreme numbers", Manifest(version: -7, info: info, dataDirs: ["out"], entries: extremes)),
        ("a deploy's worth of files", Manifest(info: fullInfo, dataDirs: ["out"], entries: (0..<300).map(smallFile))),
    ]

    /// The table covers a field only if some entry sets it: a field added to the entry must be added here too.
    @Test func everyFieldSetSetsEveryField() {
        let fields = Mirror(reflecting: Self.everyField).children
        #expect(fields.count == 13)
        for field in fields { #expect("\(field.value)" != "nil", "\(field.label ?? "?")") }
    }

    @Test(arguments: manifests.indices)
    func writesTheBytesOfTheCodableEncoding(index: Int) throws {
        let (name, manifest) = Self.manifests[index]
        let bytes = manifest.encoded()
        #expect(bytes == StateDirectory.encode(manifest), "\(name)")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let foundation = try encoder.encode(manifest)
        #expect(String(decoding: bytes, as: UTF8.self) == String(decoding: foundation, as: UTF8.self), "\(name)")
    }

    @Test(arguments: manifests.indices)
    func readsWhatTheCodableDecodingReads(index: Int) throws {
        let (name, manifest) = Self.manifests[index]
        let bytes = StateDirectory.encode(manifest)
        #expect(Manifest(json: bytes) == manifest, "\(name)")
        #expect(Manifest(json: bytes) == (try StateDirectory.decode(Manifest.self, from: bytes)), "\(name)")
        let spaced = Self.spaced(bytes)
        #expect(spaced.count > bytes.count)
        #expect(Manifest(json: spaced) == manifest, "\(name)")
    }

    /// `bytes` with whitespace after every `{`, `[`, `:` and `,` outside strings.
    static func spaced(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [], inString = false, escaped = false
        for byte in bytes {
            out.append(byte)
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true }
                else if byte == UInt8(ascii: "\"") { inString = false }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if [UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: ":"), UInt8(ascii: ",")].contains(byte) {
                out += " \n\t\r".utf8
            }
        }
        return out
    }

    static let infoJSON = String(decoding: StateDirectory.encode(info), as: UTF8.self)

    /// A manifest without entries whose info object is `info`.
    static func withInfo(_ info: String) -> String {
        #"{"dataDirs":[],"entries":[],"info":"# + info + #","version":1}"#
    }

    /// A manifest of one entry whose object is `entry`.
    static func withEntry(_ entry: String) -> String {
        #"{"dataDirs":["out"],"entries":["# + entry + #"],"info":"# + infoJSON + #","version":1}"#
    }

    /// Entry objects and whether the Codable decoding takes them.
    static let entries: [(String, Bool)] = [
        (#"{"path":"a","kind":"file"}"#, true),
        (#"{"kind":"file"}"#, false),
        (#"{"path":"a"}"#, false),
        (#"{"path":null,"kind":"file"}"#, false),
        (#"{"path":1,"kind":"file"}"#, false),
        (#"{"path":["a"],"kind":"file"}"#, false),
        (#"{"path":"a","kind":"File"}"#, false),
        (#"{"path":"a","kind":"fifo"}"#, false),
        (#"{"path":"a","kind":null}"#, false),
        (#"{"path":"a","kind":"symlink","target":null,"hash":null,"hashState":null}"#, true),
        (#"{"path":"a","kind":"symlink","target":7}"#, false),
        (#"{"path":"a","kind":"file","hash":{}}"#, false),
        (#"{"path":"a","kind":"file","hashState":1}"#, false),
        (#"{"path":"a","kind":"file","data":"append"}"#, true),
        (#"{"path":"a","kind":"file","data":"mutable"}"#, true),
        (#"{"path":"a","kind":"file","data":"jsonl"}"#, false),
        (#"{"path":"a","kind":"file","data":1}"#, false),
        (#"{"path":"a","kind":"file","data":null}"#, true),
        (#"{"path":"a","kind":"file","size":null,"mtime":null,"mode":null,"inode":null,"chunkSize":null}"#, true),
        (#"{"path":"a","kind":"file","size":"1"}"#, false),
        (#"{"path":"a","kind":"file","size":true}"#, false),
        (#"{"path":"a","kind":"file","size":1.5}"#, false),
        (#"{"path":"a","kind":"file","size":1.0}"#, true),
        (#"{"path":"a","kind":"file","size":1e3}"#, true),
        (#"{"path":"a","kind":"file","size":-1}"#, true),
        (#"{"path":"a","kind":"file","size":9223372036854775807}"#, true),
        (#"{"path":"a","kind":"file","size":9223372036854775808}"#, false),
        (#"{"path":"a","kind":"file","mtime":-9223372036854775808}"#, true),
        // As a Double, one below the minimum rounds to it: the Codable path takes it, and so must this one.
        (#"{"path":"a","kind":"file","mtime":-9223372036854775809}"#, true),
        (#"{"path":"a","kind":"file","mtime":-1e19}"#, false),
        (#"{"path":"a","kind":"file","mtime":1e19}"#, false),
        (#"{"path":"a","kind":"file","mode":4294967295}"#, true),
        (#"{"path":"a","kind":"file","mode":4294967296}"#, false),
        (#"{"path":"a","kind":"file","mode":-1}"#, false),
        (#"{"path":"a","kind":"file","mode":-0}"#, true),
        (#"{"path":"a","kind":"file","mode":420.25}"#, false),
        (#"{"path":"a","kind":"file","mode":4.2e2}"#, true),
        (#"{"path":"a","kind":"file","inode":18446744073709551615}"#, true),
        (#"{"path":"a","kind":"file","inode":18446744073709551616}"#, false),
        (#"{"path":"a","kind":"file","inode":-1}"#, false),
        (#"{"path":"a","kind":"file","inode":1E2}"#, true),
        (#"{"path":"a","kind":"file","inode":0.5}"#, false),
        (#"{"path":"a","kind":"file","chunkSize":1e-1}"#, false),
        (#"{"path":"a","kind":"file","chunkSize":-0.0}"#, true),
        (#"{"path":"a","kind":"file","firstSeen":false}"#, true),
        (#"{"path":"a","kind":"file","firstSeen":null}"#, true),
        (#"{"path":"a","kind":"file","firstSeen":1}"#, false),
        (#"{"path":"a","kind":"file","firstSeen":"true"}"#, false),
        (#"{"path":"a","kind":"file","chunks":["c0"],"chunkSize":1}"#, true),
        (#"{"path":"a","kind":"file","chunks":[]}"#, true),
        (#"{"path":"a","kind":"file","chunks":null}"#, true),
        (#"{"path":"a","kind":"file","chunks":"c0"}"#, false),
        (#"{"path":"a","kind":"file","chunks":[1]}"#, false),
        (#"{"path":"a","kind":"file","chunks":["c0",null]}"#, false),
        (#"{"path":"a","kind":"file","chunks":{"0":"c0"}}"#, false),
        (#"{"path":"a","kind":"file","unknown":{"deep":[1,{"x":null}],"more":[[],[{}]]},"also":-1.5e-300}"#, true),
        // Of a key given twice, the first counts, whatever the second holds.
        (#"{"path":"a","kind":"file","path":1,"kind":"nope","size":5,"size":"x"}"#, true),
        (#"{"path":1,"kind":"file","path":"a"}"#, false),
        (#"{"path":"a","kind":"file","mode":null,"mode":-1}"#, true),
        (#"{"path":"a","kind":"file","mode":-1,"mode":1}"#, false),
        (#"[]"#, false),
        (#""a""#, false),
        (#"null"#, false),
        (#"1"#, false),
    ]

    @Test(arguments: entries)
    func refusesAnEntryWhereTheCodableDecodingDoes(entry: String, accepted: Bool) {
        let bytes = Array(Self.withEntry(entry).utf8)
        let codable = try? StateDirectory.decode(Manifest.self, from: bytes)
        #expect((codable != nil) == accepted, "the Codable path, on \(entry)")
        #expect(Manifest(json: bytes) == codable, "\(entry)")
    }

    /// Whole manifests and whether the Codable decoding takes them.
    static let documents: [(String, Bool)] = [
        (withEntry(#"{"path":"a","kind":"file"}"#), true),
        (#"{"dataDirs":[],"entries":[],"info":"# + infoJSON + #","version":1,"extra":[{"a":"\/"}]}"#, true),
        (#" {"version":1 , "entries":[ ],"dataDirs":[ ],"info":"# + infoJSON + "}\n", true),
        (#"{"dataDirs":[],"entries":[],"info":"# + infoJSON + "}", false),
        (#"{"dataDirs":[],"entries":[],"info":"# + infoJSON + #","version":"1"}"#, false),
        (#"{"dataDirs":[],"entries":[],"info":"# + infoJSON + #","version":1.5}"#, false),
        (#"{"dataDirs":[],"entries":[],"info":"# + infoJSON + #","version":null}"#, false),
        (#"{"dataDirs":[],"entries":[],"info":"# + infoJSON + #","version":1,"version":"x"}"#, true),
        (#"{"dataDirs":[],"entries":[],"version":1}"#, false),
        (#"{"dataDirs":[],"entries":[],"info":{},"version":1}"#, false),
        (#"{"dataDirs":[],"entries":[],"info":null,"version":1}"#, false),
        (withInfo(infoJSON.replacingOccurrences(of: "2025-", with: "2025_")), false),
        (withInfo(infoJSON.replacingOccurrences(of: #""files":5000"#, with: #""files":5e3"#)), true),
        (withInfo(infoJSON.replacingOccurrences(of: #""files":5000"#, with: #""files":"5""#)), false),
        (#"{"entries":[],"info":"# + infoJSON + #","version":1}"#, false),
        (#"{"dataDirs":"out","entries":[],"info":"# + infoJSON + #","version":1}"#, false),
        (#"{"dataDirs":[1],"entries":[],"info":"# + infoJSON + #","version":1}"#, false),
        (#"{"dataDirs":[],"info":"# + infoJSON + #","version":1}"#, false),
        (#"{"dataDirs":[],"entries":null,"info":"# + infoJSON + #","version":1}"#, false),
        (#"{"dataDirs":[],"entries":{},"info":"# + infoJSON + #","version":1}"#, false),
        (withEntry(#"{"path":"a","kind":"file"},{"path":"b","kind":"file"},{"path":"c"}"#), false),
        (withEntry(#"{"path":"a","kind":"file"}"#) + " x", false),
        (String(withEntry(#"{"path":"a","kind":"file"}"#).dropLast()), false),
        (withEntry(#"{"path":"a","kind":"file",}"#), false),
        (withEntry(#"{"path":"a\ud800","kind":"file"}"#), false),
        (withEntry(#"{"path":"a\u00e9\ud83d\ude00\/","kind":"file"}"#), true),
        ("[" + withEntry(#"{"path":"a","kind":"file"}"#) + "]", false),
        ("", false),
    ]

    @Test(arguments: documents)
    func refusesAManifestWhereTheCodableDecodingDoes(document: String, accepted: Bool) {
        let bytes = Array(document.utf8)
        let codable = try? StateDirectory.decode(Manifest.self, from: bytes)
        #expect((codable != nil) == accepted, "the Codable path, on \(document)")
        #expect(Manifest(json: bytes) == codable, "\(document)")
    }

    @Test func refusesBytesThatAreNotUTF8() throws {
        var bytes = Array(Self.withEntry(#"{"path":"aé","kind":"file"}"#).utf8)
        let index = try #require(bytes.firstIndex(of: 0xC3))
        bytes[index + 1] = 0x28
        #expect((try? StateDirectory.decode(Manifest.self, from: bytes)) == nil)
        #expect(Manifest(json: bytes) == nil)
    }

    @Test func loadReadsTheFastPathsBytesAndRefusesWhatItRefuses() throws {
        let tmp = try TemporaryDirectory()
        let dir = tmp.path
        let manifest = Self.manifests[1].1
        try Data(manifest.encoded()).write(to: URL(fileURLWithPath: dir + "/good.json"))
        #expect(Manifest.load(dir + "/good.json") == manifest)
        try Data(Self.withEntry(#"{"path":"a","kind":"file","mode":-1}"#).utf8)
            .write(to: URL(fileURLWithPath: dir + "/bad.json"))
        #expect(Manifest.load(dir + "/bad.json") == nil)
    }

    /// The parser copies each container's members out of one scratch list when the container ends: nested ones
    /// must keep their own, in order.
    @Test func theParsedTreeKeepsEachContainersOwnMembers() throws {
        func render(_ value: JSONValue) -> String {
            switch value {
            case .string(let text): "s(\(text))"
            case .number(let text): "n(\(text))"
            case .bool(let flag): "\(flag)"
            case .null: "null"
            case .array(let items): "[" + items.map(render).joined(separator: ",") + "]"
            case .object(let members):
                "{" + members.map { $0.key + ":" + render($0.value) }.joined(separator: ",") + "}"
            }
        }
        let line = #"{"a":{"b":[1,{"c":"d","e":[]},[2,[3]]],"f":{}},"g":[{"h":true},{"h":null,"h":"\u00e9\n"}],"#
            + #""i":-0.5e+2}"#
        let tree = try #require(JSONValue.parse(Array(line.utf8)))
        #expect(render(tree)
                == "{a:{b:[n(1),{c:s(d),e:[]},[n(2),[n(3)]]],f:{}},g:[{h:true},{h:null,h:s(é\n)}],i:n(-0.5e+2)}")
    }
}
