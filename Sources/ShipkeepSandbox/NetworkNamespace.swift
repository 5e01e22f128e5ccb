import Foundation
import Platform

/// A network namespace joined to the host by a veth pair, so a sandbox sshd can run "on another machine"
/// whose link a test can cut (`linkDown`) and restore (`linkUp`). Root only.
///
/// The host side gets `10.200.N.1/30`, the namespace side `10.200.N.2/30`; `N` and the names are unique per
/// instance. `remove()` deletes the namespace (which deletes both veth ends); call it in a `defer`.
public final class NetworkNamespace: @unchecked Sendable {
    // @unchecked: immutable after init apart from `removed`, which only the owning test touches.

    /// The namespace's name (`ip netns`).
    public let name: String
    /// The host's end of the veth pair; taking it down cuts the link.
    public let hostDevice: String
    /// The namespace's end.
    public let innerDevice: String
    /// The host's address on the link.
    public let hostAddress: String
    /// The namespace's address: where its sshd listens.
    public let innerAddress: String
    private var removed = false

    /// Words that run a program inside the namespace: `ip netns exec NAME` (which execs it in place).
    public var execPrefix: [String] { ["ip", "netns", "exec", name] }

    /// Creates the namespace and the link, both up.
    ///
    /// - Throws: ``SandboxError`` saying that root and `ip netns` are needed, with what `ip` said.
    public init() throws {
        guard geteuid() == 0 else {
            throw SandboxError("this test needs root to create a network namespace (ip netns); run it as root, "
                + "as CI does")
        }
        let tag = String(format: "%04x", Int(getpid() & 0xfff) << 4 | Int.random(in: 0..<16))
        name = "shipkeep-\(tag)"
        hostDevice = "sk\(tag)h"
        innerDevice = "sk\(tag)n"
        let subnet = try Self.freeSubnet()
        hostAddress = "10.200.\(subnet).1"
        innerAddress = "10.200.\(subnet).2"
        do {
            try Self.ip(["netns", "add", name])
            try Self.ip(["link", "add", hostDevice, "type", "veth", "peer", "name", innerDevice])
            try Self.ip(["link", "set", innerDevice, "netns", name])
            try Self.ip(["addr", "add", hostAddress + "/30", "dev", hostDevice])
            try Self.ip(["link", "set", hostDevice, "up"])
            try Self.ip(["-n", name, "addr", "add", innerAddress + "/30", "dev", innerDevice])
            try Self.ip(["-n", name, "link", "set", innerDevice, "up"])
            try Self.ip(["-n", name, "link", "set", "lo", "up"])
        } catch {
            remove()
            throw error
        }
    }

    deinit {
        remove()
    }

    /// Cuts the link: the host's end goes down, so nothing passes either way.
    ///
    /// - Throws: ``SandboxError`` when `ip` fails.
    public func linkDown() throws {
        try Self.ip(["link", "set", hostDevice, "down"])
    }

    /// Restores the link.
    ///
    /// - Throws: ``SandboxError`` when `ip` fails.
    public func linkUp() throws {
        try Self.ip(["link", "set", hostDevice, "up"])
    }

    /// Deletes the namespace and the veth pair. Idempotent; processes still inside keep running.
    public func remove() {
        guard !removed else { return }
        removed = true
        _ = try? runProcess(["ip", "link", "del", hostDevice])
        _ = try? runProcess(["ip", "netns", "del", name])
    }

    /// A third octet for 10.200.N.0/30 that no interface on the host uses yet.
    private static func freeSubnet() throws -> Int {
        let used = try runProcess(["ip", "-o", "-4", "addr", "show"]).stdout
        for _ in 0..<64 {
            let candidate = Int.random(in: 1...254)
            if !used.contains("10.200.\(candidate).") { return candidate }
        }
        throw SandboxError("no free 10.200.N.0/30 subnet for a test network namespace")
    }

    private static func ip(_ arguments: [String]) throws {
        let result: ProcessResult
        do {
            result = try runProcess(["ip"] + arguments)
        } catch {
            throw SandboxError("cannot run `ip` (iproute2) for a test network namespace: \(error)")
        }
        guard result.status == 0 else {
            throw SandboxError("`ip \(arguments.joined(separator: " "))` failed (status \(result.status)): "
                + "\(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)); this test needs root and "
                + "network namespace support (ip netns, veth)")
        }
    }
}
