import CAgentSupport
import Shared
import Platform
import SnapshotArchive
import Synchronization

/// Why a snapshot could not be taken.
struct SnapshotError: Error, CustomStringConvertible {
    var message: String
    var noSpace: Bool
    var description: String { message }
}

/// The snapshots of one app: incremental, hard-link-deduplicated copies of its data dirs.
///
/// A file unchanged since the previous snapshot (same size and mtime) is hard-linked to it; a changed one is
/// copied with `copy_file_range`, or, above one chunk, stored as chunks of which only those that changed are
/// written (``SnapshotChunks``). Files are read-only. A snapshot is complete only when `manifest.json` is
/// in it and the `.partial` directory has been renamed to its id; partial ones are never used and are
/// removed before the next snapshot. Retention: ``RetentionPolicy``.
struct SnapshotStore {
    let dir: String

    private static let partialSuffix = ".partial"
    /// The snapshot's ``SnapshotInfo`` alone, beside its manifest: what status reads instead of the manifest.
    static let infoName = "info.json"

    /// How many complete snapshots there are and when the newest was completed, without reading any manifest
    /// (status runs often and a manifest of a large data dir is megabytes).
    func count() -> SnapshotCount {
        let complete = complete()
        let latest = complete.max { $0.written < $1.written }
        let newest = latest.map { Timestamp(timeIntervalSince1970: Double($0.written) / 1e9) }
        let info = latest.flatMap { FileSystem.read(dir + "/" + $0.name + "/" + Self.infoName) }
            .flatMap { try? StateDirectory.decode(SnapshotInfo.self, from: $0) }
        return SnapshotCount(count: complete.count, newest: newest, kinds: info?.kinds)
    }

    /// The complete snapshots (those with a manifest, usable or not), unordered, with when each manifest was
    /// written (ns since the epoch); no manifest is read.
    private func complete() -> [(name: String, written: Int64)] {
        guard let names = try? FileSystem.names(in: dir) else { return [] }
        return names.compactMap { name in
            guard !name.hasSuffix(Self.partialSuffix), !name.hasPrefix(".") else { return nil }
            var info = stat()
            guard stat(dir + "/" + name + "/" + Manifest.fileName, &info) == 0 else { return nil }
            return (name, FileSystem.mtime(info))
        }
    }

    /// Complete snapshots whose manifests are usable, oldest first (in the order of ``ids()``).
    func list() -> [Manifest] {
        let ids = ids()
        ManifestCache.shared.keep(only: Set(ids.map { dir + "/" + $0 + "/" + Manifest.fileName }), under: dir)
        return ids.compactMap { manifest($0) }
    }

    /// The ids of the complete snapshots (those with a manifest, usable or not), oldest first, without reading
    /// any manifest: by the UTC second an id begins with, then by when its manifest was written (to the
    /// nanosecond: snapshots of fast deploys share a second), then by name. A name that is not an id is
    /// placed by its manifest's time alone.
    func ids() -> [String] {
        complete().map { name, written in
            let prefix = name.prefix(16)
            let second = Self.isSecond(prefix)
                ? String(prefix) : Timestamp.compact(Timestamp(timeIntervalSince1970: Double(written) / 1e9))
            return (second: second, written: written, name: name)
        }
        .sorted { ($0.second, $0.written, $0.name) < ($1.second, $1.written, $1.name) }.map(\.name)
    }

    /// Whether `text` is `yyyyMMddTHHmmssZ`.
    private static func isSecond(_ text: Substring) -> Bool {
        text.utf8.count == 16 && text.utf8.enumerated().allSatisfy { index, byte in
            switch index {
            case 8: byte == UInt8(ascii: "T")
            case 15: byte == UInt8(ascii: "Z")
            default: byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            }
        }
    }

    /// The newest complete snapshot whose manifest is usable; only that manifest is read (and any newer
    /// unusable ones).
    func latest() -> Manifest? {
        for id in ids().reversed() {
            if let manifest = manifest(id) { return manifest }
        }
        return nil
    }

    /// The snapshot with this id.
    func manifest(_ id: String) -> Manifest? {
        guard (try? SnapshotID(validating: id)) != nil, !id.hasSuffix(Self.partialSuffix) else { return nil }
        return ManifestCache.shared.load(dir + "/" + id + "/" + Manifest.fileName)
    }

    /// The summary of each complete snapshot, oldest first: its `info.json` (small, and the only file that
    /// records the outcome), else its manifest's for a snapshot taken before `info.json` existed.
    func infos() -> [SnapshotInfo] {
        ids().compactMap { info($0) }
    }

