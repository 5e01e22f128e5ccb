/// Off-VM copies of an app's snapshots (`backup:` in agent.yml). Only restic for now; the key leaves room for
/// other tools.
public struct BackupConfig: Equatable, Sendable {
    /// `backup.restic`.
    public var restic: ResticConfig

    /// A backup configuration; see the properties.
    public init(restic: ResticConfig) {
        self.restic = restic
    }
}

/// `backup: {restic: {repository: …, password_file: …, env_file: …}}`: after each snapshot the agent runs
/// `restic backup` of it, tagged with the app, the snapshot id and the commit, then `restic forget --prune`
/// of the app's backups with the app's snapshot retention (`keep` as `--keep-last`, `hourly`, `daily`,
/// `weekly`). The password reaches restic only as `RESTIC_PASSWORD_FILE`, the repository only as
/// `RESTIC_REPOSITORY`, the env file's variables (`AWS_*`, `B2_*`, …) only in restic's environment.
public struct ResticConfig: Equatable, Sendable {
    /// The repository, in restic's own spelling: an absolute path, `sftp:user@host:/path`, `s3:…`, `rest:…`.
    public var repository: String
    /// The file holding the repository password (absolute, outside the work tree, 0600 and the agent's own).
    public var passwordFile: String
    /// `KEY="value"` lines for restic's environment (absolute, outside the work tree, 0600), e.g. the S3 keys.
    public var envFile: String?
    /// `-o KEY=VALUE` extended options for restic (`sftp.command=…`, `s3.storage-class=…`).
    public var options: [String]
    /// Seconds each restic command may run before it is killed (a backup, a forget, a listing, a restore).
    public var timeout: Int
    /// Seconds after which `status` warns that the newest backup is too old.
    public var maxAge: Int

    /// Ten minutes per command: a deploy waits for its backup (under the app's lock), so this bounds how much
    /// longer an unreachable repository can make it. A first backup of a large data dir over a slow link may
    /// need more.
    public static let defaultTimeout = 600
    /// 26 hours: a daily snapshot timer with slack; an app snapshotted by deploys only may want more.
    public static let defaultMaxAge = 26 * 3600

    /// A restic configuration; see the properties.
    public init(repository: String, passwordFile: String, envFile: String? = nil, options: [String] = [],
                timeout: Int = ResticConfig.defaultTimeout, maxAge: Int = ResticConfig.defaultMaxAge) {
        self.repository = repository
        self.passwordFile = passwordFile
        self.envFile = envFile
        self.options = options
        self.timeout = timeout
        self.maxAge = maxAge
    }
}
