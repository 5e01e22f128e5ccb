import Shared
import SnapshotArchive
import Platform

/// Checks the live data dirs against a snapshot's manifest, each file by its kind, and repairs what the deploy
/// damaged without overwriting anything written after the snapshot.
///
/// What counts as damage (``inspect(full:hashed:progress:)``):
/// - an **append-only** file that no longer begins with the bytes the manifest records (shrunk, or changed
///   within them), or that was replaced by a file that does not;
/// - **any** file that vanished;
/// - a **database** that fails `PRAGMA quick_check` (only when asked for a full inspection: the data guard).
/// A mutable file or a database changed or replaced by the running app is expected and never repaired.
/// Rotation is not damage: a file found again by its inode elsewhere in the data dirs was renamed (Python's
/// `RotatingFileHandler`, logrotate `create`); a log whose old bytes now begin a rotated sibling was copied
/// and truncated (logrotate `copytruncate`); a rotated file gone while its log rotated again was rotated away.
///
/// Repairs (``run(progress:)``, before the restart, while the old app writes): a missing file is restored
/// from the snapshot (never replacing a file that appears meanwhile); a shrunk or altered file has its current
/// content preserved beside it as `NAME.shipkeep-<deploy>-<random>` (a new file, never through a link), then
/// the recorded bytes written back in place (same inode, so a bot that holds the file open keeps appending to
/// it). After the new code damaged a file (``repairAside(_:)``, during a rollback), what it wrote is moved aside
/// whole instead — it may still hold the file open — and the snapshot's copy is put in its place. Repairs write
/// through ``DirectoryHandle``: a directory swapped for a link redirects none of them.
struct DataVerifier {
    /// One repaired path, for a `warning` event.
    struct Repair: Equatable {
        var path: String
        var message: String
    }

    struct Outcome {
        var checkedFiles = 0
        var hashedBytes: Int64 = 0
        var repairs: [Repair] = []
    }

    /// What is wrong with one manifest entry.
    struct Damage {
        enum Kind: Equatable {
            case missing
            case shrunk(to: Int64)
            case altered
            case replaced(size: Int64)
            case databaseCorrupt(String)
            /// Not repairable: reported only.
            case notRegular
            case linkOnTheWay(String)
        }

        var entry: Manifest.Entry
        var kind: Kind

        /// `paper_trading_outputs/signals_1.jsonl: 10.0 KiB → 0 B`, and so on; `when` ends the phrase.
        func describe(_ when: String) -> String {
            let recorded = ByteCount.format(entry.size ?? 0)
            switch kind {
            case .missing: return "\(entry.path): vanished \(when)"
            case .shrunk(let size): return "\(entry.path): \(recorded) → \(ByteCount.format(size)) \(when)"
            case .altered: return "\(entry.path): its first \(recorded) changed \(when)"
            case .replaced(let size):
                return "\(entry.path): replaced \(when) by \(ByteCount.format(size)) that do not begin with its "
                    + "\(recorded)"
            case .databaseCorrupt(let why): return "\(entry.path): the database fails quick_check \(when): \(why)"
            case .notRegular: return "\(entry.path): no longer a regular file \(when)"
            case .linkOnTheWay(let link): return "\(entry.path): \(link) is now a symbolic link"
            }
        }

        var repairable: Bool {
            switch kind {
            case .notRegular, .linkOnTheWay: false
            default: true
            }
        }
    }

    /// How deep an inspection looks.
    enum Depth {
        /// Size, inode and presence only: an append-only file that kept its inode and grew is taken as intact
        /// (cheap enough to repeat at every attempt of the health phase).
        case cheap
        /// Also hashes the recorded prefix of every append-only file that changed (verify, before the restart).
        case prefixes
        /// Also runs `quick_check` on every database (the data guard's last word).
        case full
    }

    let root: String
    let store: SnapshotStore
    let manifest: Manifest
    let deploy: String
    private let index: [String: Manifest.Entry]