    /// The summary of snapshot `id` (see ``infos()``).
    func info(_ id: String) -> SnapshotInfo? {
        guard (try? SnapshotID(validating: id)) != nil, !id.hasSuffix(Self.partialSuffix) else { return nil }
        if let bytes = FileSystem.read(dir + "/" + id + "/" + Self.infoName),
           let info = try? StateDirectory.decode(SnapshotInfo.self, from: bytes), info.id == id {
            return info
        }
        return manifest(id)?.info
    }

    /// The id a request names: `latest` is the newest complete snapshot whose manifest is usable.
    func resolve(_ id: String) -> String? {
        id == Self.latestName ? latest()?.info.id : id
    }

    /// What `--snapshot` takes for the newest snapshot.
    static let latestName = SnapshotID.latestName

    /// Records how what took snapshot `id` ended, in its `info.json` (replaced by rename: never half-written).
    func recordOutcome(_ id: String, outcome: Outcome) {
        guard var info = info(id) else { return }
        info.outcome = outcome
        try? FileSystem.writeAtomically(StateDirectory.encode(info), to: dir + "/" + id + "/" + Self.infoName,
                                        mode: 0o400)
    }

    /// The stored copy of `path` in snapshot `id`.
    func filePath(_ id: String, _ path: String) -> String { dir + "/" + id + "/" + path }

    /// Removes snapshots that never completed (a crash or a full disk mid-copy), and what is left of pruned ones.
    func removePartials() {
        guard let names = try? FileSystem.names(in: dir) else { return }
        for name in names where name.hasSuffix(Self.partialSuffix) || name.hasPrefix(Self.prunedPrefix) {
            FileSystem.removeTree(dir + "/" + name)
        }
    }

    /// What a pruned snapshot is renamed to until its files are removed: hidden, so no listing sees it.
    private static let prunedPrefix = ".pruned-"

    /// Removes the files of the snapshots ``prune(_:deferringRemoval:)`` set aside. Safe without the lock and
    /// beside another remover: nothing reads or links from a set-aside snapshot.
    func removePruned() {
        guard let names = try? FileSystem.names(in: dir) else { return }
        for name in names where name.hasPrefix(Self.prunedPrefix) { FileSystem.removeTree(dir + "/" + name) }
    }

    /// Keeps the newest `keep` complete snapshots and removes the rest.
    func prune(keep: Int) -> [String] {
        prune(RetentionPolicy(keep: keep))
    }

    /// Removes the complete snapshots `policy` does not keep; returns their ids, oldest first.
    ///
    /// - Parameter deferringRemoval: only rename each one out of sight (one `rename`, where removing thousands
    ///   of files takes a tenth of a second), for ``removePruned()`` to remove once the deploy has answered.
    ///   Either way the snapshot is gone from every listing when this returns.
    func prune(_ policy: RetentionPolicy, deferringRemoval: Bool = false) -> [String] {
        let all = ids()
        // A snapshot whose summary cannot be read counts as a successful one of long ago: retention by count
        // still removes it in its turn, as before policies.
        let kept = policy.kept(all.map { id in
            let info = info(id)
            return .init(id: id, createdAt: info?.createdAt ?? .distantPast, successful: info?.isSuccessful ?? true)
        })
        let doomed = all.filter { !kept.contains($0) }
        for id in doomed {
            let path = dir + "/" + id
            if deferringRemoval && rename(path, dir + "/" + Self.prunedPrefix + id) == 0 { continue }
            FileSystem.removeTree(path)
        }
        return doomed
    }

    /// Takes a snapshot of `scan`'s entries under `root`.
    ///
    /// - Parameter progress: called with (files done, bytes done) now and then.
    /// - Throws: ``SnapshotError``; the partial snapshot is removed first.
    func create(root: String, dataDirs: [String], kinds: DataKindRules = DataKindRules(), scan: DataScan,
                deploy: String, commit: String?, origin: String? = nil, afterFirstCopy: () -> Void = {},
                progress: (Int, Int64) -> Void) throws -> Manifest {
        removePartials()
        do {
            try FileSystem.makeDirectories(dir)
        } catch {
            throw SnapshotError(message: "cannot create the snapshot dir: \(error)", noSpace: false)
        }
        // In whole seconds, as the manifest records it: the manifest returned is the one a reader decodes.
        let created = Timestamp(timeIntervalSince1970: Timestamp.now().timeIntervalSince1970.rounded(.down))
        let existing = Set((try? FileSystem.names(in: dir)) ?? [])
        let id = Self.id(for: created, commit: commit, existing: existing)
        let partial = dir + "/" + id + Self.partialSuffix
        do {
            return try build(id: id, partial: partial, created: created, root: root, dataDirs: dataDirs, kinds: kinds,
                             scan: scan, deploy: deploy, commit: commit, origin: origin,
                             afterFirstCopy: afterFirstCopy, progress: progress)
        } catch let error as SnapshotError {
            FileSystem.removeTree(partial)
            throw error
        } catch let error as FileSystemError {
            FileSystem.removeTree(partial)
            throw SnapshotError(message: error.isNoSpace ? "the snapshot filesystem is full (\(error))" : "\(error)",
                                noSpace: error.isNoSpace)
        } catch {
            FileSystem.removeTree(partial)
            throw SnapshotError(message: "\(error)", noSpace: false)
        }
    }

