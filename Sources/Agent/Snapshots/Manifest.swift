import Platform
import Shared

/// What a snapshot holds: every entry of every data dir at the moment it was copied. Written last, as
/// `manifest.json`, and a snapshot counts as complete only once its manifest has been renamed into place.
/// ``load(_:)`` and ``encoded()`` use the manifest's own JSON coder (`Manifest+JSON.swift`); the Codable
/// conformance stays the reference it is held to.
struct Manifest: Codable, Equatable {
    /// One file, directory or symbolic link, by its path relative to the work tree. A new field goes into
    /// `Manifest+JSON.swift` too (reader and writer) and into `ManifestJSONTests.everyField`.
    struct Entry: Codable, Equatable {
        enum Kind: String, Codable {
            case file, directory, symlink
        }

        var path: String
        var kind: Kind
        /// Bytes (files).
        var size: Int64?
        /// Modification time in nanoseconds (files).
        var mtime: Int64?
        /// Permission bits.
        var mode: UInt32?
        /// `xxh64:…` of the `size` bytes (files).
        var hash: String?
        /// Where a symbolic link points (never followed).
        var target: String?
        /// How the file is kept whole (files). Manifests written before kinds existed have none: their files
        /// are treated as append-only, as they were then.
        var data: DataKind?
        /// The file's inode when it was snapshotted: a rotation renames it, and verify finds it again by it.
        var inode: UInt64?

        /// True when the previous snapshot did not hold this path: the file may be one the app creates and
        /// removes by itself, which verify does not resurrect if it is mutable.
        var firstSeen: Bool?

        /// The chunked layout (``SnapshotChunks``): the file's bytes are stored as chunks of `chunkSize` bytes
        /// (the last one shorter), in the snapshot's chunk dir under these names, in order; `hash` stays the
        /// hash of the whole file. Nil: the file is stored whole at its path in the snapshot.
        var chunks: [String]?
        /// Bytes per chunk of a chunked file.
        var chunkSize: Int64?
        /// The state of `hash` after the file's first chunks (a whole number of them), as
        /// ``ContentHash/checkpoint`` (chunked files): the next snapshot, once it has proven and linked those
        /// chunks, carries `hash` on from there instead of hashing their bytes a second time. Nil in manifests
        /// written before it existed: the next snapshot then hashes the whole file.
        var hashState: String?

        /// The kind, for manifests that predate kinds too.
        var dataKind: DataKind { data ?? .append }
    }

    var version = 1
    var info: SnapshotInfo
    var dataDirs: [String]
    var entries: [Entry]

    /// Entries by path.
    func index() -> [String: Entry] {
        Dictionary(entries.map { ($0.path, $0) }, uniquingKeysWith: { _, last in last })
    }

    static let fileName = "manifest.json"

    static func load(_ path: String) -> Manifest? {
        guard let bytes = FileSystem.read(path) else { return nil }
        // `init(json:)` reads what `StateDirectory.decode(Manifest.self, from:)` reads, at a fraction of its cost.
        guard let manifest = Manifest(json: bytes), manifest.isUsable else { return nil }
        return manifest
    }

    /// Whether every entry can be used as it is: paths are joined to the work tree and the snapshot dir before
    /// anything is written, so one that could climb out of them (`..`, absolute) makes the whole manifest
    /// unusable; chunk names are joined to the chunk dir, so each must be a chunk's name, and the list must
    /// cover the size.
    var isUsable: Bool {
        entries.allSatisfy { RelativePath.isValid($0.path) && SnapshotChunks.isWellFormed($0) }
    }
}
