// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "shipkeep",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "shipkeep", targets: ["Controller"]),
        .executable(name: "shipkeep-agent", targets: ["Agent"]),
        .executable(name: "shipkeep-sandbox", targets: ["Sandbox"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // The C library behind one seam: Glibc on Linux, Darwin on macOS, with shims where they differ. Every
        // other target imports Platform, never Glibc or Darwin.
        .target(name: "Platform"),
        // libyaml as Debian ships it (libyaml-dev), for agent.yml and shipkeep.yml. Linked statically
        // (module.modulemap links `:libyaml.a`), as CSQLite is, so the agent needs no libyaml on the VM.
        .systemLibrary(
            name: "CYAML",
            providers: [.apt(["libyaml-dev"])]
        ),
        // The wire protocol and the configuration models both sides read. No libssh2, no processes, no Foundation
        // module at all, FoundationEssentials included: its own JSON coder, Timestamp and Base64
        // (scripts/check-imports.sh).
        .target(
            name: "Shared",
            dependencies: ["CYAML", "Platform"]
        ),
        // libssh2 as Debian ships it (1.10). Only the Controller imports it.
        .systemLibrary(
            name: "CLibSSH2",
            pkgConfig: "libssh2",
            providers: [.apt(["libssh2-1-dev"])]
        ),
        // zlib as Debian ships it, for the gzip stream of `download`.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // zstd as Debian ships it (libzstd-dev, 1.5), for the default `.tar.zst` stream of `download`. Linked
        // statically like CSQLite (module.modulemap links `:libzstd.a`), into the agent and the controller, so
        // neither needs libzstd1 where it runs.
        .systemLibrary(
            name: "CZstd",
            providers: [.apt(["libzstd-dev"])]
        ),
        // SQLite as Debian ships it (libsqlite3-dev, 3.40), for consistent snapshots of live databases (the online
        // backup API). Only the Agent imports it. Linked statically (module.modulemap links `:libsqlite3.a`), so
        // the agent needs no libsqlite3 on the VM; no pkgConfig, whose `-lsqlite3` would make it need the
        // shared library all the same.
        .systemLibrary(
            name: "CSQLite",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // XXH64, the manifests' content hash: the agent records it, the controller checks downloads with it.
        .target(name: "CXXHash"),
        // Snapshot archives: tar (ustar + pax), gzip and zstd, streamed through fixed buffers, and the content hash.
        .target(name: "SnapshotArchive", dependencies: ["CZlib", "CZstd", "CXXHash", "Platform"]),
        .executableTarget(
            name: "Controller",
            dependencies: [
                "Shared",
                "Platform",
                "CLibSSH2",
                "ProcessKit",
                "SnapshotArchive",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // GNU libc extensions (pipe2, spawn chdir/closefrom, copy_file_range) behind _GNU_SOURCE.
        .target(name: "CAgentSupport"),
        // Child processes for agent, controller and sandbox: posix_spawn with argv only, closed descriptors, reset
        // signals, process groups, bounded capture, timeouts and the one line splitter. No Foundation.
        .target(name: "ProcessKit", dependencies: ["CAgentSupport", "Platform"]),
        .executableTarget(
            name: "Agent",
            dependencies: [
                "Shared",
                "Platform",
                "CAgentSupport",
                "CSQLite",
                "ProcessKit",
                "SnapshotArchive",
            ]
        ),
        // A throwaway "VM": a real sshd on loopback, keys, a git origin and a sample bot app.
        // Used by the end-to-end tests, `make demo` and the benchmarks.
        .target(name: "ShipkeepSandbox", dependencies: ["Shared", "Platform", "ProcessKit"]),
        .executableTarget(
            name: "Sandbox",
            dependencies: [
                "ShipkeepSandbox",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "SharedTests",
            dependencies: ["Shared"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "ProcessKitTests", dependencies: ["ProcessKit"]),
        .testTarget(name: "ControllerTests", dependencies: ["Controller", "Shared", "ShipkeepSandbox", "SnapshotArchive"]),
        .testTarget(name: "AgentTests", dependencies: ["Agent", "Shared", "ShipkeepSandbox"]),
        .testTarget(name: "SnapshotArchiveTests", dependencies: ["SnapshotArchive", "ShipkeepSandbox"]),
        // Yams: the GitHub Action tests read action.yml to run its steps as GitHub would.
        .testTarget(name: "EndToEndTests", dependencies: ["Shared", "ShipkeepSandbox",
                                                          .product(name: "Yams", package: "Yams")]),
    ],
    swiftLanguageModes: [.v6]
)
