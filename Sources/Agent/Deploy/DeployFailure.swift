import Shared

/// Why a deploy stopped, with the outcome it leaves behind and the code the result carries.
struct DeployFailure: Error {
    /// `refused` (nothing changed), `locked`, `superseded` (nothing changed: a newer request or a newer live
    /// commit took its place), `failed`, `rolled_back`.
    var outcome: Outcome
    /// The wire error code.
    var code: ErrorCode
    /// One line saying what happened and what to do.
    var message: String

    static func refused(_ code: ErrorCode, _ message: String) -> DeployFailure {
        DeployFailure(outcome: .refused, code: code, message: message)
    }
}
