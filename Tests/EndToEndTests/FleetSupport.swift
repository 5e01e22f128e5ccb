import Foundation
import ShipkeepSandbox

/// `count` sandbox VMs whose apps all fetch from the first one's origin, as a real fleet shares one repo,
/// and a shipkeep.yml naming them vm0… with the group `fleet`.
func withFleet<T>(_ count: Int, _ body: ([VMSandbox], String) throws -> T) throws -> T {
    func nest(_ vms: [VMSandbox]) throws -> T {
        if vms.count == count {
            for vm in vms.dropFirst() {
                let result = try runProcess(["git", "-C", vm.appPath, "remote", "set-url", "origin", vms[0].origin])
                guard result.status == 0 else { throw SandboxError("set-url failed: \(result.stderr)") }
            }
            let file = vms[0].root + "/shipkeep.yml"
            var text = "targets:\n"
            for (index, vm) in vms.enumerated() { text += vm.targetYAML("vm\(index)") }
            text += "groups:\n  fleet: [\((0..<count).map { "vm\($0)" }.joined(separator: ", "))]\n"
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            return try body(vms, file)
        }
        return try withSandbox { vm in try nest(vms + [vm]) }
    }
    return try nest([])
}