    private func build(id: String, partial: String, created: Timestamp, root: String, dataDirs: [String],
                       kinds: DataKindRules, scan: DataScan,
                       deploy: String, commit: String?, origin: String?, afterFirstCopy: () -> Void,
                       progress: (Int, Int64) -> Void) throws -> Manifest {
        guard mkdir(partial, 0o700) == 0 else { throw FileSystemError("mkdir", partial) }
        let previous = latest()
        let previousIndex = previous?.index() ?? [:]
        var files = 0, linked = 0, copied = 0
        var kindCounts: [String: Int] = [:]
        var bytes: Int64 = 0, copiedBytes: Int64 = 0
        var lastReport = ContinuousClock.now
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        var parents = DirectoryHandle.Parents(root: root)
        var pool = ChunkPool(snapshot: partial)
        var chunkBuffer: UnsafeMutableRawBufferPointer?
        defer { chunkBuffer?.deallocate() }
        var wroteAny = false
        func wrote() {
            if !wroteAny { afterFirstCopy() }
            wroteAny = true
        }

        // The directories first, so that the unchanged files can be linked into them while the rest is copied.
        for item in scan.items where item.info.st_mode & S_IFMT == S_IFDIR {
            let destination = partial + "/" + item.path
            // A nested data dir (`var/data`) starts the walk below parents the snapshot does not have yet.
            try FileSystem.makeDirectories(PathName.parent(of: destination))
            guard mkdir(destination, 0o700) == 0 else { throw FileSystemError("mkdir", destination) }
        }
        let (linking, positions) = linkUnchangedWholeFiles(scan, root: root, partial: partial, previous: previous,
                                                           previousIndex: previousIndex)
        // A snapshot that fails has its partial dir removed: not while files are still linked into it.
        defer { linking.wait() }
        // Each item's entry, by its position in the scan (the manifest keeps the scan's order).
        var slots = [Manifest.Entry?](repeating: nil, count: scan.items.count)
        func count(_ entry: Manifest.Entry) {
            files += 1
            bytes += entry.size ?? 0
            kindCounts[entry.dataKind.rawValue, default: 0] += 1
            if lastReport.secondsElapsed > 0.2 {
                progress(files, bytes)
                lastReport = .now
            }
        }

        /// Takes the item at `position` into the snapshot: its entry goes into `slots`.
        func take(_ position: Int) throws {
            let item = scan.items[position]
            let source = root + "/" + item.path
            let destination = partial + "/" + item.path
            switch item.info.st_mode & S_IFMT {
            case S_IFDIR:
                slots[position] = .init(path: item.path, kind: .directory, mode: UInt32(item.info.st_mode & 0o7777))
            case S_IFLNK:
                let length = readlink(source, &buffer, buffer.count - 1)
                guard length >= 0 else { return }
                let target = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                guard symlink(target, destination) == 0 else { throw FileSystemError("symlink", destination) }
                slots[position] = .init(path: item.path, kind: .symlink, target: target)
            default:
                // A database's -wal, -shm and -journal are in its backup.
                guard !item.isDatabaseCompanion else { return }
                // Stat again: the bot may have appended since the scan. The snapshot holds the bytes up to now.
                guard let info = try FileSystem.lstatIfExists(source), (info.st_mode & S_IFMT) == S_IFREG else { return }
                let size = Int64(info.st_size)
                let mtime = FileSystem.mtime(info)
                var entry = Manifest.Entry(path: item.path, kind: .file, size: size, mtime: mtime,
                                           mode: UInt32(info.st_mode & 0o7777), inode: UInt64(info.st_ino))
                let old = previousIndex[item.path]
                // A file the previous snapshot did not have may be one the app only passes through (a state
                // file's temporary copy, renamed away a moment later): verify does not bring such a one back.
                if previous != nil && old == nil { entry.firstSeen = true }
                // A database is backed up every time: commits in its -wal change neither its size nor its mtime.
                if let previous, let old, old.kind == .file, old.size == size, old.mtime == mtime,
                   let kind = old.data, kind != .sqlite,
                   try linkUnchanged(old, of: previous.info.id, to: destination, pool: &pool, entry: &entry) {
                    entry.hash = old.hash
                    entry.data = kind
                    linked += 1
                } else {
                    entry.data = kinds.kind(of: item.path, isSQLite: DataClassifier.hasSQLiteHeader(source))
                    var sameAsPrevious = false
                    if entry.data == .sqlite {
                        // SQLite refuses a link anywhere on the path: below the work tree, as the copies do.
                        let database = (FileSystem.realPath(root) ?? root) + "/" + item.path
                        let previousFile = previous.map { filePath($0.info.id, item.path) }
                        sameAsPrevious = try backUpDatabase(&entry, from: database, to: destination, previous: old,
                                                            previousFile: previousFile)
                    } else {
                        let written = pool.writtenBytes
                        do {
                            if Self.chunks(size, dataDirs: dataDirs) {
                                if chunkBuffer == nil {
                                    chunkBuffer = .allocate(byteCount: Int(SnapshotChunks.size),
                                                            alignment: ContentHash.bufferAlignment)
                                }
                                try copyChunked(item.path, in: &parents, entry: &entry, size: size, old: old,
                                                previous: previous?.info.id, pool: &pool, buffer: chunkBuffer!,
                                                afterWrite: wrote)
                            } else {
                                entry.hash = try copyFile(item.path, in: &parents, to: destination, size: &entry.size,
                                                          mtime: mtime)
                            }
                        } catch let error as FileSystemError where error.code == ENOENT && error.operation == "open" {
                            return  // gone since the scan (a temporary file renamed away): not part of the data now
                        }
                        // A chunked file whose every chunk was proven unchanged and linked wrote nothing.
                        sameAsPrevious = entry.chunks != nil && pool.writtenBytes == written
                    }
                    if sameAsPrevious {
                        linked += 1
                    } else {
                        copied += 1
                        copiedBytes += entry.chunks == nil ? entry.size ?? 0 : 0
                        if entry.chunks == nil { wrote() }
                    }
                }
                count(entry)
                slots[position] = entry
            }
        }

        let linkedLater = Set(positions)
        for position in scan.items.indices where !linkedLater.contains(position) { try take(position) }
        for (position, info) in zip(positions, linking.finish()) {
            let item = scan.items[position]
            guard let info, let old = previousIndex[item.path] else {
                try take(position)  // changed or gone meanwhile, or the link failed: the usual path says which
                continue
            }
            let entry = Manifest.Entry(path: item.path, kind: .file, size: Int64(info.st_size),
                                       mtime: FileSystem.mtime(info), mode: UInt32(info.st_mode & 0o7777),
                                       hash: old.hash, data: old.data, inode: UInt64(info.st_ino))
            linked += 1
            count(entry)
            slots[position] = entry
        }
        let entries = slots.compactMap { $0 }
        progress(files, bytes)

        // Bytes written: whole files copied, plus the chunks written (linked ones cost nothing).
        copiedBytes += pool.writtenBytes
        var info = SnapshotInfo(id: id, createdAt: created, deploy: deploy, commit: commit, files: files, bytes: bytes,
                                linked: linked, copied: copied, copiedBytes: copiedBytes)
        info.kinds = kindCounts
        info.origin = origin
        let manifest = Manifest(info: info, dataDirs: dataDirs, entries: entries)
        let manifestPath = partial + "/" + Manifest.fileName
        try FileSystem.writeAtomically(StateDirectory.encode(info), to: partial + "/" + Self.infoName, mode: 0o400)
        try FileSystem.writeAtomically(manifest.encoded(), to: manifestPath, mode: 0o400)
        // One syncfs makes every copied file durable before the snapshot is declared complete.
        let fd = try FileSystem.open(partial, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        guard shipkeep_syncfs(fd) == 0 else { throw FileSystemError("syncfs", partial) }
        guard rename(partial, dir + "/" + id) == 0 else { throw FileSystemError("rename", partial) }
        FileSystem.syncDirectory(of: dir + "/" + id)
        // Verify, the tail capture and the data guard read it next: not decoded again from the file just written.
        ManifestCache.shared.remember(manifest, at: dir + "/" + id + "/" + Manifest.fileName)
        return manifest
    }

    /// Starts linking the files of `scan` that `previous` stores whole and that are unchanged since (see
    /// ``UnchangedLinks``); returns the links under way and the position in `scan` of each file they take. The
    /// same files as the snapshot's loop links: not a database, nor a database's companion, nor a chunked file
    /// (whose chunks it links one by one).
    private func linkUnchangedWholeFiles(_ scan: DataScan, root: String, partial: String, previous: Manifest?,
                                         previousIndex: [String: Manifest.Entry]) -> (UnchangedLinks, [Int]) {
        guard let previous else { return (UnchangedLinks.start([], []), []) }
        let stored = dir + "/" + previous.info.id
        var positions: [Int] = []
        var candidates: [UnchangedLinks.Candidate] = []
        var directories: [UnchangedLinks.Directory] = []
        var known: [Substring: Int] = [:]
        for (position, item) in scan.items.enumerated()
        where item.info.st_mode & S_IFMT == S_IFREG && !item.isDatabaseCompanion {
            guard let old = previousIndex[item.path], old.kind == .file, old.chunks == nil,
                  let kind = old.data, kind != .sqlite, let size = old.size, let mtime = old.mtime,
                  let (directory, name) = PathName.directoryAndName(item.path) else { continue }
            let index = known[directory] ?? {
                let inside = directory.isEmpty ? "" : "/" + directory
                directories.append(.init(source: root + inside, stored: stored + inside, destination: partial + inside))
                known[directory] = directories.count - 1
                return directories.count - 1
            }()
            positions.append(position)
            candidates.append(.init(directory: index, name: String(name), size: size, mtime: mtime))
        }
        return (UnchangedLinks.start(directories, candidates), positions)
    }

    /// Copies `size` bytes (fewer if the file shrank) of the data file `path` into a new read-only file and
    /// hashes the copy. The data file is opened by descriptor from the work tree down: a directory swapped for a
    /// link since the scan fails the snapshot instead of copying what the link points to.
    private func copyFile(_ path: String, in parents: inout DirectoryHandle.Parents, to destination: String,
                          size: inout Int64?, mtime: Int64) throws -> String {
        let (directory, name) = try parents.parent(of: path)
        let input = try directory.openFile(name, O_RDONLY)
        defer { close(input) }
        let output = try FileSystem.open(destination, O_RDWR | O_CREAT | O_EXCL, 0o400)
        defer { close(output) }
        let copied = try FileSystem.copy(from: input, to: output, length: size ?? 0, path: destination)
        size = copied
        FileSystem.setMtime(output, mtime)
        guard let hash = ContentHash.ofPrefix(fd: output, length: copied) else {
            throw FileSystemError("read", destination, EIO)
        }
        return hash
    }

    /// `20261125T101500Z-3f2c1e0b`, made unique among `existing`.
    static func id(for date: Timestamp, commit: String?, existing: Set<String>) -> String {
        let base = Timestamp.compact(date) + (commit.map { "-" + $0.prefix(8) } ?? "")
        var id = base
        var counter = 2
        while existing.contains(id) {
            id = "\(base)-\(counter)"
            counter += 1
        }
        return id
    }
}

/// Manifests this process has read, by path and file identity: the manifest of a data dir of 10,000 files
/// takes tens of milliseconds to decode, and a deploy wants the newest one twice (the space check, then the
/// snapshot that links against it). A complete snapshot's manifest is never changed in place; one that is
/// (a new inode, size, mtime or ctime) is read — and validated — again.
final class ManifestCache: @unchecked Sendable {
    static let shared = ManifestCache()

