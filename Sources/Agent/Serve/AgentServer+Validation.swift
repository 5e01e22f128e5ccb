import Shared

extension AgentServer {
    /// Why `text` cannot name a snapshot in a request (`latest` may), before it is joined to the snapshot dir.
    static func invalidSnapshot(_ text: String) -> InvalidInput? {
        do {
            _ = try SnapshotID(validating: text, allowingLatest: true)
            return nil
        } catch {
            return error
        }
    }

    /// Why `text` cannot name a deploy in a request; `deployOnly` refuses the lock names of restores and service
    /// actions, which have no journal.
    static func invalidDeploy(_ text: String, deployOnly: Bool) -> InvalidInput? {
        do {
            _ = try DeployID(validating: text, deployOnly: deployOnly)
            return nil
        } catch {
            return error
        }
    }

    /// Why one of `paths` (a restore's) is not a ``RelativePath``: refused before the lock is taken or anything is
    /// read, and whether it lies inside a data dir is the restorer's check.
    static func invalidPaths(_ paths: [String]?) -> InvalidInput? {
        for path in paths ?? [] {
            do {
                _ = try RelativePath(validating: path)
            } catch {
                return error
            }
        }
        return nil
    }
}
