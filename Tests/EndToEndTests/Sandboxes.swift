import Foundation
import ShipkeepSandbox

/// Starts a fresh sandbox VM for one test and removes it afterwards. With a `namespace`, its sshd runs inside
/// it, listening on the namespace's address on port 2222.
func withSandbox<T>(forcedCommand: Bool = true, bot: Bool = false, namespace: NetworkNamespace? = nil,
                    _ body: (VMSandbox) throws -> T) throws -> T {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("shipkeep-e2e-\(UUID().uuidString)").path
    let sandbox = try VMSandbox(root: root, forcedCommand: forcedCommand,
                                listenAddress: namespace?.innerAddress ?? "127.0.0.1",
                                sshdPrefix: namespace?.execPrefix ?? [])
    defer {
        sandbox.stop()
        try? FileManager.default.removeItem(atPath: root)
    }
    try sandbox.server.start(port: namespace == nil ? nil : 2222)
    if bot { try sandbox.startBot() }
    return try body(sandbox)
}

/// Runs the built `shipkeep` with `arguments`, isolated from the caller's SSH agent and SHIPKEEP_* settings.
func shipkeep(_ arguments: [String], environment: [String: String] = [:],
              stdin: String? = nil) throws -> ProcessResult {
    // The machine's own ~/.ssh/config must not change what the tests connect to.
    var env = ["SSH_AUTH_SOCK": "", "NO_COLOR": "1", "SHIPKEEP_SSH_CONFIG": "/dev/null"]
    for key in ["SHIPKEEP_HOST", "SHIPKEEP_PORT", "SHIPKEEP_USER", "SHIPKEEP_APP", "SHIPKEEP_IDENTITY",
                "SHIPKEEP_KNOWN_HOSTS", "SHIPKEEP_FINGERPRINT", "SHIPKEEP_SSH_KEY", "SHIPKEEP_SSH_PASSPHRASE"] {
        env[key] = ""
    }
    env.merge(environment) { $1 }
    return try runProcess([try BuildProducts.path("shipkeep")] + arguments, environment: env, stdin: stdin)
}

/// The JSON objects of a JSON Lines output.
func jsonLines(_ text: String) -> [[String: Any]] {
    text.split(separator: "\n").compactMap { line in
        try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
    }
}

/// Whether sshd's log shows that any authentication was attempted.
func sshdSawAuthentication(_ log: String) -> Bool {
    ["Accepted publickey", "Failed publickey", "Postponed publickey", "Connection closed by authenticating user"]
        .contains { log.contains($0) }
}
