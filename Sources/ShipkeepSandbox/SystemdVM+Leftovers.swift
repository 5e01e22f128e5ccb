import Foundation
import Glibc

/// What a ``SystemdVM`` leaves on the host while it runs, and how it is taken away: a claim file
/// `/run/shipkeep-vm/N` (N: its subnet 10.77.N.0/24; it holds the owner's pid), cgroups `shipkeep-vm-NAME` in the
/// unified and name=systemd hierarchies, the veth `ve-NAME`, and nspawn's `/run/systemd/nspawn/propagate/NAME`.
extension SystemdVM {
    /// The VM's cgroup directories.
    static func cgroupDirs(_ name: String) -> [String] {
        ["/sys/fs/cgroup/unified/shipkeep-vm-\(name)", "/sys/fs/cgroup/systemd/shipkeep-vm-\(name)"]
    }

    /// Claims a free 10.77.N.0/24 (no claim file, no host address in it), atomically: O_EXCL on the claim file.
    static func claimSubnet() throws -> Int {
        try FileManager.default.createDirectory(atPath: claims, withIntermediateDirectories: true)
        let used = try runProcess(["ip", "-o", "-4", "addr", "show"]).stdout
        for candidate in (1...254).shuffled() where !used.contains("10.77.\(candidate).") {
            let descriptor = open(claims + "/\(candidate)", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { continue }
            let owner = "\(getpid())\n"
            _ = owner.withCString { write(descriptor, $0, strlen($0)) }
            close(descriptor)
            return candidate
        }
        throw SandboxError("no free 10.77.N.0/24 subnet for a VM (see \(claims))")
    }

    /// Removes the VMs whose owner process is gone (a test run that was killed), and cgroups of VMs with no claim.
    static func removeLeftovers() {
        let fm = FileManager.default
        for entry in (try? fm.contentsOfDirectory(atPath: claims)) ?? [] {
            guard let subnet = Int(entry) else { continue }
            let owner = (try? String(contentsOfFile: claims + "/" + entry, encoding: .utf8))
                .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if let owner, kill(owner, 0) == 0 || errno == EPERM { continue }
            removeLeftovers(subnet)
        }
        for entry in (try? fm.contentsOfDirectory(atPath: "/sys/fs/cgroup/unified")) ?? []
        where entry.hasPrefix("shipkeep-vm-skvm") {
            let name = String(entry.dropFirst("shipkeep-vm-".count))
            if !fm.fileExists(atPath: claims + "/" + name.dropFirst(4)) { removeVM(name) }
        }
    }

    /// Removes the VM of `subnet` and its claim.
    static func removeLeftovers(_ subnet: Int) {
        removeVM("skvm\(subnet)")
        unlink(claims + "/\(subnet)")
    }

    /// Kills every process left in the VM's cgroups, then removes them, the veth and the propagate dir.
    static func removeVM(_ name: String) {
        let fm = FileManager.default
        let roots = cgroupDirs(name).filter { fm.fileExists(atPath: $0) }
        let deadline = Date().addingTimeInterval(10)
        while case let pids = roots.flatMap(processes(under:)), !pids.isEmpty, Date() < deadline {
            for pid in pids { kill(pid, SIGKILL) }
            usleep(10_000)
        }
        for root in roots { removeCgroup(root) }
        if fm.fileExists(atPath: "/sys/class/net/ve-" + name) {
            _ = try? runProcess(["ip", "link", "del", "ve-" + name])
        }
        try? fm.removeItem(atPath: "/run/systemd/nspawn/propagate/" + name)
    }

    /// The pids in a cgroup and all its descendants.
    private static func processes(under dir: String) -> [pid_t] {
        let fm = FileManager.default
        var pids = ((try? String(contentsOfFile: dir + "/cgroup.procs", encoding: .utf8)) ?? "")
            .split(separator: "\n").compactMap { pid_t($0) }
        for entry in (try? fm.contentsOfDirectory(atPath: dir)) ?? [] {
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: dir + "/" + entry, isDirectory: &isDirectory), isDirectory.boolValue {
                pids += processes(under: dir + "/" + entry)
            }
        }
        return pids
    }

    /// rmdir, children first (a cgroup directory goes only when empty of children and processes).
    private static func removeCgroup(_ dir: String) {
        let fm = FileManager.default
        for entry in (try? fm.contentsOfDirectory(atPath: dir)) ?? [] {
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: dir + "/" + entry, isDirectory: &isDirectory), isDirectory.boolValue {
                removeCgroup(dir + "/" + entry)
            }
        }
        rmdir(dir)
    }

    /// The first child of `parent` (nspawn's child is the VM's PID 1), or nil.
    static func child(of parent: pid_t) -> pid_t? {
        guard parent > 0,
              let text = try? String(contentsOfFile: "/proc/\(parent)/task/\(parent)/children", encoding: .utf8)
        else { return nil }
        return text.split(separator: " ").compactMap { pid_t($0) }.first
    }
}
