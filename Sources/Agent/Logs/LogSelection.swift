import Shared
import Platform

/// Which sources a `logs` request names, checked as `restore` checks its paths (``DataPath``): files and globs
/// only inside the data dirs — no absolute path, no `..`, nothing through a symbolic link — or a configured
/// service's output. Globs are matched against the files a stat-only walk of the data dirs finds (it never
/// enters a link), so a glob cannot reach outside them either.
enum LogSelection {
    /// The most files one request reads.
    static let maxFiles = 64

    /// The sources of `request` for `app`, in the order asked; warnings go to `warn`.
    ///
    /// - Throws: ``DataPath/Refusal`` naming the path or service refused.
    static func sources(_ request: Command.Logs, app: AppConfig,
                        warn: (String, String) -> Void) throws(DataPath.Refusal) -> [LogStreamer.Source] {
        let paths = request.paths ?? []
        if !paths.isEmpty && request.service != nil {
            throw DataPath.Refusal(description: "name files or a service, not both")
        }
        guard paths.isEmpty else { return try files(paths, app: app).map { .file($0) } }
        let services: [ServiceConfig]
        if let name = request.service {
            guard let service = app.services.first(where: { $0.name == name }) else {
                let known = app.services.map(\.name).joined(separator: ", ")
                throw DataPath.Refusal(description: "app \(app.name) has no service \"\(name)\" (configured: "
                    + "\(known.isEmpty ? "none" : known))", code: .unknownService)
            }
            services = [service]
        } else {
            services = app.services
        }
        guard !services.isEmpty else {
            throw DataPath.Refusal(description: "app \(app.name) has no services; name files in its data dirs instead")
        }
        return services.map { service in
            switch service {
            case .systemd(let unit, let scope, _):
                return .journal(JournalLogSource(Systemctl(unit: unit, scope: scope)))
            case .command(let name, _, _, _):
                let output = ServiceOutput(state: StateDirectory(path: app.state), service: name)
                if (try? FileSystem.lstatIfExists(output.directory + "/" + output.fileName)) == nil {
                    warn("no_output", "\(name) has printed nothing the agent kept yet: what its restart, stop and "
                        + "start commands print is kept from now on")
                }
                return .file(FileLogSource(root: output.directory, relative: output.fileName, label: name,
                                           stream: "output"))
            }
        }
    }

    /// The data files `paths` name, each once.
    private static func files(_ paths: [String], app: AppConfig) throws(DataPath.Refusal) -> [FileLogSource] {
        var chosen: [String] = []
        var listing: [String]?
        for path in paths {
            if isGlob(path) {
                let glob = try DataPath.relative(path, verb: "read")
                if listing == nil { listing = try regularFiles(app) }
                let matched = (listing ?? []).filter { PathGlob.matches(glob, $0) }
                guard !matched.isEmpty else {
                    throw DataPath.Refusal(description: "nothing in the data dirs (\(app.data.joined(separator: ", ")))"
                        + " matches \"\(path)\"")
                }
                chosen += matched
            } else {
                let relative = try DataPath.normalize(path, dataDirs: app.data, verb: "read")
                try checkFile(relative, asked: path, app: app)
                chosen.append(relative)
            }
        }
        var seen: Set<String> = []
        chosen = chosen.filter { seen.insert($0).inserted }
        guard chosen.count <= maxFiles else {
            throw DataPath.Refusal(description: "\(chosen.count) files match; name at most \(maxFiles)")
        }
        return chosen.map { FileLogSource(root: app.path, relative: $0, label: $0) }
    }

    /// Refuses a named file that is reached through a link, is a link, is missing or is not a regular file.
    private static func checkFile(_ relative: String, asked: String, app: AppConfig) throws(DataPath.Refusal) {
        let link: String?
        let info: stat?
        do {
            link = try FileSystem.symlinkOnTheWay(root: app.path, relative: relative, includingLast: true)
            info = link == nil ? try FileSystem.lstatIfExists(app.path + "/" + relative) : nil
        } catch {
            throw DataPath.Refusal(description: "cannot read \"\(asked)\": \(error)")
        }
        if let link {
            throw DataPath.Refusal(description: "refusing to read \"\(asked)\": \(link) is a symbolic link")
        }
        guard let info else {
            throw DataPath.Refusal(description: "no file \(relative) in the data dirs")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            let hint = (info.st_mode & S_IFMT) == S_IFDIR ? "; name its files, or a glob such as \(relative)/*.log" : ""
            throw DataPath.Refusal(description: "\(relative) is not a regular file\(hint)")
        }
    }

    private static func regularFiles(_ app: AppConfig) throws(DataPath.Refusal) -> [String] {
        do {
            let scan = try DataScan.walk(root: app.path, dataDirs: app.data)
            return scan.items.filter { ($0.info.st_mode & S_IFMT) == S_IFREG && !$0.isDatabaseCompanion }.map(\.path)
        } catch {
            throw DataPath.Refusal(description: "cannot list the data dirs: \(error)")
        }
    }

    /// Whether `path` uses glob syntax (`*`, `?`).
    static func isGlob(_ path: String) -> Bool {
        path.contains("*") || path.contains("?")
    }
}
