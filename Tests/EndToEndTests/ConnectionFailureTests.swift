import Foundation
import Testing
import ShipkeepSandbox

/// Every way a connection can be refused ends in exit 3 (UNKNOWN) with one actionable line on stderr.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct ConnectionFailureTests {
    private func replacing(_ flag: String, with value: String, in arguments: [String]) throws -> [String] {
        var copy = arguments
        copy[try #require(copy.firstIndex(of: flag)) + 1] = value
        return copy
    }

    /// What sshd's log says about authentication, for the doc.
    private static func authentication(_ seen: Bool) -> String {
        seen ? "sshd logged an authentication attempt" : "no authentication reached sshd"
    }

    private func otherKey(in dir: String, name: String) throws -> (priv: String, pub: String) {
        let path = dir + "/" + name
        let made = try runProcess(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path])
        #expect(made.status == 0)
        return (path, try String(contentsOfFile: path + ".pub", encoding: .utf8))
    }

    @Test func aWrongHostKeyIsRefusedBeforeAnythingIsSent() throws {
        try withSandbox { vm in
            let impostor = try otherKey(in: vm.root, name: "impostor")
            let fields = impostor.pub.split(separator: " ")
            let knownHosts = vm.root + "/wrong_known_hosts"
            try "[\(vm.server.listenAddress)]:\(vm.server.port) \(fields[0]) \(fields[1])\n"
                .write(toFile: knownHosts, atomically: false, encoding: .utf8)
            let result = try shipkeep(["status", "--json"] + replacing("--known-hosts", with: knownHosts,
                                                                       in: vm.controllerArguments))
            #expect(result.status == 3)
            #expect(result.stderr.contains(vm.server.hostKeyFingerprint), "names the offered key: \(result.stderr)")
            #expect(result.stderr.lowercased().contains("host key"))
            #expect(result.stderr.split(separator: "\n").count == 1)
            let last = try #require(jsonLines(result.stdout).last)
            #expect(last["ok"] as? Bool == false)
            let code = (last["error"] as? [String: Any])?["code"] as? String
            #expect(code == "host_key")
            let authenticated = sshdSawAuthentication(vm.server.log())
            #expect(!authenticated, "no authentication may reach an unverified host")

            try ReliabilityRecord.hostileInput(
                id: "15-0", scenario: "another key answers on the VM's address (a mismatched known_hosts entry)",
                injection: "known_hosts file holding another key for the VM's host and port",
                outcome: "status \(HostileOutcome.exits([result.status])), \(code ?? "no error code"), one line "
                    + "naming the offered key's fingerprint; " + Self.authentication(authenticated),
                test: "ConnectionFailureTests/aWrongHostKeyIsRefusedBeforeAnythingIsSent()"
            ).write()
        }
    }

    @Test func anUnknownHostIsRefused() throws {
        try withSandbox { vm in
            let empty = vm.root + "/empty_known_hosts"
            try "# nothing here\n".write(toFile: empty, atomically: false, encoding: .utf8)
            let result = try shipkeep(["status"] + replacing("--known-hosts", with: empty, in: vm.controllerArguments))
            #expect(result.status == 3)
            #expect(result.stderr.contains(vm.server.hostKeyFingerprint))
            #expect(result.stdout.hasPrefix("UNKNOWN"))
            let authenticated = sshdSawAuthentication(vm.server.log())
            #expect(!authenticated)

            try ReliabilityRecord.hostileInput(
                id: "15-1", scenario: "an unknown host (no known_hosts entry for it)",
                injection: "empty known_hosts file",
                outcome: "status \(HostileOutcome.exits([result.status])) (UNKNOWN), naming the offered key's "
                    + "fingerprint; " + Self.authentication(authenticated),
                test: "ConnectionFailureTests/anUnknownHostIsRefused()"
            ).write()
        }
    }

    @Test func aPinnedFingerprintIsAcceptedAndAWrongOneRefused() throws {
        try withSandbox(bot: true) { vm in
            var arguments = vm.controllerArguments
            let index = try #require(arguments.firstIndex(of: "--known-hosts"))
            arguments.removeSubrange(index...(index + 1))
            let pinned = try shipkeep(["status", "--fingerprint", vm.server.hostKeyFingerprint] + arguments)
            #expect(pinned.status == 0, "\(pinned.stderr)")
            let wrong = try shipkeep(["status", "--fingerprint", "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]
                + arguments)
            #expect(wrong.status == 3)
            #expect(wrong.stderr.contains(vm.server.hostKeyFingerprint))

            try ReliabilityRecord.hostileInput(
                id: "15-2", scenario: "a pinned `SHA256:` fingerprint that is not the VM's",
                injection: "`--fingerprint` with another fingerprint, no known_hosts",
                outcome: "status \(HostileOutcome.exits([wrong.status])), naming the offered key's fingerprint "
                    + "(the right fingerprint: \(HostileOutcome.exits([pinned.status])))",
                test: "ConnectionFailureTests/aPinnedFingerprintIsAcceptedAndAWrongOneRefused()"
            ).write()
        }
    }

    @Test func aHashedKnownHostsEntryIsAccepted() throws {
        try withSandbox(bot: true) { vm in
            let hashed = vm.root + "/hashed_known_hosts"
            try FileManager.default.copyItem(atPath: vm.server.knownHostsPath, toPath: hashed)
            let hashing = try runProcess(["ssh-keygen", "-H", "-f", hashed])
            #expect(hashing.status == 0)
            #expect(try String(contentsOfFile: hashed, encoding: .utf8).hasPrefix("|1|"))
            let result = try shipkeep(["status"] + replacing("--known-hosts", with: hashed, in: vm.controllerArguments))
            #expect(result.status == 0, "\(result.stderr)")
        }
    }

    @Test func aHashedKnownHostsWithAnotherKeyOrAnotherHostIsRefused() throws {
        try withSandbox { vm in
            let impostor = try otherKey(in: vm.root, name: "impostor").pub.split(separator: " ")
            let host = "[\(vm.server.listenAddress)]:\(vm.server.port)"
            var statuses: [Int32] = []
            var codes: [String?] = []
            for (name, line) in [("mismatch", "\(host) \(impostor[0]) \(impostor[1])\n"),
                                 ("unknown", "[\(vm.server.listenAddress)]:1 \(vm.server.hostKeyPublicLine)\n")] {
                let file = vm.root + "/hashed_\(name)"
                try line.write(toFile: file, atomically: false, encoding: .utf8)
                #expect(try runProcess(["ssh-keygen", "-H", "-f", file]).status == 0)
                #expect(try String(contentsOfFile: file, encoding: .utf8).hasPrefix("|1|"))
                let result = try shipkeep(["status", "--json"] + replacing("--known-hosts", with: file,
                                                                           in: vm.controllerArguments))
                #expect(result.status == 3, "\(name): \(result.stderr)")
                #expect(result.stderr.contains(vm.server.hostKeyFingerprint), "\(name): \(result.stderr)")
                let last = try #require(jsonLines(result.stdout).last)
                let code = (last["error"] as? [String: Any])?["code"] as? String
                #expect(code == "host_key", "\(name)")
                statuses.append(result.status)
                codes.append(code)
            }
            let authenticated = sshdSawAuthentication(vm.server.log())
            #expect(!authenticated, "no authentication may reach an unverified host")

            try ReliabilityRecord.hostileInput(
                id: "15-3", scenario: "hashed known_hosts (`|1|…`) with another key for the VM, or the VM's key for "
                    + "another host",
                injection: "known_hosts file hashed by `ssh-keygen -H`",
                outcome: "status \(HostileOutcome.exits(statuses)), \(HostileOutcome.codes(codes)) in both cases; "
                    + Self.authentication(authenticated),
                test: "ConnectionFailureTests/aHashedKnownHostsWithAnotherKeyOrAnotherHostIsRefused()"
            ).write()
        }
    }

    @Test func aWrongUserKeyIsAnAuthenticationError() throws {
        try withSandbox { vm in
            let stranger = try otherKey(in: vm.root, name: "stranger")
            let result = try shipkeep(["status", "--json"] + replacing("--identity", with: stranger.priv,
                                                                       in: vm.controllerArguments))
            #expect(result.status == 3)
            #expect(result.stderr.lowercased().contains("authenticat"), "\(result.stderr)")
            #expect(result.stderr.contains(stranger.priv), "names the key it tried")
            let last = try #require(jsonLines(result.stdout).last)
            #expect((last["error"] as? [String: Any])?["code"] as? String == "authentication")
        }
    }

    @Test func aClosedPortFailsFastWithAClearError() throws {
        try withSandbox { vm in
            vm.server.stop()
            let started = Date()
            let result = try shipkeep(["status", "--connect-timeout", "5"] + vm.controllerArguments)
            #expect(result.status == 3)
            #expect(Date().timeIntervalSince(started) < 5)
            #expect(result.stderr.contains(String(vm.server.port)), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1)
        }
    }

    @Test func anUnresolvableHostIsUnknown() throws {
        let knownHosts = FileManager.default.temporaryDirectory.appendingPathComponent("kh-\(UUID().uuidString)").path
        try "example.invalid ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHu5h3Zr3Y0Z8bq6vG9i8n8r1k0bRr9S6f8c8bq6vG9i\n"
            .write(toFile: knownHosts, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: knownHosts) }
        let result = try shipkeep(["status", "--host", "no-such-host.invalid", "--known-hosts", knownHosts,
                                   "--identity", "/dev/null", "--connect-timeout", "5"])
        #expect(result.status == 3)
        #expect(result.stderr.contains("no-such-host.invalid"))
    }

    @Test func missingSettingsAreOneLineUsageErrors() throws {
        // status too: 3 (UNKNOWN) is only for a VM that could not be asked.
        let result = try shipkeep(["status"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--host"))
        for command in ["deploy", "rollback", "snapshots", "history"] {
            let other = try shipkeep([command, "--json"])
            #expect(other.status == 64, "\(command): \(other.stderr)")
            #expect(other.stderr.contains("--host"), "\(command): \(other.stderr)")
            #expect(jsonLines(other.stdout).last?["exitCode"] as? Int == 64, "\(command): \(other.stdout)")
        }
    }

    @Test func anAppTheVMDoesNotNameIsAUsageErrorNotAnUnreachableVM() throws {
        try withSandbox { vm in
            let arguments = try replacing("--app", with: "web", in: vm.controllerArguments)
            for command in ["deploy", "rollback", "snapshots"] {
                let result = try shipkeep([command] + arguments)
                #expect(result.status == 64, "\(command): \(result.stderr)")
                #expect(result.stderr.contains("no app named \"web\""), "\(command): \(result.stderr)")
            }
        }
    }
}