    /// A verifier of the data under `root` against `manifest`, repairing from `store` on behalf of `deploy`.
    init(root: String, store: SnapshotStore, manifest: Manifest, deploy: String) {
        self.root = root
        self.store = store
        self.manifest = manifest
        self.deploy = deploy
        index = manifest.index()
    }

    /// Verifies every manifest entry and repairs damage in place; `progress` gets (files checked, bytes hashed).
    ///
    /// - Throws: ``FileSystemError`` when a repair itself fails (the data is then left as it was found).
    func run(progress: (Int, Int64) -> Void) throws -> Outcome {
        var outcome = Outcome()
        let damages = try inspect(.prefixes, hashed: &outcome.hashedBytes) { checked, hashed in
            outcome.checkedFiles = checked
            progress(checked, hashed)
        }
        for damage in damages {
            switch damage.kind {
            case .missing:
                outcome.repairs.append(try restoreMissing(damage.entry))
            case .shrunk, .altered:
                outcome.repairs.append(try rewritePrefix(damage.entry))
            case .replaced, .databaseCorrupt:
                outcome.repairs.append(try repairAside(damage))
            case .notRegular:
                outcome.repairs.append(Repair(path: damage.entry.path, message: "\(damage.entry.path) is no longer a "
                    + "regular file; left as it is (the snapshotted copy is in snapshot \(manifest.info.id))"))
            case .linkOnTheWay(let link):
                outcome.repairs.append(Repair(path: damage.entry.path, message: "\(link) is now a symbolic link; what "
                    + "the snapshot holds below it was left alone (it is in snapshot \(manifest.info.id))"))
            }
        }
        return outcome
    }

    /// Verifies every entry in full and repairs what is damaged by moving it aside (``repairAside(_:tail:)``):
    /// after new code ran, which may still hold the damaged files open.
    ///
    /// - Throws: ``FileSystemError`` when an inspection or a repair fails.
    func repairAll(tail: AppendedTail?) throws -> Outcome {
        var outcome = Outcome()
        let damages = try inspect(.full, hashed: &outcome.hashedBytes) { checked, _ in outcome.checkedFiles = checked }
        for damage in damages where damage.repairable {
            outcome.repairs.append(try repairAside(damage, tail: tail))
        }
        return outcome
    }

    /// Finds what is damaged, repairing nothing, as deep as `depth` says.
    ///
    /// - Throws: ``FileSystemError`` when a path cannot be examined.
    func inspect(_ depth: Depth, hashed: inout Int64, progress: (Int, Int64) -> Void = { _, _ in }) throws -> [Damage] {
        var damages: [Damage] = []
        var links: Set<String> = []
        var checked = 0
        var lastReport = ContinuousClock.now
        var live: LiveTree?
        // Each directory is looked up once per pass, not once per entry: a data dir of 5,000 files has a handful.
        let status = EntryStatus(root: root)
        for entry in manifest.entries {
            if let link = try status.linkAbove(entry.path) {
                if links.insert(link).inserted { damages.append(Damage(entry: entry, kind: .linkOnTheWay(link))) }
                continue
            }
            let path = root + "/" + entry.path
            switch entry.kind {
            case .directory:
                if try FileSystem.lstatIfExists(path) == nil {
                    let mode = mode_t(entry.mode ?? 0o755)
                    _ = try DirectoryHandle.open(root: root, relative: entry.path, creating: mode)
                }
            case .symlink:
                if try FileSystem.lstatIfExists(path) == nil, let target = entry.target {
                    let (directory, name) = try DirectoryHandle.parent(of: entry.path, root: root)
                    _ = try directory.makeSymlink(name, target: target)
                }
            case .file:
                if let kind = try assess(entry, path: path, found: status.lstatIfExists(entry.path), depth: depth,
                                         hashed: &hashed, live: &live) {
                    damages.append(Damage(entry: entry, kind: kind))
                }
                checked += 1
                if lastReport.secondsElapsed > 0.2 {
                    progress(checked, hashed)
                    lastReport = .now
                }
            }
        }
        progress(checked, hashed)
        return damages
    }

