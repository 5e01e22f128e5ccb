import Foundation
import Platform

/// The Debian root tree a ``SystemdVM`` boots: built once per machine by `mmdebstrap` from the machine's own apt
/// sources, cached under the package's `.build/vm-tree/HASH` (HASH: of the recipe and the sources), and shared
/// read-only by every VM (each boots it with `--volatile=overlay`).
///
/// What differs between VMs (addresses, keys, the unit, the app) is never baked in: a VM binds it in at boot.
/// The tree holds what every VM has: systemd, journald, logind, dbus, sshd, git, sudo, a `deploy` user (uid 1000)
/// with lingering on, and the `bot.service` enablement symlinks of both scopes, which stay dangling (and ignored)
/// until a VM binds a unit file at their target.
public enum DebianTree {
    /// The deploy user's name and ids inside the tree.
    public static let deployUser = "deploy"
    /// The deploy user's uid (and gid).
    public static let deployUID: uid_t = 1000
    /// Where a system-scope `bot.service` goes; the tree enables it for `multi-user.target`.
    public static let systemUnitPath = "/etc/systemd/system/bot.service"
    /// Where a user-scope `bot.service` goes; the tree enables it for the deploy user's `default.target`.
    public static let userUnitPath = "/home/deploy/.config/systemd/user/bot.service"

    static let packages = ["systemd", "systemd-sysv", "dbus", "openssh-server", "iproute2", "procps", "git", "sudo",
                           "ca-certificates", "libpam-systemd"]

    /// Shell run by `mmdebstrap --customize-hook` with the tree as `$1`.
    static let customize = [
        "chroot \"$1\" useradd --create-home --uid 1000 --user-group --shell /bin/bash deploy",
        // What `shipkeep install` tells the admin to do for system units: the deploy user reads their journal.
        "chroot \"$1\" usermod -aG systemd-journal deploy",
        // Lingering: the deploy user's manager (and its enabled units) starts at boot, without a login.
        "mkdir -p \"$1/var/lib/systemd/linger\" && touch \"$1/var/lib/systemd/linger/deploy\"",
        "chroot \"$1\" systemctl enable systemd-networkd.service ssh.service",
        "ln -s \(systemUnitPath) \"$1/etc/systemd/system/multi-user.target.wants/bot.service\"",
        "mkdir -p \"$1/home/deploy/.config/systemd/user/default.target.wants\"",
        "ln -s ../bot.service \"$1/home/deploy/.config/systemd/user/default.target.wants/bot.service\"",
        "chroot \"$1\" chown -R deploy:deploy /home/deploy/.config",
        // Nothing in a throwaway VM needs these, and they cost boot time and CPU on a shared machine.
        "chroot \"$1\" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer "
            + "systemd-tmpfiles-clean.timer man-db.timer",
        "rm -f \"$1\"/etc/ssh/ssh_host_*",
    ]

    /// The machine's apt sources (deb822), the mirror the tree is built from.
    static let sourcesFile = "/etc/apt/sources.list.d/debian.sources"

    /// Returns the cached tree, building it first if this machine has none for the current recipe. A second
    /// process asking at the same time waits on the lock file and then uses the tree the first one built.
    ///
    /// - Returns: The tree's absolute path.
    /// - Throws: ``SandboxError`` naming what is missing (root, mmdebstrap, the sources file) or what failed.
    public static func prepare() throws -> String {
        guard geteuid() == 0 else {
            throw SandboxError("a systemd VM needs root (mmdebstrap, systemd-nspawn, veth, cgroups); run as root, "
                + "as CI does")
        }
        for tool in ["/usr/bin/mmdebstrap", "/usr/bin/systemd-nspawn"] where access(tool, X_OK) != 0 {
            throw SandboxError("\(tool) is missing: run scripts/install-deps.sh (systemd-container, mmdebstrap)")
        }
        guard let sources = FileManager.default.contents(atPath: sourcesFile) else {
            throw SandboxError("cannot read \(sourcesFile), the apt mirror the VM tree is built from")
        }
        let cache = try cacheDirectory()
        let tree = cache + "/" + recipeHash(sources: sources)
        if FileManager.default.fileExists(atPath: tree + "/etc/os-release") { return tree }

        let lock = open(cache + "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw SandboxError("cannot open \(cache)/.lock: \(String(cString: strerror(errno)))") }
        defer { close(lock) }
        while flock(lock, LOCK_EX) != 0 {
            guard errno == EINTR else { throw SandboxError("cannot lock \(cache)/.lock") }
        }
        if FileManager.default.fileExists(atPath: tree + "/etc/os-release") { return tree }
        try build(into: tree, cache: cache)
        return tree
    }

    /// Builds into a scratch directory beside `tree`, then renames it into place: a tree is complete or absent.
    private static func build(into tree: String, cache: String) throws {
        let fm = FileManager.default
        // Older recipes' trees and scratch dirs of builds that died: nothing uses them any more (we hold the lock).
        for entry in (try? fm.contentsOfDirectory(atPath: cache)) ?? [] where !entry.hasPrefix(".") {
            try? fm.removeItem(atPath: cache + "/" + entry)
        }
        let scratch = tree + ".building"
        var argv = ["mmdebstrap", "--quiet", "--variant=apt", "--include=" + packages.joined(separator: ",")]
        argv += customize.map { "--customize-hook=" + $0 }
        argv += ["bookworm", scratch, sourcesFile]
        let started = Date()
        let result = try runProcess(argv)
        guard result.status == 0 else {
            try? fm.removeItem(atPath: scratch)
            throw SandboxError("mmdebstrap failed (status \(result.status)): "
                + String(result.stderr.suffix(2000)))
        }
        guard rename(scratch, tree) == 0 else {
            throw SandboxError("cannot rename \(scratch) to \(tree): \(String(cString: strerror(errno)))")
        }
        FileHandle.standardError.write(Data(String(format: "shipkeep-sandbox: built the VM tree %@ in %.1f s\n",
                                                   tree, Date().timeIntervalSince(started)).utf8))
    }

    /// `.build/vm-tree` of this package (found from the built products' directory), or `SHIPKEEP_VM_TREE_DIR`.
    private static func cacheDirectory() throws -> String {
        let dir: String
        if let set = ProcessInfo.processInfo.environment["SHIPKEEP_VM_TREE_DIR"], !set.isEmpty {
            dir = set
        } else {
            guard let package = BuildProducts.packageDirectory else {
                throw SandboxError("cannot find the package's .build directory from \(BuildProducts.directory); "
                    + "set SHIPKEEP_VM_TREE_DIR")
            }
            dir = package + "/.build/vm-tree"
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A hash (FNV-1a 64, hex) of everything that decides the tree's content.
    private static func recipeHash(sources: Data) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        let recipe = (packages + customize).joined(separator: "\n")
        for byte in Data(recipe.utf8) + sources {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}
