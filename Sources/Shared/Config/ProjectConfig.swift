/// `shipkeep.yml` in the repository: named targets (and groups of them) so that `shipkeep deploy prod` needs
/// no flags. Flags and environment variables override what it says.
public struct ProjectConfig: Equatable, Sendable {
    /// One VM and app.
    public struct Target: Equatable, Sendable {
        public var name: String
        public var host: String?
        public var port: Int?
        public var user: String?
        public var app: String?
        /// Private key file (absolute, `~` expanded later by the controller).
        public var identity: String?
        /// known_hosts file, made absolute relative to the config file's directory.
        public var knownHosts: String?
        /// Pinned host key fingerprint, `SHA256:…`.
        public var fingerprint: String?
        /// A bastion to jump through, `[user@]host[:port]` or an ssh config alias; `none` for none.
        public var jump: String?
        /// The jump host's pinned host key fingerprint, `SHA256:…`, instead of known_hosts.
        public var jumpFingerprint: String?
        /// `ship: true`: `deploy` sends the commit over the session (as `--ship`), so the VM needs no git host.
        public var ship: Bool?
    }

    /// The file it was read from.
    public var file: String
    /// Targets by name, in file order.
    public var targets: [Target]
    /// Groups of target names.
    public var groups: [String: [String]]

    /// The target called `name`.
    public func target(_ name: String) -> Target? { targets.first { $0.name == name } }

    static let targetKeys = ["host", "port", "user", "app", "identity", "known_hosts", "fingerprint", "jump",
                              "jump_fingerprint", "ship"]

    /// Reads and validates `shipkeep.yml`.
    ///
    /// - Throws: ``ConfigError`` naming the file, line and key of the first problem.
    public static func load(file: String) throws(ConfigError) -> ProjectConfig {
        try parse(try ConfigFile.read(file), file: file)
    }

    /// Parses the text of a `shipkeep.yml`.
    ///
    /// - Throws: ``ConfigError`` naming the file, line and key of the first problem.
    public static func parse(_ text: String, file: String) throws(ConfigError) -> ProjectConfig {
        let root = try AgentConfig.compose(text, file: file)
        let top = try YAMLMap(root, file: file, path: "")
        try top.allowOnly(["targets", "groups"])
        let base = file.lastIndex(of: "/").map { $0 == file.startIndex ? "/" : String(file[..<$0]) } ?? ""
        var targets: [Target] = []
        if let map = try top.map("targets") {
            for name in map.keys {
                guard AppConfig.isValidName(name) else {
                    throw map.error(name, "target names use letters, digits, '.', '_' and '-'")
                }
                guard let entry = try map.map(name) else { throw map.error(name, "expected the target's settings") }
                try entry.allowOnly(targetKeys)
                var target = Target(name: name)
                target.host = try entry.string("host")
                target.port = try entry.positiveInt("port")
                if let port = target.port, port > 65535 { throw entry.error("port", "must be 1-65535") }
                target.user = try entry.string("user")
                target.app = try entry.string("app")
                target.identity = try entry.string("identity")
                target.knownHosts = try entry.string("known_hosts").map { path in
                    path.hasPrefix("/") || path.hasPrefix("~") || base.isEmpty ? path : base + "/" + path
                }
                target.fingerprint = try entry.string("fingerprint")
                if let pin = target.fingerprint, !pin.hasPrefix("SHA256:") {
                    throw entry.error("fingerprint", "expected SHA256:… as `ssh-keygen -lf KEY.pub` prints it")
                }
                target.jump = try entry.string("jump")
                target.jumpFingerprint = try entry.string("jump_fingerprint")
                if let pin = target.jumpFingerprint, !pin.hasPrefix("SHA256:") {
                    throw entry.error("jump_fingerprint", "expected SHA256:… as `ssh-keygen -lf KEY.pub` prints it")
                }
                target.ship = try entry.bool("ship")
                if target.host?.hasPrefix("-") == true { throw entry.error("host", "must not start with \"-\"") }
                targets.append(target)
            }
        }
        var groups: [String: [String]] = [:]
        if let map = try top.map("groups") {
            for name in map.keys {
                let members = try map.stringList(name) ?? []
                for member in members where !targets.contains(where: { $0.name == member }) {
                    throw map.error(name, "\"\(member)\" is not a target in this file")
                }
                if targets.contains(where: { $0.name == name }) {
                    throw map.error(name, "a group cannot have the name of a target")
                }
                groups[name] = members
            }
        }
        return ProjectConfig(file: file, targets: targets, groups: groups)
    }
}
