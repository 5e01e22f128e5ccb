extension Command {
    /// What an `env` request does.
    public enum EnvAction: String, Codable, Equatable, Sendable {
        /// Answers the keys.
        case list
        /// Sets `key` to `value`.
        case set
        /// Removes `key`.
        case unset
    }

    /// The `env` request: the app's secrets. The value travels only here, in the request body, never in argv.
    /// Printing the request shows `value` as `<redacted>`.
    public struct Env: Codable, Equatable, Sendable {
        /// The app name from `agent.yml`.
        public var app: String
        /// `list`, `set` or `unset`.
        public var action: EnvAction
        /// The variable name (`set`, `unset`).
        public var key: String?
        /// The value (`set` only): one line.
        public var value: String?
        /// Restart the app's services once the change is written (else it takes effect at the next restart).
        public var restart: Bool?
        /// Creates the request.
        public init(app: String, action: EnvAction, key: String? = nil, value: String? = nil, restart: Bool? = nil) {
            self.app = app
            self.action = action
            self.key = key
            self.value = value
            self.restart = restart
        }
    }

    /// The `history` request.
    public struct History: Codable, Equatable, Sendable {
        /// The app name from `agent.yml`.
        public var app: String
        /// How many entries, newest first (nil: the agent's default).
        public var limit: Int?
        /// Creates the request.
        public init(app: String, limit: Int? = nil) {
            self.app = app
            self.limit = limit
        }
    }
}

extension Command.Env: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The request with its value redacted, so that no log line or test failure can print a secret.
    public var description: String {
        let shown = value == nil ? "nil" : "<redacted>"
        return "env(app: \(app), action: \(action.rawValue), key: \(key ?? "nil"), value: \(shown), "
            + "restart: \(restart.map(String.init) ?? "nil"))"
    }
    /// As ``description``.
    public var debugDescription: String { description }
    /// Children without the value, for `dump` and the test frameworks' diffs.
    public var customMirror: Mirror {
        Mirror(self, children: ["app": app, "action": action, "key": key as Any,
                                "value": value == nil ? "nil" : "<redacted>", "restart": restart as Any])
    }
}

extension Event {
    /// The keys of an app's secrets, sorted, and the file that holds them; never a value.
    public struct EnvKeys: Codable, Equatable, Sendable {
        /// The app.
        public var app: String
        /// The env file on the VM.
        public var file: String
        /// The variable names it sets.
        public var keys: [String]
        /// Creates the event.
        public init(app: String, file: String, keys: [String]) {
            self.app = app
            self.file = file
            self.keys = keys
        }
    }
}
