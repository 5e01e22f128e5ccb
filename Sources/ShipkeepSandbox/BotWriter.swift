import Foundation
import Platform

/// One of the ``BotWriters`` running detached (`setsid`) in a sandbox's work tree, outside any deploy: deploys
/// restart the sample bot, never this writer, so it writes straight through them.
///
/// Its script, pid file, problem list and output live in `writers/` beside the VM, not in the work tree.
public final class BotWriter {
    /// The writer's name, for messages.
    public let name: String
    /// Its process id.
    public let pid: Int32
    private let prefix: String
    private var stopped = false

    /// Starts `script` (one of ``BotWriters``) as `name` in `vm`'s work tree and waits until it has written its
    /// first data.
    ///
    /// - Throws: ``SandboxError`` when it cannot start or writes nothing within 20 s.
    public init(_ script: String, name: String, in vm: VMSandbox) throws {
        self.name = name
        let dir = vm.root + "/writers"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        prefix = dir + "/" + name
        try script.write(toFile: prefix + ".py", atomically: true, encoding: .utf8)
        let started = try runProcess(["sh", "-c", "setsid \"$1\" \"$2\" \"$3\" >> \"$3.log\" 2>&1 < /dev/null &",
                                      "sh", BotWriters.python, prefix + ".py", prefix], cwd: vm.appPath)
        guard started.status == 0 else { throw SandboxError("cannot start \(name): \(started.stderr)") }
        let deadline = Date().addingTimeInterval(20)
        var pid: Int32?
        while pid == nil, Date() < deadline {
            pid = Self.number(in: prefix + ".pid").map(Int32.init)
            if pid == nil { usleep(20_000) }
        }
        guard let pid else {
            throw SandboxError("\(name) wrote nothing within 20 s: \(Self.text(prefix + ".log") ?? "no output")")
        }
        self.pid = pid
    }

    /// Asks the writer to stop (SIGTERM: it finishes the write it is in) and returns the last number it wrote.
    ///
    /// - Throws: ``SandboxError`` when it has not stopped within 20 s.
    public func stop() throws -> Int {
        stopped = true
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let last = Self.number(in: prefix + ".done") { return last }
            usleep(20_000)
        }
        kill(pid, SIGKILL)
        throw SandboxError("\(name) did not stop within 20 s: \(Self.text(prefix + ".log") ?? "no output")")
    }

    /// Every inconsistency the writer saw in its own files, one line each.
    public var problems: [String] {
        (Self.text(prefix + ".problems") ?? "").split(separator: "\n").map(String.init)
    }

    /// What the writer printed (a traceback, if it died).
    public var output: String { Self.text(prefix + ".log") ?? "" }

    /// Whether the process still runs (and is not a zombie).
    public var isRunning: Bool {
        guard let status = Self.text("/proc/\(pid)/status") else { return false }
        return !status.contains("State:\tZ")
    }

    private static func text(_ path: String) -> String? {
        try? String(contentsOfFile: path, encoding: .utf8)
    }

    private static func number(in path: String) -> Int? {
        text(path).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    deinit {
        // A test that failed half-way must not leave a writer behind it, writing into a removed directory.
        if !stopped { kill(pid, SIGKILL) }
    }
}
