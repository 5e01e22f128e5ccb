import Foundation

/// The sshd_config an `SSHServer` runs with.
enum SSHServerConfig {
    /// Whether this sshd knows `PerSourcePenalties` (OpenSSH 9.8+). Where it does, it must be turned off:
    /// tests fail authentication on purpose, and penalties would then refuse later connections from
    /// 127.0.0.1. Older versions reject the unknown keyword, so it is probed once with `sshd -t`.
    private static let supportsPenalties: Bool = {
        let probe = NSTemporaryDirectory() + "shipkeep-sshd-probe-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: probe) }
        guard FileManager.default.createFile(atPath: probe, contents: Data("PerSourcePenalties no\n".utf8)),
            let result = try? runProcess(["/usr/sbin/sshd", "-t", "-f", probe])
        else { return false }
        return !result.stderr.contains("PerSourcePenalties")
    }()

    /// The configuration text.
    /// - Parameters:
    ///   - directory: The server's directory (authorized_keys, pid file).
    ///   - listenAddress: The numeric address to listen on.
    ///   - port: The TCP port.
    ///   - hostKeys: Private host key paths.
    ///   - logLevel: sshd's LogLevel.
    ///   - allowTcpForwarding: Whether clients may open `direct-tcpip` channels.
    ///   - home: The HOME sessions get (`SetEnv`, which sshd applies after its own HOME), or nil.
    static func text(
        directory: String,
        listenAddress: String,
        port: Int,
        hostKeys: [String],
        logLevel: String = "VERBOSE",
        allowTcpForwarding: Bool = true,
        home: String? = nil
    ) -> String {
        var lines = ["Port \(port)", "ListenAddress \(listenAddress)"] + hostKeys.map { "HostKey \($0)" }
        lines += [
            "AuthorizedKeysFile \(directory)/authorized_keys",
            "PidFile \(directory)/sshd.pid",
            // The sandbox directory lives under /tmp and belongs to whoever runs the tests.
            "StrictModes no",
            "UsePAM no",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "PermitRootLogin prohibit-password",
            "LogLevel \(logLevel)",
            "AllowTcpForwarding \(allowTcpForwarding ? "yes" : "no")",
            "MaxStartups 50",
            "Subsystem sftp internal-sftp",
        ]
        if let home {
            lines.append("SetEnv \"HOME=\(home)\"")
        }
        if supportsPenalties {
            lines.append("PerSourcePenalties no")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
