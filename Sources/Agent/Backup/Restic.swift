import ProcessKit
import Shared

/// Runs restic for one app: argv only, never a shell, each command bounded by `backup.restic.timeout`.
///
/// Nothing secret is ever on a command line: the repository goes in as `RESTIC_REPOSITORY`, the password only as
/// `RESTIC_PASSWORD_FILE` (the file agent.yml names, checked like the app's env file), the env file's variables
/// (`AWS_*`, …) only into restic's environment. Everything restic prints passes through ``SecretRedactor`` (the
/// password, the env file's values, a password in the repository URL) before it reaches an event or a message.
struct Restic {
    let app: AppConfig
    let config: ResticConfig

    /// Why restic could not be used or what it said when it failed: one line, redacted, with what to do.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// What restic needs besides the arguments: its environment and the redactor for its output.
    struct Setup {
        var environment: [String: String]
        var redact: SecretRedactor
    }

    /// restic's own variables that agent.yml sets; an env file cannot replace them.
    static let ownVariables = ["RESTIC_REPOSITORY", "RESTIC_REPOSITORY_FILE", "RESTIC_PASSWORD", "RESTIC_PASSWORD_FILE",
                               "RESTIC_PASSWORD_COMMAND", "RESTIC_CACHE_DIR"]

    /// The tag every backup of this app carries; `forget` and the listing are scoped to it.
    var appTag: String { "app:" + app.name }

    /// Checks the password and env files and builds restic's environment.
    ///
    /// - Throws: ``Failure`` naming the file and the fix, never a value.
    func setup() throws(Failure) -> Setup {
        var secrets: [String] = []
        var environment = ChildEnvironment.app(app)
        do {
            let password = EnvFile(path: config.passwordFile, workTree: app.path, lockPath: app.state + "/env.lock")
            guard let bytes = try password.contents() else {
                throw Failure(description: "the restic password file \(config.passwordFile) does not exist; create "
                    + "it (mode 0600) with the repository password")
            }
            // restic reads the first line.
            let first = String(decoding: bytes.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
            secrets.append(first.hasSuffix("\r") ? String(first.dropLast()) : first)
            if let envFile = config.envFile {
                let file = EnvFile(path: envFile, workTree: app.path, lockPath: app.state + "/env.lock")
                guard try file.contents() != nil else {
                    throw Failure(description: "the restic env file \(envFile) does not exist; create it (mode 0600) "
                        + "or remove env_file from backup.restic in agent.yml")
                }
                for (key, value) in try file.load() where !Self.ownVariables.contains(key) {
                    environment[key] = value
                    secrets.append(value)
                }
            }
        } catch let problem as EnvFile.Problem {
            throw Failure(description: problem.description)
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(description: "\(error)")
        }
        if let password = Self.urlPassword(config.repository) { secrets.append(password) }
        environment["RESTIC_REPOSITORY"] = config.repository
        environment["RESTIC_PASSWORD_FILE"] = config.passwordFile
        environment["RESTIC_CACHE_DIR"] = app.state + "/restic-cache"
        // Times in restic's JSON in UTC (``Timestamp/init(iso8601:)`` reads any offset, but UTC reads best).
        environment["TZ"] = "UTC"
        return Setup(environment: environment, redact: SecretRedactor(secrets))
    }

    /// The argv of `restic -o OPTION… SUBCOMMAND ARGUMENTS…`: agent.yml's extended options first, where no `--`
    /// among the arguments can turn them into operands.
    func argv(_ arguments: [String]) -> [String] {
        ["restic"] + config.options.flatMap { ["-o", $0] } + arguments
    }

    /// Runs restic with `arguments`, every output line redacted before `onLine` sees it.
    ///
    /// - Throws: ``Failure`` when restic cannot start, times out or exits non-zero, with its last error lines.
    @discardableResult
    func run(_ arguments: [String], setup: Setup, cwd: String? = nil,
             onLine: (String, String) -> Void = { _, _ in }) throws(Failure) -> ChildResult {
        let what = "restic " + (arguments.first ?? "")
        let outcome: ChildResult
        do {
            outcome = try withoutActuallyEscaping(onLine) { onLine in
                try ProcessRunner.run(argv(arguments), cwd: cwd, environment: setup.environment,
                                      timeout: Double(config.timeout)) { stream, line in
                    onLine(stream, setup.redact(line))
                }
            }
        } catch {
            throw Failure(description: "\(error); install restic on the VM (apt-get install restic)")
        }
        guard outcome.succeeded else {
            if outcome.timedOut {
                throw Failure(description: "\(what) \(outcome.summary) "
                    + "(backup.restic.timeout in agent.yml)")
            }
            throw Failure(description: "\(what) \(outcome.summary): " + Self.explain(setup.redact(
                outcome.stderr)))
        }
        return outcome
    }

    /// restic's last error lines as one line, with the fix for the failures everyone meets first.
    static func explain(_ stderr: String) -> String {
        let lines = stderr.split(separator: "\n").map { $0.droppingPrefix(" ") }.filter { !$0.isEmpty }
        let said = lines.suffix(3).joined(separator: "; ")
        let text = said.isEmpty ? "no error message" : String(said.prefix(600))
        if stderr.includes("wrong password") {
            return text + " (the password file does not open this repository)"
        }
        if stderr.includes("Is there a repository at the following location?") {
            return text + " (create it once with `restic init`, with RESTIC_REPOSITORY and RESTIC_PASSWORD_FILE set "
                + "as in agent.yml)"
        }
        return text
    }

    /// The password of a `scheme://user:password@host/…` repository, which restic's messages may repeat.
    static func urlPassword(_ repository: String) -> String? {
        guard let scheme = repository.rangeOf("://") else { return nil }
        let rest = repository[scheme.upperBound...]
        guard let at = rest.firstIndex(of: "@") else { return nil }
        let userinfo = rest[..<at]
        guard let colon = userinfo.firstIndex(of: ":") else { return nil }
        let password = userinfo[userinfo.index(after: colon)...]
        return password.isEmpty ? nil : String(password)
    }
}
