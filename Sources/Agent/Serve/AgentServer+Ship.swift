import Shared
import Platform

/// A bundle on its way in for a `deploy` with `ship`: the request it belongs to and the file it goes to.
///
/// The file (`<state>/deploys/<deploy>.bundle.part`, 0600) is held with `flock` while it is written, so a later
/// upload can tell a live one from what a killed agent left behind.
final class ShipUpload {
    let request: Command.Deploy
    let app: AppConfig
    let deploy: String
    let path: String
    var reply: Reply
    /// What this request sent so far: the deploy's journal begins with it (see ``AgentServer/startDeploy``).
    private(set) var sent: [Event]
    private(set) var fd: Int32
    private(set) var received: Int64 = 0
    private var reported: Int64 = 0
    /// Set once a write failed: the rest of the bundle is read and dropped, then this is the answer.
    private(set) var failure: Event.Result?

    /// Bytes between two `progress` events: few events, since the controller reads none until it has sent all.
    static let progressStep: Int64 = 8 << 20

    init(request: Command.Deploy, app: AppConfig, deploy: String, path: String, fd: Int32, reply: Reply,
         sent: [Event]) {
        self.request = request
        self.sent = sent
        self.app = app
        self.deploy = deploy
        self.path = path
        self.fd = fd
        self.reply = reply
    }

    var expected: Int64 { request.ship ?? 0 }
    var isComplete: Bool { received == expected }

    /// Appends `bytes` (the caller has checked they fit in what was announced).
    func append(_ bytes: [UInt8]) {
        received += Int64(bytes.count)
        guard failure == nil else { return }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Platform.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                failure = .failure(errno == ENOSPC ? .noSpace : .state, "cannot write the shipped bundle to "
                    + "\(path): \(String(cString: strerror(errno))); nothing was changed")
                discard()
                return
            }
            offset += written
        }
        if received - reported >= Self.progressStep || isComplete && expected >= Self.progressStep {
            reported = received
            let progress = Event.progress(.init(phase: .ship, done: received, total: expected, unit: "bytes"))
            sent.append(progress)
            reply.emit(progress)
        }
    }

    /// Closes the file and moves it to `to` (where the worker finds it).
    func finish(to destination: String) throws {
        close(fd)
        fd = -1
        guard rename(path, destination) == 0 else {
            let failure = FileSystemError("rename", destination)
            unlink(path)
            throw failure
        }
    }

    /// Closes and removes the partial file.
    func discard() {
        if fd >= 0 { close(fd) }
        fd = -1
        unlink(path)
    }
}

extension AgentServer {
    /// `ship_tips`: what the app's clone has, so that the controller sends only the objects it lacks.
    func shipTips(app: AppConfig, reply: inout Reply) {
        if let refusal = DeployRule.shipRefusal(app) {
            reply.emit(.result(.failure(refusal.code, refusal.message)))
            return
        }
        let git = Git(tree: app.path)
        let head = try? git.head().commit
        reply.emit(.shipTips(.init(app: app.name, head: head, tips: git.tips(limit: Event.ShipTips.maxTips),
                                   maxBytes: app.ship.maxBytes)))
        reply.emit(.result(.success))
    }

