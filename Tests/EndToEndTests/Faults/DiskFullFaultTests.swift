import Foundation
import Testing
import ShipkeepSandbox

/// Fault matrix, row group 5: the snapshot filesystem full (a small tmpfs mounted as the snapshot dir). The
/// deploy must stop before the update phase with a clear message, leave the code untouched and no partial
/// snapshot behind, and work again once there is room.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct DiskFullFaultTests {
    /// 16 history files of 512 KiB: 8 MiB to snapshot.
    private func prepare(_ vm: VMSandbox) throws -> FaultFixture {
        try vm.fillData(files: 16, bytesEach: 512 * 1024)
        let previous = try vm.liveCommit()
        let target = try vm.commit(["bot.sh": SampleApp.bot(version: "v2")], message: "v2")
        try vm.startBot()
        return FaultFixture(previous: previous, target: target, checksums: try vm.dataChecksums())
    }

    private func phases(_ output: String, _ state: String) -> [String] {
        jsonLines(output).filter { $0["type"] as? String == "phase" && $0["state"] as? String == state }
            .compactMap { $0["name"] as? String }
    }

    @Test("too little room for the snapshot: refused in preflight, nothing touched")
    func refusedInPreflight() throws {
        try withSandbox(bot: false) { vm in
            let fixture = try prepare(vm)
            let disk = try TmpfsMount(at: vm.snapshotDir, bytes: 6 << 20)
            defer { disk.unmount() }
            let output = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
            let error = Faults.result(output.stdout)?["error"] as? [String: Any]
            let code = error?["code"] as? String ?? "none"
            #expect(output.status == 1, "\(output.stderr)")
            #expect(code == "no_space")
            #expect(output.stderr.contains("free space"), "says what to do: \(output.stderr)")
            #expect(phases(output.stdout, "failed") == ["preflight"])
            #expect(!phases(output.stdout, "started").contains("snapshot"))
            #expect(try vm.liveCommit() == fixture.previous)
            let left = try FileManager.default.contentsOfDirectory(atPath: vm.snapshotDir)
            #expect(left.isEmpty, "nothing written to the snapshot dir: \(left)")
            let app = try Faults.appStatus(vm)
            #expect(Faults.lastOutcome(app) == "refused")
            #expect(app["lock"] == nil)
            let lost = try Faults.linesLost(vm)
            #expect(try vm.dataChecksums() == fixture.checksums)

            try ReliabilityRecord(
                section: "faults", id: "05-0", scenario: "snapshot filesystem too small (preflight estimate)",
                injection: "6 MiB tmpfs mounted as the snapshot dir; 8 MiB of data to snapshot",
                outcome: "deploy exit \(output.status), \(code), failed in "
                    + "\(phases(output.stdout, "failed").joined(separator: ", ")); status: \(Faults.lastOutcome(app)); "
                    + "\(try Faults.codeAt(vm, fixture)); "
                    + "\(left.isEmpty ? "snapshot dir empty" : "snapshot dir not empty"); "
                    + "\(Faults.lockState(app))",
                linesLost: lost, test: "DiskFullFaultTests/refusedInPreflight()"
            ).write()
        }
    }

    @Test("the snapshot filesystem fills up during the copy: snapshot discarded, stopped before update")
    func fullDuringSnapshot() throws {
        try withSandbox(bot: false) { vm in
            let fixture = try prepare(vm)
            // Room enough for the preflight estimate (8 MiB + a 16 MiB margin); then taken by a ballast file.
            let disk = try TmpfsMount(at: vm.snapshotDir, bytes: 40 << 20)
            defer { disk.unmount() }
            let paused = try Faults.startPaused(vm, in: "snapshot")
            try disk.fill(leaving: 2 << 20)
            paused.resume()
            #expect(try paused.controller.wait() == 1)
            let output = paused.controller.output
            let error = Faults.result(output)?["error"] as? [String: Any]
            let errorCode = error?["code"] as? String ?? "none"
            let message = error?["message"] as? String ?? ""
            #expect(errorCode == "no_space", "\(output.suffix(1000))")
            #expect(message.contains("full") && message.contains("nothing was changed"), "\(message)")
            #expect(phases(output, "failed") == ["snapshot"])
            #expect(!phases(output, "started").contains("update"))
            #expect(try vm.liveCommit() == fixture.previous)
            let partials = Faults.partialSnapshots(vm)
            #expect(partials.isEmpty, "partial snapshot discarded: \(partials)")
            let app = try Faults.appStatus(vm)
            #expect(Faults.lastOutcome(app) == "refused")
            #expect(app["lock"] == nil)
            let code = try Faults.codeAt(vm, fixture)

            // With room again, the same deploy goes through.
            try FileManager.default.removeItem(atPath: vm.snapshotDir + "/ballast")
            let again = try shipkeep(["deploy", "--json"] + vm.controllerArguments)
            #expect(again.status == 0, "\(again.stderr)")
            let lost = try Faults.linesLost(vm)
            #expect(try vm.dataChecksums() == fixture.checksums)

            try ReliabilityRecord(
                section: "faults", id: "05-1", scenario: "snapshot filesystem full during the copy (ENOSPC)",
                injection: "40 MiB tmpfs as the snapshot dir; worker paused at the snapshot fault point; a ballast "
                    + "file leaves 2 MiB for 8 MiB of data; worker resumed",
                outcome: "deploy exit 1, \(errorCode), failed in \(phases(output, "failed").joined(separator: ", ")); "
                    + "\(partials.isEmpty ? "no partial snapshot left" : "partial snapshot left"); "
                    + "status: \(Faults.lastOutcome(app)); \(code); \(Faults.lockState(app)); "
                    + "deploy after freeing space exit \(again.status)",
                linesLost: lost, test: "DiskFullFaultTests/fullDuringSnapshot()"
            ).write()
        }
    }
}
