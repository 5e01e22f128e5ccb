import Foundation
import Shared

/// The files an app keeps in its state dir on the VM (never /tmp): the lock and the last deploy's record.
struct StateDirectory {
    /// The state dir from `agent.yml`.
    let path: String

    /// The file the deploy lock (`flock`) is taken on; it also names the holder.
    var lockFile: String { path + "/lock" }
    /// The record of the last finished deploy.
    var lastDeployFile: String { path + "/last-deploy.json" }

    /// The last finished deploy, or nil when there has been none (or the record cannot be read).
    func lastDeploy() -> DeployRecord? {
        guard let data = FileManager.default.contents(atPath: lastDeployFile) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(DeployRecord.self, from: data)
    }
}
