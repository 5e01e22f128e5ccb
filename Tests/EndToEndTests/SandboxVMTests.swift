import Foundation
import ShipkeepSandbox
import Testing

/// The sandbox VM itself: what its sessions see of this machine.
@Suite(.timeLimit(.minutes(10)))
struct SandboxVMTests {
    /// Sessions run with the VM's own HOME, a copy of /etc/skel, not the account's: a login reads the VM's
    /// dotfiles, as on a real VM, and no two sandbox VMs share what their login shells do.
    @Test func sessionsHaveTheVMsOwnHome() throws {
        try withSandbox(forcedCommand: false) { vm in
            let server = vm.server
            let result = try runProcess([
                "ssh", "-F", "/dev/null", "-i", server.userKeyPath, "-o", "BatchMode=yes",
                "-o", "UserKnownHostsFile=\(server.knownHostsPath)", "-p", String(server.port),
                "\(server.user)@\(server.listenAddress)", #"printf %s "$HOME""#,
            ])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == vm.home)
            #expect(vm.home != NSHomeDirectory())
            let skeleton = (try? FileManager.default.contentsOfDirectory(atPath: "/etc/skel")) ?? []
            #expect(try FileManager.default.contentsOfDirectory(atPath: vm.home).sorted() == skeleton.sorted())
        }
    }
}