    /// What is wrong with `entry`, at `path`, which `found` is the `lstat` of (nil: it does not exist).
    private func assess(_ entry: Manifest.Entry, path: String, found: stat?, depth: Depth, hashed: inout Int64,
                        live: inout LiveTree?) throws -> Damage.Kind? {
        func tree() throws -> LiveTree {
            if let live { return live }
            let scanned = try LiveTree(root: root, dataDirs: manifest.dataDirs)
            live = scanned
            return scanned
        }
        let size = entry.size ?? 0
        guard let info = found else {
            if let inode = entry.inode, try tree().paths[inode] != nil { return nil }
            // The app's own passing files (a state file's temporary copy, an editor's swap file) come and go.
            if entry.dataKind == .mutable && (entry.firstSeen == true || Self.isTemporary(entry.path)) { return nil }
            return try rotatedAway(entry, tree()) ? nil : .missing
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { return .notRegular }
        let liveSize = Int64(info.st_size)
        let sameInode = entry.inode.map { $0 == UInt64(info.st_ino) } ?? true
        switch entry.dataKind {
        case .mutable:
            return nil
        case .sqlite:
            guard depth == .full, let problem = SQLiteDatabase.quickCheck(path: path) else { return nil }
            return .databaseCorrupt(problem)
        case .append:
            if sameInode && liveSize == size && FileSystem.mtime(info) == entry.mtime { return nil }
            if !sameInode, let inode = entry.inode, try tree().paths[inode] != nil { return nil }
            if sameInode && liveSize > size && depth == .cheap { return nil }
            if liveSize >= size, try startsWithRecorded(path, entry, hashed: &hashed) { return nil }
            if !sameInode { return try rotatedAway(entry, tree()) ? nil : .replaced(size: liveSize) }
            if try copiedOut(entry, tree(), hashed: &hashed) { return nil }
            return liveSize < size ? .shrunk(to: liveSize) : .altered
        }
    }

    private func startsWithRecorded(_ path: String, _ entry: Manifest.Entry, hashed: inout Int64) throws -> Bool {
        let fd = try FileSystem.open(path, O_RDONLY | O_NOFOLLOW)
        defer { close(fd) }
        // A chunked entry: each chunk of the prefix against the hash its name records, on two threads. As strong
        // a proof as the whole file's hash (each is an XXH64 of the bytes stored), at up to twice the speed.
        if let names = entry.chunks, let chunkSize = entry.chunkSize, let size = entry.size {
            let hashes = ChunkHashes.of(fd: fd, chunkSize: chunkSize, length: size, path: path)
            hashed += size
            return hashes.count == names.count
                && zip(hashes, names).allSatisfy { hash, name in hash == SnapshotChunks.hash(ofName: name) }
        }
        var count: Int64 = 0
        let hash = ContentHash.ofPrefix(fd: fd, length: entry.size ?? 0, onBytes: { count += Int64($0) })
        hashed += count
        return hash == entry.hash
    }

    /// Whether `entry` (vanished, or replaced) went in a rotation: it is a rotated name (`bot.log.3`) and its
    /// log rotated since the snapshot, or it is a log and a rotated sibling appeared since the snapshot.
    private func rotatedAway(_ entry: Manifest.Entry, _ tree: LiveTree) throws -> Bool {
        let (dir, name) = Self.split(entry.path)
        for base in tree.names(in: dir).union(manifestNames(in: dir)) where Self.isRotation(name, of: base) {
            let recorded = index[dir.isEmpty ? base : dir + "/" + base]
            guard let info = try FileSystem.lstatIfExists(root + "/" + (dir.isEmpty ? base : dir + "/" + base)) else {
                if recorded != nil { return true }
                continue
            }
            if recorded?.inode.map({ $0 != UInt64(info.st_ino) }) ?? true { return true }
            if Int64(info.st_size) < recorded?.size ?? 0 { return true }
        }
        return !newSiblings(of: entry, tree).isEmpty
    }

    /// Whether the bytes `entry` recorded now begin a rotated sibling (logrotate `copytruncate`: the log was
    /// copied to `bot.log.1`, then truncated in place). A compressed copy cannot be compared: a new rotated
    /// sibling is then taken as the copy.
    private func copiedOut(_ entry: Manifest.Entry, _ tree: LiveTree, hashed: inout Int64) throws -> Bool {
        let siblings = newSiblings(of: entry, tree)
        for sibling in siblings {
            guard let info = try FileSystem.lstatIfExists(root + "/" + sibling),
                  Int64(info.st_size) >= entry.size ?? 0 else { continue }
            if try startsWithRecorded(root + "/" + sibling, entry, hashed: &hashed) { return true }
        }
        return siblings.contains { $0.hasSuffix(".gz") || $0.hasSuffix(".xz") || $0.hasSuffix(".zst") || $0.hasSuffix(".bz2") }
    }

    /// Rotated siblings of `entry` (`NAME.1`, `NAME-20261201`, …) that are not what the snapshot recorded at
    /// their path: new since the snapshot, or moved there by a rotation.
    private func newSiblings(of entry: Manifest.Entry, _ tree: LiveTree) -> [String] {
        let (dir, name) = Self.split(entry.path)
        return tree.names(in: dir).filter { Self.isRotation($0, of: name) }.compactMap { sibling in
            let path = dir.isEmpty ? sibling : dir + "/" + sibling
            guard let inode = tree.inodes[path] else { return nil }
            return index[path]?.inode == inode ? nil : path
        }
    }

    /// Whether `name` is a rotation of `base`: `base.1`, `base.2.gz`, `base-20261201` — never one of the
    /// agent's own `.shipkeep-` files.
    static func isRotation(_ name: String, of base: String) -> Bool {
        guard name.count > base.count + 1, name.hasPrefix(base), !name.includes(".shipkeep-") else { return false }
        let next = name[name.index(name.startIndex, offsetBy: base.count)]
        return next == "." || next == "-"
    }

    /// Whether the name reads as a temporary file: `x.tmp`, `.x.swp`, `x~`, `.#x`, `x.part`.
    static func isTemporary(_ path: String) -> Bool {
        let name = split(path).name
        return name.hasSuffix("~") || name.hasPrefix(".#")
            || [".tmp", ".temp", ".swp", ".part", ".partial"].contains { name.hasSuffix($0) }
    }

    fileprivate static func split(_ path: String) -> (dir: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        return (String(path[..<slash]), String(path[path.index(after: slash)...]))
    }

    private func manifestNames(in dir: String) -> Set<String> {
        Set(manifest.entries.compactMap { entry in
            let (parent, name) = Self.split(entry.path)
            return parent == dir && entry.kind == .file ? name : nil
        })
    }

    // MARK: - Repairs

    private func restoreMissing(_ entry: Manifest.Entry) throws -> Repair {
        let (directory, name) = try DirectoryHandle.parent(of: entry.path, root: root, creating: 0o755)
        // Linked into place, never replacing: if the app recreated the file meanwhile, its file wins.
        guard try store.putBack(entry, of: manifest.info.id, in: directory, as: name, aside: nil).linked else {
            return Repair(path: entry.path, message: "\(entry.path) was missing and has been recreated by the app")
        }
        return Repair(path: entry.path, message: "\(entry.path) was missing; restored \(entry.size ?? 0) bytes from "
            + "snapshot \(manifest.info.id)")
    }

    private func rewritePrefix(_ entry: Manifest.Entry) throws -> Repair {
        let live = root + "/" + entry.path
        let size = entry.size ?? 0
        // The snapshot's copy is checked whole first: a damaged one must not be half written over the live file.
        try SnapshotFileReader(store: store, id: manifest.info.id, entry: entry).check()
        let (directory, name) = try DirectoryHandle.parent(of: entry.path, root: root)
        let fd = try directory.openFile(name, O_RDWR)
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileSystemError("fstat", live) }
        let liveSize = Int64(info.st_size)
        // Keep what is there now, whole, before touching it: nothing written after the snapshot is lost.
        let preserved = try FileSystem.preserve(fd, length: liveSize, in: directory, as: name + ".shipkeep-\(deploy)")
        var source = try SnapshotFileReader(store: store, id: manifest.info.id, entry: entry)
        _ = try source.copy(to: fd, path: live)
        fsync(fd)
        let what = liveSize < size ? "had shrunk from \(size) to \(liveSize) bytes" : "had changed within its first \(size) bytes"
        return Repair(path: entry.path, message: "\(entry.path) \(what); restored its \(size) snapshotted bytes "
            + "in place; its content before the repair is kept in \(preserved)")
    }