    // Every access holds `lock`.
    private let lock = Mutex(())
    private var entries: [String: (identity: FileIdentity, manifest: Manifest?)] = [:]

    /// The manifest at `path` (nil when missing or unusable), decoded only if this file was not read before.
    func load(_ path: String) -> Manifest? {
        guard let identity = FileIdentity(path: path) else {
            lock.withLock { _ in entries[path] = nil }
            return nil
        }
        if let known = lock.withLock({ _ in entries[path] }), known.identity == identity { return known.manifest }
        let manifest = Manifest.load(path)
        lock.withLock { _ in entries[path] = (identity, manifest) }
        return manifest
    }

    /// Takes `manifest` as what the file at `path` holds, for as long as that file stays as it is now: for the
    /// writer of the file, which need not decode what it has just encoded. Not kept when a reader would refuse it.
    func remember(_ manifest: Manifest, at path: String) {
        guard manifest.isUsable, let identity = FileIdentity(path: path) else { return }
        lock.withLock { _ in entries[path] = (identity, manifest) }
    }

    /// Forgets the manifests under `dir` that are not in `paths` (pruned snapshots), so memory stays bounded.
    func keep(only paths: Set<String>, under dir: String) {
        lock.withLock { _ in
            for path in entries.keys where path.hasPrefix(dir + "/") && !paths.contains(path) { entries[path] = nil }
        }
    }
}
