import Platform

extension SnapshotStore {
    /// What ``putBack(_:of:in:as:aside:companions:unplaced:fill:)`` did.
    struct PutBack {
        /// The new names of what was moved aside (the file, then its companions), in the same directory.
        var aside: [String] = []
        /// Whether the snapshot's copy is in place: false when the app created the name again meanwhile.
        var linked = false
        /// The name the snapshot's copy was kept under when it could not be put in place, if asked to keep it.
        var unplaced: String?
    }

    /// Puts snapshot `id`'s copy of `entry` at `name` in `directory`: the one way every restore and repair puts
    /// a file back. The copy is staged first, fsynced (after `fill`, which may append to it). Then, with an
    /// `aside` suffix, whatever has `name` — and each of `companions` beside it (`-wal`, …) — is moved aside
    /// whole to `NAME<aside>-<random>` (the companions to the same name with their suffix, so that a database
    /// moved aside opens with its own `-wal`): renamed, never replacing, so a process writing to it keeps writing
    /// into the preserved file and nothing is copied that could miss a write. Then the copy is linked into place,
    /// which never replaces either: if the app created `name` again in between, both are kept.
    ///
    /// - Parameters:
    ///   - aside: the suffix of the moved names before their random part (`.shipkeep-<deploy>`); nil to move
    ///     nothing (a missing file: one that appears meanwhile wins).
    ///   - unplaced: the suffix to keep the copy under (`NAME<unplaced>-<random>`) when it could not be put in
    ///     place; nil to drop it (the snapshot still holds it).
    ///   - fill: given the staged copy's descriptor (open for writing) and path before anything is moved.
    /// - Throws: ``FileSystemError``, or ``SnapshotFileReader/Damaged`` when the snapshot's copy is damaged (a
    ///   chunk that no longer matches its hash), before anything is moved; the staged copy is removed, and what
    ///   was moved aside stays there.
    func putBack(_ entry: Manifest.Entry, of id: String, in directory: DirectoryHandle, as name: String,
                 aside: String?, companions: [String] = [], unplaced: String? = nil,
                 fill: ((Int32, String) throws -> Void)? = nil) throws -> PutBack {
        let temp = try stage(entry, of: id, in: directory, fill: fill)
        var result = PutBack()
        do {
            if let aside {
                let present = try ([""] + companions).filter { try directory.status(name + $0) != nil }
                if !present.isEmpty {
                    result.aside = try directory.moveAside(name, suffixes: present, as: name + aside)
                }
            }
            result.linked = try directory.link(temp, as: name)
            if !result.linked, let unplaced {
                result.unplaced = try directory.moveAside(temp, as: name + unplaced)
                return result
            }
        } catch {
            directory.remove(temp)
            throw error
        }
        directory.remove(temp)
        return result
    }

    /// Copies `entry` out of snapshot `id` into a new temporary file in `directory` (where the entry goes),
    /// with the recorded mode and mtime, then `fill`s it, fsyncs it, and returns its name there.
    ///
    /// - Throws: ``FileSystemError``, ``SnapshotFileReader/Damaged``; no temporary file is left behind.
    private func stage(_ entry: Manifest.Entry, of id: String, in directory: DirectoryHandle,
                       fill: ((Int32, String) throws -> Void)?) throws -> String {
        var source = try SnapshotFileReader(store: self, id: id, entry: entry)
        let mode = mode_t(entry.mode ?? 0o644)
        let (temp, output) = try directory.createUnique(".shipkeep-restore-\(getpid())", mode: mode)
        defer { close(output) }
        do {
            _ = try source.copy(to: output, path: directory.path + "/" + temp)
            FileSystem.setMtime(output, entry.mtime ?? 0)
            try fill?(output, directory.path + "/" + temp)
            guard fsync(output) == 0 else { throw FileSystemError("fsync", directory.path + "/" + temp) }
        } catch {
            directory.remove(temp)
            throw error
        }
        return temp
    }
}
