extension Event {
    /// What the app's clone on the VM has: the controller builds a bundle of the commit minus what these reach.
    public struct ShipTips: Codable, Equatable, Sendable {
        /// The app.
        public var app: String
        /// The commit checked out now (nil when the clone has none).
        public var head: String?
        /// The commits the clone's branches, tags and remote-tracking refs point to (at most ``maxTips``).
        public var tips: [String]
        /// The largest bundle the agent accepts for this app (agent.yml `ship_max_bytes`).
        public var maxBytes: Int64
        /// The most tips one answer lists: enough for any clone a deploy tree has, small on the wire.
        public static let maxTips = 512
        /// Creates the event.
        public init(app: String, head: String?, tips: [String], maxBytes: Int64) {
            self.app = app
            self.head = head
            self.tips = tips
            self.maxBytes = maxBytes
        }
    }

    /// The agent is ready for the `bytes` of a shipped bundle.
    public struct ShipReady: Codable, Equatable, Sendable {
        /// The bundle's size, as the deploy request announced it.
        public var bytes: Int64
        /// Creates the event.
        public init(bytes: Int64) {
            self.bytes = bytes
        }
    }
}
