import Foundation
import Shared

/// What a request interrupted by SIGINT, SIGTERM or SIGHUP leaves on stdout (``Interrupts``): where the work it
/// asked for stands — a deploy goes on on the VM — and the command that follows it, naming the target as the
/// user did. With `--json`, a closing `result` line (`"code":"interrupted"`, the command in `attach`) and the
/// sentence on stderr.
struct InterruptNotice {
    let command: Command
    let options: TargetOptions
    /// The resolved target, for the JSON result.
    let target: String
    let json: Bool
    let terminal: Terminal

    /// From now on a signal prints this notice; `deploy` is the deploy's id once the agent said it.
    func arm(deploy: String?) {
        let (message, follow) = describe(deploy: deploy)
        let (json, target, erase) = (json, target, terminal.interactive ? "\r\u{1B}[2K" : "")
        Interrupts.onInterrupt { signal in
            let said = "interrupted (\(Interrupts.name(signal))): \(message)"
            guard json else { return Interrupts.Notice(stdout: erase + said) }
            let code = Interrupts.exitCode(for: signal)
            let result = JSONLines.Result(ok: false, exitCode: code, target: target,
                                          error: WireError(code: .interrupted, message: said), attach: follow)
            return Interrupts.Notice(stdout: String(decoding: WireCodec.encode(result), as: UTF8.self),
                                     stderr: "shipkeep: \(said)")
        }
    }

    /// The sentence after "interrupted:", and the command that follows the deploy when there is one.
    private func describe(deploy: String?) -> (String, String?) {
        let inert = ControlCharacters.escaped
        let follow = options.commandLine("attach", deploy.map { ["--deploy", $0] } ?? [])
        switch command {
        case .deploy, .rollback:
            guard let deploy else {
                return ("if the request reached the VM, the deploy goes on there; follow it with `\(inert(follow))`",
                        follow)
            }
            return ("deploy \(inert(deploy)) goes on on the VM (only this command stopped); follow it with "
                + "`\(inert(follow))`", follow)
        case .attach(let attach):
            guard let deploy = deploy ?? attach.deploy else {
                return ("the deploy goes on on the VM; follow it again with `\(inert(follow))`", follow)
            }
            return ("stopped following deploy \(inert(deploy)), which goes on on the VM; follow it again with "
                + "`\(inert(follow))`", follow)
        default:
            return ("`\(inert(options.commandLine("status")))` shows where the app stands", nil)
        }
    }
}
