extension AppConfig {
    /// `backup: {restic: {repository, password_file, env_file, options, timeout, max_age}}`.
    static func backup(_ map: YAMLMap, root: String, snapshots: String)
        throws(ConfigError) -> BackupConfig? {
        guard let backup = try map.map("backup") else { return nil }
        try backup.allowOnly(["restic"])
        guard let restic = try backup.map("restic") else {
            throw backup.error(nil, "expected restic: {repository: …, password_file: …}")
        }
        try restic.allowOnly(["repository", "password_file", "env_file", "options", "timeout", "max_age"])
        guard let repository = try restic.string("repository"), !repository.isEmpty else {
            throw restic.error(nil, "missing required key \"repository\" (e.g. /srv/backups/bots or "
                + "sftp:backup@host:/srv/restic/bots)")
        }
        let plain = repository.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value != 0x7F }
        guard plain, !repository.hasPrefix("-") else {
            throw restic.error("repository", "expected a restic repository with no spaces or control characters, "
                + "not starting with \"-\"")
        }
        if !hasBackendPrefix(repository) {
            guard repository.hasPrefix("/") else {
                throw restic.error("repository", "expected an absolute path or a restic backend such as "
                    + "sftp:user@host:/path, s3:…, rest:…, got \"\(repository)\"")
            }
            let local = normalize(repository)
            for (name, dir) in [("the work tree", root), ("the snapshot dir", snapshots)]
            where contains(dir, local) || contains(local, dir) {
                throw restic.error("repository", "\"\(repository)\" overlaps \(name) \(dir); keep the repository "
                    + "apart (ideally on another machine)")
            }
        }
        guard let password = try restic.string("password_file") else {
            throw restic.error(nil, "missing required key \"password_file\" (a 0600 file holding the repository "
                + "password)")
        }
        var config = ResticConfig(repository: repository,
                                  passwordFile: try secretPath(password, key: "password_file", in: restic, root: root))
        if let env = try restic.string("env_file") {
            config.envFile = try secretPath(env, key: "env_file", in: restic, root: root)
        }
        let options = try restic.stringList("options") ?? []
        if let bad = options.first(where: { option in
            option.hasPrefix("-") || !option.contains("=") || option.unicodeScalars.contains { $0.value < 0x20 }
        }) {
            throw restic.error("options", "\"\(bad)\" is not an extended option KEY=VALUE (restic -o), e.g. "
                + "sftp.command=ssh backup@host -s sftp")
        }
        config.options = options
        config.timeout = try restic.positiveInt("timeout") ?? ResticConfig.defaultTimeout
        config.maxAge = try restic.positiveInt("max_age") ?? ResticConfig.defaultMaxAge
        return BackupConfig(restic: config)
    }

    /// Whether `repository` names a restic backend (`sftp:`, `s3:`, `rest:`, `local:`, …) rather than a path.
    static func hasBackendPrefix(_ repository: String) -> Bool {
        guard let colon = repository.firstIndex(of: ":") else { return false }
        let scheme = repository[..<colon]
        return !scheme.isEmpty && scheme.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) }
    }

    /// An absolute path outside the work tree, for a file that holds secrets.
    private static func secretPath(_ value: String, key: String, in map: YAMLMap, root: String)
        throws(ConfigError) -> String {
        guard value.hasPrefix("/") else {
            throw map.error(key, "expected an absolute path outside the work tree, got \"\(value)\"")
        }
        let normalized = normalize(value)
        guard !contains(root, normalized) else {
            throw map.error(key, "\"\(value)\" lies inside the work tree \(root); keep secrets outside it")
        }
        return normalized
    }
}
