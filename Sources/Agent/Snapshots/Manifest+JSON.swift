import Shared

/// The manifest's JSON without the Codable machinery: a deploy of a data dir with thousands of files reads two
/// manifests and writes one, and the generic decoder and encoder spent most of their time on each entry's
/// containers and keys, not on the bytes. Reads what `StateDirectory.decode(Manifest.self, from:)` reads and
/// refuses what it refuses; writes the bytes `StateDirectory.encode(_:)` writes (sorted keys, `/` escaped,
/// nil fields left out). `ManifestJSONTests` holds both to that. The small ``SnapshotInfo`` still goes
/// through Codable, from and to its own subtree.
extension Manifest {
    /// The manifest `bytes` hold, or nil where the Codable decoding throws: not JSON, a required key missing or
    /// null, a value of the wrong type, a number out of its field's range, an unknown kind. Unknown keys are
    /// ignored; of a key given twice the first counts; an optional key that is absent or null is nil.
    init?(json bytes: [UInt8]) {
        guard let tree = JSONValue.parse(bytes), let manifest = try? ManifestReader.manifest(tree) else { return nil }
        self = manifest
    }

    /// The manifest as `manifest.json` holds it.
    func encoded() -> [UInt8] {
        guard let info = try? JSONEncoding.encode(info, escapingSlashes: true) else { return [] }
        var writer = ManifestWriter()
        // About what an entry of a small file takes, so that the buffer rarely grows.
        writer.bytes.reserveCapacity(info.count + 256 + entries.count * 192)
        writer.bytes += #"{"dataDirs":"#.utf8
        writer.strings(dataDirs)
        writer.bytes += #","entries":["#.utf8
        for (index, entry) in entries.enumerated() {
            if index > 0 { writer.bytes.append(UInt8(ascii: ",")) }
            writer.entry(entry)
        }
        writer.bytes += #"],"info":"#.utf8
        writer.bytes += info
        writer.bytes += #","version":"#.utf8
        writer.bytes += String(version).utf8
        writer.bytes.append(UInt8(ascii: "}"))
        return writer.bytes
    }
}

/// Writes the manifest's JSON as the Codable encoding does: an object's keys in the order `String` sorts them, a
/// nil optional left out, every string through Shared's one escaping.
private struct ManifestWriter {
    var bytes: [UInt8] = []
    /// Members written of the object being written.
    private var members = 0

    mutating func entry(_ entry: Manifest.Entry) {
        members = 0
        add("chunkSize", entry.chunkSize)
        if let chunks = entry.chunks {
            key("chunks")
            strings(chunks)
        }
        add("data", entry.data?.rawValue)
        if let firstSeen = entry.firstSeen {
            key("firstSeen")
            bytes += (firstSeen ? "true" : "false").utf8
        }
        add("hash", entry.hash)
        add("hashState", entry.hashState)
        add("inode", entry.inode)
        add("kind", entry.kind.rawValue)
        add("mode", entry.mode)
        add("mtime", entry.mtime)
        add("path", entry.path)
        add("size", entry.size)
        add("target", entry.target)
        if members == 0 { bytes.append(UInt8(ascii: "{")) }
        bytes.append(UInt8(ascii: "}"))
    }

    mutating func strings(_ list: [String]) {
        bytes.append(UInt8(ascii: "["))
        for (index, text) in list.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            JSONEncoding.appendString(text, escapingSlashes: true, to: &bytes)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// `{` before an object's first key, `,` before each other.
    private mutating func key(_ name: StaticString) {
        bytes.append(members == 0 ? UInt8(ascii: "{") : UInt8(ascii: ","))
        members += 1
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes += $0 }
        bytes += #"":"#.utf8
    }

    private mutating func add(_ name: StaticString, _ value: String?) {
        guard let value else { return }
        key(name)
        JSONEncoding.appendString(value, escapingSlashes: true, to: &bytes)
    }

    private mutating func add(_ name: StaticString, _ value: (some FixedWidthInteger)?) {
        guard let value else { return }
        key(name)
        bytes += String(value).utf8
    }
}

/// Maps a parsed manifest to ``Manifest`` as the synthesized `init(from:)`s decode it.
private enum ManifestReader {
    /// Where the Codable decoding would have thrown.
    struct Refused: Error {}

