import CLibSSH2

/// Interpreting libssh2 return codes: every call made through the session ends up in `check`.
extension SSHSession {
    /// Interprets a libssh2 return code.
    /// - Parameters:
    ///   - result: The value the C function returned.
    ///   - function: The C function's name, kept in the error.
    ///   - code: The error code to report (socket-level failures of channel work become `.io`).
    ///   - what: The step, for the message: "exec on 127.0.0.1:2222".
    ///   - hint: What the user should do next.
    /// - Returns: The non-negative result, or `nil` for `LIBSSH2_ERROR_EAGAIN`: not a failure, the call must
    ///   be repeated once the socket is ready.
    /// - Throws: `SSHError` with the code, libssh2's last error text and the function name.
    func check<Result: BinaryInteger>(
        _ result: Result,
        _ function: String,
        _ code: SSHError.Code,
        what: @autoclosure () -> String,
        hint: @autoclosure () -> String
    ) throws(SSHError) -> Int? {
        if result >= 0 {
            return Int(result)
        }
        let status = Int32(clamping: result)
        if status == LIBSSH2_ERROR_EAGAIN {
            return nil
        }
        throw failure(status, function, code, what: what(), hint: hint())
    }

    /// Runs a libssh2 call to completion: repeats it while it would block, waiting on the socket in the
    /// directions libssh2 reports, until `deadline`.
    /// - Parameters:
    ///   - function: The C function's name.
    ///   - code: The error code for failures other than the deadline.
    ///   - what: The step, for messages.
    ///   - hint: What the user should do next.
    ///   - deadline: When to give up with `.timeout`.
    ///   - operation: The call; it must be safe to repeat after EAGAIN, as libssh2 calls are.
    /// - Returns: The non-negative result.
    /// - Throws: `SSHError`, `.timeout` when the deadline passes.
    @discardableResult
    func call<Result: BinaryInteger>(
        _ function: String,
        _ code: SSHError.Code,
        what: String,
        hint: String,
        until deadline: Deadline,
        _ operation: () -> Result
    ) throws(SSHError) -> Int {
        while true {
            if let value = try check(operation(), function, code, what: what, hint: hint) {
                return value
            }
            guard waitForSocket(until: deadline) else {
                throw timeoutError(what: what, deadline: deadline, hint: hint, function: function)
            }
        }
    }

    /// Interprets the result of a libssh2 function that returns a handle and reports failure through
    /// `libssh2_session_last_errno`, for functions that never wait on the network.
    /// - Returns: The non-NULL handle.
    /// - Throws: `SSHError` as `check` does.
    func check(
        handle: OpaquePointer?,
        _ function: String,
        _ code: SSHError.Code,
        what: @autoclosure () -> String,
        hint: @autoclosure () -> String
    ) throws(SSHError) -> OpaquePointer {
        if let handle {
            return handle
        }
        let status = libssh2_session_last_errno(raw)
        // A NULL handle is a failure even when libssh2 recorded no error (or only EAGAIN).
        throw failure(
            status < 0 && status != LIBSSH2_ERROR_EAGAIN ? status : LIBSSH2_ERROR_ALLOC,
            function,
            code,
            what: what(),
            hint: hint()
        )
    }

    /// Like `call`, for the libssh2 functions that return a handle and report failure through
    /// `libssh2_session_last_errno`.
    /// - Returns: The non-NULL handle.
    /// - Throws: `SSHError`, `.timeout` when the deadline passes.
    func callReturningHandle(
        _ function: String,
        _ code: SSHError.Code,
        what: String,
        hint: String,
        until deadline: Deadline,
        _ operation: () -> OpaquePointer?
    ) throws(SSHError) -> OpaquePointer {
        while true {
            if let handle = operation() {
                return handle
            }
            let status = libssh2_session_last_errno(raw)
            // A NULL handle without an error code would otherwise look like success.
            _ = try check(status < 0 ? status : LIBSSH2_ERROR_SOCKET_NONE, function, code, what: what, hint: hint)
            guard waitForSocket(until: deadline) else {
                throw timeoutError(what: what, deadline: deadline, hint: hint, function: function)
            }
        }
    }

    /// The outcome of a teardown call, where there is nobody left to report an error to.
    enum Completion {
        case done, failed, timedOut
    }

    /// Repeats a teardown call while it would block, until `deadline`; errors end it quietly.
    /// - Parameters:
    ///   - function: The C function's name.
    ///   - deadline: When to stop repeating.
    ///   - giveUp: Checked after each EAGAIN; returning true stops early, as if the deadline had passed.
    ///   - operation: The call.
    /// - Returns: How it ended.
    func finish(
        _ function: String,
        until deadline: Deadline,
        giveUp: () -> Bool = { false },
        _ operation: () -> Int32
    ) -> Completion {
        while true {
            do {
                if try check(operation(), function, .io, what: function, hint: "") != nil {
                    return .done
                }
            } catch {
                return .failed
            }
            guard !giveUp(), waitForSocket(until: deadline) else { return .timedOut }
        }
    }

    // MARK: - Errors

    private func failure(
        _ status: Int32,
        _ function: String,
        _ code: SSHError.Code,
        what: String,
        hint: String
    ) -> SSHError {
        var detail = lastErrorText() ?? "libssh2 error \(status)"
        if let said = serverDisconnectMessage {
            detail += " (the server closed the connection: \(said))"
        }
        let refined = Self.refine(code, status)
        // A lost connection needs the same advice whichever step noticed it.
        let advice = refined == .io && code != .io ? "the connection to \(endpoint) was lost; retry" : hint
        let message = "\(what) failed: \(detail)" + (advice.isEmpty ? "" : "; \(advice)")
        return SSHError(refined, message, libssh2Code: status, function: function)
    }

    private func lastErrorText() -> String? {
        var text: UnsafeMutablePointer<CChar>?
        var length: Int32 = 0
        _ = libssh2_session_last_error(raw, &text, &length, 0)
        guard let text, length > 0 else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: text, count: Int(length)), as: UTF8.self)
    }

    private func timeoutError(what: String, deadline: Deadline, hint: String, function: String) -> SSHError {
        SSHError(
            .timeout,
            "\(what) timed out after \(Deadline.describe(deadline.budget))" + (hint.isEmpty ? "" : "; \(hint)"),
            libssh2Code: LIBSSH2_ERROR_EAGAIN,
            function: function
        )
    }

    private static func refine(_ code: SSHError.Code, _ status: Int32) -> SSHError.Code {
        switch status {
        case LIBSSH2_ERROR_TIMEOUT, LIBSSH2_ERROR_SOCKET_TIMEOUT:
            return .timeout
        case LIBSSH2_ERROR_SOCKET_SEND, LIBSSH2_ERROR_SOCKET_RECV, LIBSSH2_ERROR_SOCKET_DISCONNECT,
            LIBSSH2_ERROR_BAD_SOCKET:
            return code == .channel ? .io : code
        default:
            return code
        }
    }
}
