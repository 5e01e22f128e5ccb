import Foundation
import Platform

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
        // Written aside, then linked into place: a claim is never seen without its owner (link fails if it exists).
        let draft = claims + "/.draft-\(getpid())-\(UUID().uuidString)"
        try "\(getpid())\n".write(toFile: draft, atomically: false, encoding: .utf8)
        defer { unlink(draft) }
        for candidate in (1...254).shuffled() where !used.contains("10.77.\(candidate).") {
            if link(draft, claims + "/\(candidate)") == 0 { return candidate }
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

    /// `shipkeep-sandbox vm-reap`: see ``VMReaper``.
    ///
    /// - Returns: Whether the owner had died with its VM running, which is now removed.
    public static func reap(subnet: Int, owner: pid_t) -> Bool {
        VMReaper.watch(subnet: subnet, owner: owner)
    }

    /// Removes the VM of `subnet` and its claim.
    static func removeLeftovers(_ subnet: Int) {
        removeVM("skvm\(subnet)")
        unlink(claims + "/\(subnet)")
    }

    /// SIGKILLs every process in the VM's cgroups (at once through `cgroup.kill` where the kernel has it), and
    /// returns once none is left (10 s at most).
    static func killAll(_ name: String) {
        let roots = cgroupDirs(name).filter { FileManager.default.fileExists(atPath: $0) }
        for root in roots { _ = try? "1".write(toFile: root + "/cgroup.kill", atomically: false, encoding: .utf8) }
        let deadline = Date().addingTimeInterval(10)
        while case let pids = roots.flatMap(processes(under:)), !pids.isEmpty, Date() < deadline {
            for pid in pids { kill(pid, SIGKILL) }
            usleep(10_000)
        }
    }

    /// Kills every process left in the VM's cgroups, then removes them, the veth and the propagate dir.
    static func removeVM(_ name: String) {
        let fm = FileManager.default
        killAll(name)
        for root in cgroupDirs(name) where fm.fileExists(atPath: root) { removeCgroup(root) }
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