    static func manifest(_ tree: JSONValue) throws(Refused) -> Manifest {
        var version: Int?, info: SnapshotInfo?, dataDirs: [String]?, entries: [Manifest.Entry]?
        var seen = Seen()
        for (key, value) in try members(tree) {
            switch key {
            case "version" where seen.first(0): version = try integer(value)
            case "info" where seen.first(1):
                do { info = try JSONDecoding.decode(SnapshotInfo.self, from: value) } catch { throw Refused() }
            case "dataDirs" where seen.first(2): dataDirs = try strings(value)
            case "entries" where seen.first(3):
                guard case .array(let items) = value else { throw Refused() }
                var list: [Manifest.Entry] = []
                list.reserveCapacity(items.count)
                for item in items { list.append(try entry(item)) }
                entries = list
            default: continue
            }
        }
        guard let version, let info, let dataDirs, let entries else { throw Refused() }
        return Manifest(version: version, info: info, dataDirs: dataDirs, entries: entries)
    }

    static func entry(_ tree: JSONValue) throws(Refused) -> Manifest.Entry {
        var path: String?, kind: Manifest.Entry.Kind?
        var size: Int64?, mtime: Int64?, mode: UInt32?, hash: String?, target: String?, data: DataKind?
        var inode: UInt64?, firstSeen: Bool?, chunks: [String]?, chunkSize: Int64?, hashState: String?
        var seen = Seen()
        for (key, value) in try members(tree) {
            switch key {
            case "path" where seen.first(0): path = try string(value)
            case "kind" where seen.first(1):
                guard let known = Manifest.Entry.Kind(rawValue: try string(value)) else { throw Refused() }
                kind = known
            case "size" where seen.first(2): size = try optional(value, integer)
            case "mtime" where seen.first(3): mtime = try optional(value, integer)
            case "mode" where seen.first(4): mode = try optional(value, integer)
            case "hash" where seen.first(5): hash = try optional(value, string)
            case "target" where seen.first(6): target = try optional(value, string)
            case "data" where seen.first(7):
                data = try optional(value) { (value) throws(Refused) in
                    guard let known = DataKind(rawValue: try string(value)) else { throw Refused() }
                    return known
                }
            case "inode" where seen.first(8): inode = try optional(value, integer)
            case "firstSeen" where seen.first(9):
                firstSeen = try optional(value) { (value) throws(Refused) in
                    guard case .bool(let flag) = value else { throw Refused() }
                    return flag
                }
            case "chunks" where seen.first(10): chunks = try optional(value, strings)
            case "chunkSize" where seen.first(11): chunkSize = try optional(value, integer)
            case "hashState" where seen.first(12): hashState = try optional(value, string)
            default: continue
            }
        }
        guard let path, let kind else { throw Refused() }
        return Manifest.Entry(path: path, kind: kind, size: size, mtime: mtime, mode: mode, hash: hash, target: target,
                              data: data, inode: inode, firstSeen: firstSeen, chunks: chunks, chunkSize: chunkSize,
                              hashState: hashState)
    }

    /// Which keys an object gave already: the decoding keeps the first of a key given twice.
    struct Seen {
        var bits: UInt32 = 0

        /// Whether key number `index` comes for the first time (and marks it).
        mutating func first(_ index: Int) -> Bool {
            let bit: UInt32 = 1 << index
            defer { bits |= bit }
            return bits & bit == 0
        }
    }

    static func members(_ value: JSONValue) throws(Refused) -> [(key: String, value: JSONValue)] {
        guard case .object(let members) = value else { throw Refused() }
        return members
    }

    static func string(_ value: JSONValue) throws(Refused) -> String {
        guard case .string(let text) = value else { throw Refused() }
        return text
    }

    static func strings(_ value: JSONValue) throws(Refused) -> [String] {
        guard case .array(let items) = value else { throw Refused() }
        var list: [String] = []
        list.reserveCapacity(items.count)
        for item in items { list.append(try string(item)) }
        return list
    }

    static func integer<T: FixedWidthInteger>(_ value: JSONValue) throws(Refused) -> T {
        guard case .number(let text) = value, let number = JSONDecoding.integer(T.self, spelled: text) else {
            throw Refused()
        }
        return number
    }

    /// `read(value)`, or nil for a null (`decodeIfPresent`: an absent key never gets here).
    static func optional<T>(_ value: JSONValue, _ read: (JSONValue) throws(Refused) -> T) throws(Refused) -> T? {
        if case .null = value { return nil }
        return try read(value)
    }
}