    /// Puts the snapshot's copy of a damaged file back after moving the damaged file aside whole
    /// (``SnapshotStore/putBack(_:of:in:as:aside:companions:unplaced:fill:)``, to `NAME.shipkeep-<deploy>-<random>`:
    /// a process still writing to it keeps writing into the preserved copy, and nothing is copied that could miss
    /// a late write). A database's `-wal`, `-shm` and `-journal` move aside with it: left beside the restored
    /// copy, they would be replayed into it.
    func repairAside(_ damage: Damage, tail: AppendedTail? = nil) throws -> Repair {
        let entry = damage.entry
        if damage.kind == .missing { return try restoreMissing(entry) }
        let (directory, name) = try DirectoryHandle.parent(of: entry.path, root: root)
        let companions = entry.dataKind == .sqlite ? ["-wal", "-journal", "-shm"] : []
        var appended: Int64 = 0
        let fill: ((Int32, String) throws -> Void)? = tail.flatMap { tail in
            entry.dataKind == .append ? { fd, path in appended = try tail.append(entry, to: fd, path: path) } : nil
        }
        let putBack = try store.putBack(entry, of: manifest.info.id, in: directory, as: name,
                                        aside: ".shipkeep-\(deploy)", companions: companions, fill: fill)
        let moved = putBack.aside
        guard putBack.linked else {
            return Repair(path: entry.path, message: damage.describe("after the restart") + "; moved aside to "
                + moved.joined(separator: ", ") + ", but the app had already recreated it, so the snapshot's copy "
                + "was not put back (it is in snapshot \(manifest.info.id))")
        }
        let later = appended > 0 ? " and the \(ByteCount.format(appended)) appended before the restart" : ""
        return Repair(path: entry.path, message: damage.describe("after the restart") + "; restored its "
            + "\(ByteCount.format(entry.size ?? 0)) from snapshot \(manifest.info.id)\(later), what was there is kept in "
            + moved.joined(separator: ", "))
    }
}

/// The regular files under the data dirs now, by inode and by directory: how verify recognises a file that a
/// rotation renamed.
private struct LiveTree {
    var paths: [UInt64: String] = [:]
    var inodes: [String: UInt64] = [:]
    private var byDir: [String: Set<String>] = [:]

    init(root: String, dataDirs: [String]) throws {
        for item in try DataScan.walk(root: root, dataDirs: dataDirs).items where (item.info.st_mode & S_IFMT) == S_IFREG {
            let inode = UInt64(item.info.st_ino)
            paths[inode] = item.path
            inodes[item.path] = inode
            let (dir, name) = DataVerifier.split(item.path)
            byDir[dir, default: []].insert(name)
        }
    }

    func names(in dir: String) -> Set<String> { byDir[dir] ?? [] }
}