    /// A `deploy` with `ship`: checks what can be checked before a byte arrives (agent.yml allows it, the size is
    /// within `ship_max_bytes` and the disk's free space, the commit is a full id), then answers `ship_ready` and
    /// returns the upload the following `ship_chunk` requests fill. Nil when refused (the result is sent).
    func beginShip(_ request: Command.Deploy, app: AppConfig, reply: inout Reply) -> ShipUpload? {
        let bytes = request.ship ?? 0
        let state = StateDirectory(path: app.state)
        if let refusal = DeployRule.shipRefusal(app) {
            reply.emit(.result(.failure(refusal.code, refusal.message)))
            return nil
        }
        guard let commit = request.commit, [40, 64].contains(commit.count), Git.isCommitID(commit),
              request.ref == nil else {
            reply.emit(.result(.failure(.badCommit, "a shipped deploy names the full id of the commit it ships")))
            return nil
        }
        guard bytes > 0 else {
            reply.emit(.result(.failure(.badShip, "a shipped bundle has at least one byte, not \(bytes)")))
            return nil
        }
        guard bytes <= app.ship.maxBytes else {
            reply.emit(.result(.failure(.shipTooLarge, "the bundle is \(ByteCount.format(bytes)), more than the "
                + "\(ByteCount.format(app.ship.maxBytes)) app \(app.name) takes (ship_max_bytes in agent.yml); "
                + "nothing was sent or changed. Raise ship_max_bytes, or deploy without --ship")))
            return nil
        }
        let deploy = DeployPlan.newID()
        let path = state.bundle(deploy) + ".part"
        let fd: Int32
        do {
            try FileSystem.makeDirectories(state.deploysDir)
            Self.removeAbandonedUploads(in: state.deploysDir)
            if let space = DiskSpace.measure(state.deploysDir), bytes + (64 << 20) > space.free {
                reply.emit(.result(.failure(.noSpace, "the bundle needs \(ByteCount.format(bytes)) plus a margin "
                    + "of 64 MiB, but \(space.measured) has \(ByteCount.format(space.free)) free; nothing was "
                    + "changed")))
                return nil
            }
            fd = try FileSystem.open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
        } catch {
            reply.emit(.result(.failure(.state, "cannot store the shipped bundle in \(state.deploysDir): \(error)")))
            return nil
        }
        _ = flock(fd, LOCK_EX | LOCK_NB)
        let ready = Event.shipReady(.init(bytes: bytes))
        reply.emit(ready)
        return ShipUpload(request: request, app: app, deploy: deploy, path: path, fd: fd, reply: reply, sent: [ready])
    }

    /// A line while a bundle is on its way in: the next chunk, or — anything else — the end of the upload, its
    /// file removed and the session ended as for any protocol violation.
    func receiveShip(_ request: Request, upload: ShipUpload) -> Next {
        guard request.id == upload.reply.id, case .shipChunk(let chunk) = request.command else {
            return abortShip(upload, ProtocolError(.unexpected, "a \"\(request.command.type)\" request came while "
                + "the bundle of request \(upload.reply.id ?? "?") was being sent; send all its ship_chunk requests "
                + "first"))
        }
        guard Int64(chunk.data.count) <= upload.expected - upload.received else {
            return abortShip(upload, ProtocolError(.invalidMessage, "the bundle is bigger than the "
                + "\(upload.expected) bytes announced; nothing was changed"))
        }
        upload.append(chunk.data)
        guard upload.isComplete else { return .serve }
        shipUpload = nil
        if let failure = upload.failure {
            upload.reply.emit(.result(failure))
            return .serve
        }
        do {
            try upload.finish(to: StateDirectory(path: upload.app.state).bundle(upload.deploy))
        } catch {
            upload.reply.emit(.result(.failure(.state, "cannot keep the shipped bundle: \(error)")))
            return .serve
        }
        startDeploy(upload.request, app: upload.app, reply: &upload.reply, deploy: upload.deploy, sent: upload.sent)
        return .serve
    }

    /// Ends an upload that the controller broke off or got wrong: its file is removed and its deploy answered.
    func abortShip(_ upload: ShipUpload, _ error: ProtocolError) -> Next {
        shipUpload = nil
        upload.discard()
        upload.reply.emit(.result(.failure(error.code.wire, error.message)))
        return .exit(Self.exitProtocolError)
    }

    /// Removes the `.bundle.part` files no agent is writing any more (a killed session's), which nothing else
    /// would: they belong to no deploy yet.
    static func removeAbandonedUploads(in directory: String) {
        for name in (try? FileSystem.names(in: directory)) ?? []
        where name.hasSuffix(".bundle.part") {
            let path = directory + "/" + name
            let fd = Platform.open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { continue }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { unlink(path) }
            close(fd)
        }
    }
}
