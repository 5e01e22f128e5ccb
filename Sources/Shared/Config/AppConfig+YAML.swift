extension AppConfig {
    static let keys = ["path", "remote", "branch", "data", "state", "snapshots", "hooks", "services", "health", "kinds",
                       "lock", "locale", "allow_refs", "require_signed", "env_file", "env_keys", "ship",
                       "ship_max_bytes", "remote_url", "gate", "gate_timeout", "backup"]

    /// Whether `name` can name an app: it appears in paths, lock files and messages, so it is kept plain:
    /// ASCII letters, digits, `.`, `_` and `-`, starting with a letter or digit, at most 64 characters.
    public static func isValidName(_ name: String) -> Bool {
        func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
        }
        guard let first = name.unicodeScalars.first, isAlphanumeric(first), name.unicodeScalars.count <= 64 else {
            return false
        }
        return name.unicodeScalars.allSatisfy { isAlphanumeric($0) || "._-".unicodeScalars.contains($0) }
    }

    init(_ map: YAMLMap, name: String, home: String) throws(ConfigError) {
        try map.allowOnly(Self.keys)
        guard let path = try map.string("path") else { throw map.error(nil, "missing required key \"path\" (the git work tree)") }
        guard path.hasPrefix("/") else { throw map.error("path", "must be an absolute path, got \"\(path)\"") }
        let root = Self.normalize(path)
        // `logs/` and `./logs` are read as `logs`, as agent.yml always allowed.
        let data = (try map.stringList("data") ?? []).map(Self.normalize)
        for dir in data {
            if let problem = RelativePath.problem(dir) {
                throw map.error("data", "\"\(dir)\" must be a plain path inside the work tree, relative to \"path\": "
                    + problem)
            }
        }
        if let overlap = Self.firstOverlap(data) {
            throw map.error("data", "\"\(overlap.0)\" and \"\(overlap.1)\" overlap; list each data dir once")
        }
        let state = try Self.absolute(map.string("state"), in: root, key: "state", map: map)
            ?? "\(home)/.local/state/shipkeep/\(name)"
        self.init(
            name: name,
            path: root,
            remote: try map.string("remote") ?? "origin",
            branch: try map.string("branch") ?? "main",
            data: data,
            state: state,
            snapshots: try Self.snapshots(map, root: root, state: state),
            hooks: try Self.hooks(map),
            services: try Self.services(map),
            health: try Self.health(map),
            kinds: try Self.kinds(map),
            lock: try Self.lock(map),
            locale: try Self.locale(map)
        )
        if remote.hasPrefix("-") || branch.hasPrefix("-") {
            throw map.error(remote.hasPrefix("-") ? "remote" : "branch", "must not start with \"-\"")
        }
        for protected in [state, snapshots.dir] where dataPaths.contains(where: { Self.contains($0, protected) }) {
            throw map.error("state", "\"\(protected)\" lies inside a data dir; keep state and snapshots outside the data")
        }
        allowRefs = try Self.allowRefs(map)
        if let url = try map.string("remote_url") {
            if let problem = RemoteURL.problem(url) { throw map.error("remote_url", problem) }
            remoteURL = url
        }
        if let signers = try map.string("require_signed") {
            guard signers.hasPrefix("/") else {
                throw map.error("require_signed", "expected the absolute path of an allowed_signers file "
                    + "(ssh-keygen(1) ALLOWED SIGNERS), got \"\(signers)\"")
            }
            requireSigned = Self.normalize(signers)
        }
        gate = try Self.gate(map)
        serviceCommands = try Self.serviceCommands(map)
        ship = ShipConfig(allowed: try map.bool("ship") ?? false,
                          maxBytes: Int64(try map.positiveInt("ship_max_bytes") ?? Int(ShipConfig.defaultMaxBytes)))
        try readSecretsSettings(map)
        backup = try Self.backup(map, root: root, snapshots: snapshots.dir)
    }

    /// `env_file` (absolute, outside the work tree: a deploy must never check it out, commit it or clean it) and
    /// `env_keys`.
    private mutating func readSecretsSettings(_ map: YAMLMap) throws(ConfigError) {
        if let file = try map.string("env_file") {
            guard file.hasPrefix("/") else {
                throw map.error("env_file", "expected an absolute path outside the work tree, got \"\(file)\"")
            }
            let normalized = Self.normalize(file)
            guard !Self.contains(path, normalized), !Self.contains(normalized, path) else {
                throw map.error("env_file", "\"\(file)\" lies inside the work tree \(path); keep secrets outside it "
                    + "(the default is \(state)/env)")
            }
            envFile = normalized
        }
        if let keys = try map.stringList("env_keys") {
            if let bad = keys.first(where: { !EnvKey.isValidPattern($0) }) {
                throw map.error("env_keys", "\"\(bad)\" is not a variable name or a prefix ending in *")
            }
            envKeys = keys
        }
    }

    /// `allow_refs`: branch and tag patterns only. Other namespaces (`refs/pull/…`, `refs/changes/…`,
    /// `refs/merge-requests/…`) are written by people without push rights, so they are refused here rather than
    /// left for an operator to find out.
    private static func allowRefs(_ map: YAMLMap) throws(ConfigError) -> [String] {
        let patterns = try map.stringList("allow_refs") ?? []
        for pattern in patterns {
            let name = pattern.drop { $0 != "/" }.dropFirst().drop { $0 != "/" }.dropFirst()
            guard pattern.hasPrefix("refs/heads/") || pattern.hasPrefix("refs/tags/"), !name.isEmpty else {
                throw map.error("allow_refs", "\"\(pattern)\" must be a branch or tag pattern like refs/tags/v* or "
                    + "refs/heads/release/* (other refs, such as pull requests', can be made without push rights)")
            }
            let forbidden = pattern.unicodeScalars.contains { scalar in
                scalar.value <= 0x20 || scalar.value == 0x7F || "~^:?[\\".unicodeScalars.contains(scalar)
            }
            guard !forbidden, pattern.filter({ $0 == "*" }).count <= 1, !pattern.includes(".."),
                  !pattern.includes("//"), !pattern.hasSuffix("/"), !pattern.hasSuffix(".lock") else {
                throw map.error("allow_refs", "\"\(pattern)\" is not a ref pattern git accepts: at most one \"*\", "
                    + "no spaces, \"..\", \"~^:?[\\\", empty components or trailing \"/\"")
            }
        }
        return patterns
    }

    private static func snapshots(_ map: YAMLMap, root: String, state: String) throws(ConfigError) -> SnapshotConfig {
        guard let snapshots = try map.map("snapshots") else { return SnapshotConfig(dir: state + "/snapshots", keep: 5) }
        try snapshots.allowOnly(["dir", "keep", "hourly", "daily", "weekly", "keep_failed"])
        let dir = try absolute(snapshots.string("dir"), in: root, key: "dir", map: snapshots) ?? state + "/snapshots"
        return SnapshotConfig(dir: dir, keep: try snapshots.positiveInt("keep") ?? 5,
                              hourly: try snapshots.positiveInt("hourly") ?? 0,
                              daily: try snapshots.positiveInt("daily") ?? 0,
                              weekly: try snapshots.positiveInt("weekly") ?? 0,
                              keepFailed: try snapshots.positiveInt("keep_failed"))
    }

    private static func kinds(_ map: YAMLMap) throws(ConfigError) -> DataKindRules {
        guard let kinds = try map.map("kinds") else { return DataKindRules() }
        try kinds.allowOnly(["append", "mutable"])
        var rules = DataKindRules()
        for key in ["append", "mutable"] {
            let globs = try kinds.stringList(key) ?? []
            if let bad = globs.first(where: { !PathGlob.isValid($0) }) {
                throw kinds.error(key, "\"\(bad)\" must be a glob relative to \"path\" (no \"..\", not absolute)")
            }
            if key == "append" { rules.append = globs } else { rules.mutable = globs }
        }
        return rules
    }

    private static func hooks(_ map: YAMLMap) throws(ConfigError) -> HooksConfig {
        guard let hooks = try map.map("hooks") else { return HooksConfig(afterUpdate: [], timeout: 600) }
        try hooks.allowOnly(["after_update", "timeout"])
        return HooksConfig(afterUpdate: try hooks.argvList("after_update") ?? [],
                           timeout: try hooks.positiveInt("timeout") ?? 600)
    }

    private static func services(_ map: YAMLMap) throws(ConfigError) -> [ServiceConfig] {
        var services: [ServiceConfig] = []
        for (index, node) in (try map.list("services") ?? []).enumerated() {
            let service = try YAMLMap(node, file: map.file, path: YAMLMap.join(map.path, "services.\(index)"))
            let timeout = try service.positiveInt("timeout") ?? 60
            if let node = service.node("systemd") {
                try service.allowOnly(["systemd", "timeout"])
                services.append(try systemd(node, in: service, timeout: timeout))
            } else {
                try service.allowOnly(["name", "restart", "check", "timeout", "systemd", "stop", "start"])
                guard let restart = try service.argv("restart") else {
                    throw service.error(nil, "a service needs either \"systemd: UNIT\" or \"restart: [argv...]\"")
                }
                let name = try service.string("name") ?? "service-\(index + 1)"
                services.append(.command(name: name, restart: restart, check: try service.argv("check"), timeout: timeout))
            }
        }
        return services
    }

    private static func lock(_ map: YAMLMap) throws(ConfigError) -> LockConfig {
        guard let lock = try map.map("lock") else { return LockConfig() }
        try lock.allowOnly(["max_wait"])
        return LockConfig(maxWait: try lock.positiveInt("max_wait") ?? LockConfig.defaultMaxWait)
    }

    /// A locale name as `LANG` takes it (`C.UTF-8`, `en_US.UTF-8`, `de_DE@euro`): nothing a shell or a
    /// terminal could read as more than a name.
    private static func locale(_ map: YAMLMap) throws(ConfigError) -> String {
        guard let locale = try map.string("locale") else { return defaultLocale }
        let allowed = locale.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic
            || ("0"..."9").contains($0) || "._-@".unicodeScalars.contains($0)) }
        guard !locale.isEmpty, locale.count <= 64, allowed else {
            throw map.error("locale", "expected a locale name such as C.UTF-8 or en_US.UTF-8")
        }
        return locale
    }

    /// `systemd: UNIT` (a system unit) or `systemd: {unit: UNIT, scope: user|system}`.
    private static func systemd(_ node: YAMLNode, in service: YAMLMap, timeout: Int) throws(ConfigError) -> ServiceConfig {
        let unit: String?
        var scope = SystemdScope.system
        if case .mapping = node {
            let map = try YAMLMap(node, file: service.file, path: YAMLMap.join(service.path, "systemd"))
            try map.allowOnly(["unit", "scope"])
            unit = try map.string("unit")
            if let name = try map.string("scope") {
                guard let value = SystemdScope(rawValue: name) else {
                    throw map.error("scope", "expected one of: user, system")
                }
                scope = value
            }
        } else {
            unit = try service.string("systemd")
        }
        // Also keeps the unit an operand: `sudo systemctl restart UNIT` must match the sudoers rule word for word.
        guard let unit, !unit.isEmpty, !unit.hasPrefix("-"), !unit.contains(where: \.isWhitespace) else {
            throw service.error("systemd", "expected a unit name, or {unit: UNIT, scope: user|system}")
        }
        return .systemd(unit: unit, scope: scope, timeout: timeout)
    }

    private static func health(_ map: YAMLMap) throws(ConfigError) -> HealthConfig {
        guard let health = try map.map("health") else { return HealthConfig(command: nil, timeout: 30, fresh: nil) }
        try health.allowOnly(["command", "timeout", "fresh", "settle"])
        var fresh: FreshnessCheck?
        if let freshMap = try health.map("fresh") {
            try freshMap.allowOnly(["path", "within"])
            guard let path = try freshMap.string("path").map(Self.normalize) else {
                throw freshMap.error("path", "expected a path inside the work tree, relative to \"path\"")
            }
            if let problem = RelativePath.problem(path) {
                throw freshMap.error("path", "expected a plain path inside the work tree, relative to \"path\": "
                    + problem)
            }
            guard let within = try freshMap.positiveInt("within") else {
                throw freshMap.error(nil, "missing required key \"within\" (seconds)")
            }
            fresh = FreshnessCheck(path: path, within: within)
        }
        let timeout = try health.positiveInt("timeout") ?? 30
        let settle = try health.positiveInt("settle") ?? 0
        guard settle < timeout else {
            throw health.error("settle", "expected fewer seconds than health.timeout (\(timeout)), which includes it")
        }
        return HealthConfig(command: try health.argv("command"), timeout: timeout, fresh: fresh, settle: settle)
    }

    private static func absolute(_ value: String?, in root: String, key: String, map: YAMLMap) throws(ConfigError) -> String? {
        guard let value else { return nil }
        guard !value.isEmpty else { throw map.error(key, "must not be empty") }
        if value.hasPrefix("/") { return normalize(value) }
        if let problem = RelativePath.problem(Self.normalize(value)) {
            throw map.error(key, "\"\(value)\" must be absolute or a plain path inside the work tree: \(problem)")
        }
        return normalize(root + "/" + value)
    }

    /// Drops `.` components, repeated and trailing slashes (`./logs/` is `logs`): how agent.yml has always read a
    /// spelling, before the path rule checks it. Only for configuration the VM's admin wrote; what comes over the
    /// wire is checked as sent.
    public static func normalize(_ path: String) -> String {
        let parts = path.split(separator: "/").filter { $0 != "." }
        return (path.hasPrefix("/") ? "/" : "") + parts.joined(separator: "/")
    }

    /// Whether `inner` is `outer` or lies below it.
    public static func contains(_ outer: String, _ inner: String) -> Bool {
        inner == outer || inner.hasPrefix(outer + "/")
    }

    private static func firstOverlap(_ dirs: [String]) -> (String, String)? {
        for (i, a) in dirs.enumerated() {
            for b in dirs[(i + 1)...] where contains(a, b) || contains(b, a) { return (a, b) }
        }
        return nil
    }
}
