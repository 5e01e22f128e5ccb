/// The one line a failure gets. In GitHub Actions it is the `::error::` annotation, which the log shows as an
/// error line and the run's page lists; elsewhere (and with `--json`, whose stdout is JSON Lines only) it is
/// `shipkeep: MESSAGE` on stderr. Printing both would show every failure twice in a CI log.
enum FailureLine {
    /// Prints `message` once, where it belongs.
    static func print(_ message: String, json: Bool, actions: GitHubActions? = GitHubActions.detect()) {
        if let actions, !json {
            Swift.print(actions.error(message))
        } else {
            Terminal.error("shipkeep: \(message)")
        }
    }
}
