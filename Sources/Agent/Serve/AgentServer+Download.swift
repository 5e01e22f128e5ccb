import Platform
import Shared

extension AgentServer {
    /// The most manifest entries one `manifest` event carries, and the most path bytes, so that a snapshot of
    /// any number of files never makes a line near the 1 MiB limit.
    private static let manifestBatch = (entries: 1000, pathBytes: 256 * 1024)

    /// `download`: streams a complete snapshot as a zstd- or gzip-compressed tar: `archive`, `manifest`…, `chunk`…
    /// (or `frame`…, when asked for), `result`. Takes no lock: a complete snapshot is never changed, only removed by
    /// retention.
    func download(_ request: Command.Download, app: AppConfig, reply: inout Reply) {
        guard let format = request.format.map({ ArchiveFormat(rawValue: $0) }) ?? .tarGzip else {
            let known = ArchiveFormat.allCases.map(\.rawValue).joined(separator: ", ")
            reply.emit(.result(.failure(.unsupportedFormat, "this agent (version \(WireProtocol.toolVersion)) "
                + "cannot send a \"\(request.format ?? "")\" archive, only \(known); ask for one of those, or "
                + "install a shipkeep-agent as new as this shipkeep")))
            return
        }
        guard let framing = request.framing.map({ DownloadFraming(rawValue: $0) }) ?? .chunks else {
            let known = DownloadFraming.allCases.map(\.rawValue).joined(separator: ", ")
            reply.emit(.result(.failure(.unsupportedFormat, "this agent (version \(WireProtocol.toolVersion)) "
                + "cannot send a download as \"\(request.framing ?? "")\", only as \(known); install a "
                + "shipkeep-agent as new as this shipkeep")))
            return
        }
        let store = SnapshotStore(dir: app.snapshots.dir)
        let manifest: Manifest
        if let invalid = request.snapshot.flatMap({ Self.invalidSnapshot($0) }) {
            reply.emit(.result(.failure(invalid.code, invalid.description)))
            return
        }
        if let id = request.snapshot, id != SnapshotID.latestName {
            guard let found = store.manifest(id) else {
                let ids = store.list().map(\.info.id).suffix(5).joined(separator: ", ")
                reply.emit(.result(.failure(.unknownSnapshot, "app \(app.name) has no complete snapshot \"\(id)\""
                    + (ids.isEmpty ? "" : " (newest: \(ids))"))))
                return
            }
            manifest = found
        } else {
            guard let latest = store.latest() else {
                reply.emit(.result(.failure(.noSnapshot, "app \(app.name) has no complete snapshot yet; "
                    + "each deploy takes one")))
                return
            }
            manifest = latest
        }

        let exporter = SnapshotExporter(store: store, manifest: manifest, format: format)
        let entries = exporter.archiveEntries
        let info = manifest.info
        reply.emit(.archive(.init(app: app.name, snapshot: info.id, createdAt: info.createdAt, commit: info.commit,
                                  files: info.files, bytes: info.bytes, entries: entries.count,
                                  format: format.rawValue, framing: framing == .frames ? framing.rawValue : nil)))
        var batch: [ArchiveEntry] = []
        var batchBytes = 0
        for entry in entries {
            batch.append(entry)
            batchBytes += entry.path.utf8.count + (entry.target?.utf8.count ?? 0)
            if batch.count >= Self.manifestBatch.entries || batchBytes >= Self.manifestBatch.pathBytes {
                reply.emit(.manifest(.init(entries: batch)))
                batch.removeAll(keepingCapacity: true)
                batchBytes = 0
            }
        }
        if !batch.isEmpty { reply.emit(.manifest(.init(entries: batch))) }

        do {
            // Frames: the bytes raw after a short line, 1 MiB at a time (see Event.Frame); chunks: base64 lines.
            let chunkBytes = framing == .frames ? Event.Frame.maxBytes : Event.Chunk.maxBytes
            _ = try exporter.run(chunkBytes: chunkBytes, chunk: { bytes in
                reply.emit(framing == .frames ? .frame(.init(data: bytes)) : .chunk(.init(data: bytes)))
            }, progress: { done in
                reply.emit(.progress(.init(phase: .download, done: done, total: info.bytes, unit: "bytes")))
            })
            reply.emit(.result(.success))
        } catch let damaged as SnapshotExporter.Damaged {
            reply.emit(.result(.failure(damaged.code, damaged.description)))
        } catch {
            reply.emit(.result(.failure(.downloadFailed, "cannot read snapshot \(info.id): \(error)")))
        }
    }
}
