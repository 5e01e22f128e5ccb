/// What `restart`, `stop` and `start` ask of an app's services (`"action"` of a `service` request).
public enum ServiceAction: String, Codable, Equatable, Sendable, CaseIterable {
    /// Restart, then check health (the services' checks, the health command, freshness, the data guard).
    case restart
    /// Stop (a command service needs `stop:` in agent.yml).
    case stop
    /// Start, then check health (a command service runs `start:`, else its `restart:`).
    case start
}

extension Command {
    /// The `logs` request: the last lines of files in the data dirs, or of a service's output, and with `follow`
    /// what they gain until the controller closes its input (or sends its next request).
    public struct Logs: Codable, Equatable, Sendable {
        /// The app name from `agent.yml`.
        public var app: String
        /// Files or globs relative to the work tree, inside the data dirs (`logs/*.log`).
        public var paths: [String]?
        /// A service's output instead: a systemd unit's journal, or what a command service printed.
        public var service: String?
        /// How many of the last lines of each source (default 10).
        public var lines: Int?
        /// Keep sending new lines.
        public var follow: Bool?
        /// Only what was written in the last this many seconds.
        public var since: Int?
        /// Creates the request.
        public init(app: String, paths: [String]? = nil, service: String? = nil, lines: Int? = nil,
                    follow: Bool? = nil, since: Int? = nil) {
            self.app = app
            self.paths = paths
            self.service = service
            self.lines = lines
            self.follow = follow
            self.since = since
        }
    }

    /// The `service` request: restart, stop or start an app's services (or one of them) under the app's lock.
    public struct ServiceControl: Codable, Equatable, Sendable {
        /// The app name from `agent.yml`.
        public var app: String
        /// What to do.
        public var action: ServiceAction
        /// One service (a command service's `name`, or a unit); nil means all of them, in order.
        public var service: String?
        /// Who asked, recorded with the lock and in the app's history.
        public var controller: String?
        /// Skip agent.yml's `gate:` (which is asked before a restart or stop).
        public var ignoreGate: Bool?
        /// Creates the request.
        public init(app: String, action: ServiceAction, service: String? = nil, controller: String? = nil,
                    ignoreGate: Bool? = nil) {
            self.app = app
            self.action = action
            self.service = service
            self.controller = controller
            self.ignoreGate = ignoreGate
        }
    }
}
