import Foundation
import ProcessKit
import Shared

/// The controller's side of the protocol over one exec channel: sends requests, reads events in order and
/// keeps the agent's stderr for diagnostics.
///
/// Not `Sendable`: it drives a libssh2 channel, which must stay on one thread.
final class AgentSession {
    private let channel: SSHChannel
    /// Events, and the raw bytes of each `frame` (a download's archive, when asked for), read off stdout.
    private var reader = EventReader()
    private var buffered: [EventMessage] = []
    private var sawEOF = false
    private var nextID = 1
    private var stderrLines: [String] = []
    /// The agent's stderr in lines of at most 4 KiB: what it says there is for people, and a hostile or broken
    /// agent that never ends a line must not grow this side's memory.
    private var stderrSplitter = LineSplitter(maxLineBytes: 4096)
    private let onDiagnostic: (String) -> Void

    /// The agent's `hello`, once ``hello()`` has run.
    private(set) var agent: Event.HelloReply?

    /// Wraps an exec channel on which the agent runs; `onDiagnostic` receives each stderr line.
    init(channel: SSHChannel, onDiagnostic: @escaping (String) -> Void = { _ in }) {
        self.channel = channel
        self.onDiagnostic = onDiagnostic
    }

    /// Opens the session: sends `hello` and checks the agent's answer.
    ///
    /// - Throws: ``ControllerError`` when the agent does not answer as a shipkeep agent should.
    @discardableResult
    func hello() throws(ControllerError) -> Event.HelloReply {
        var reply: Event.HelloReply?
        let result = try request(.hello(Command.Hello(client: "shipkeep/\(WireProtocol.toolVersion)",
                                                       controller: ControllerIdentity.current))) { message in
            if case .hello(let hello) = message.event { reply = hello }
        }
        guard result.ok, let reply else {
            throw ControllerError(.agent, result.error?.message ?? "the agent did not answer hello", code: result.error?.code)
        }
        agent = reply
        return reply
    }

    /// Sends `command` and delivers each event for it to `onEvent` until its `result`, which is returned.
    /// `onReady` runs when the agent answers `ship_ready`, with the request's id: it sends the bundle.
    ///
    /// - Parameter stop: Asked while waiting; once it says true, the agent's input is closed (which ends a followed
    ///   `logs`) and its result still awaited.
    /// - Throws: ``ControllerError`` when the connection fails or the agent breaks the protocol.
    func request(_ command: Command, onReady: ((String) throws(ControllerError) -> Void)? = nil,
                 stop: () -> Bool = { false },
                 onEvent: (EventMessage) throws(ControllerError) -> Void) throws(ControllerError) -> Event.Result {
        let id = String(nextID)
        nextID += 1
        try send(Request(id: id, command: command))
        var lastSeq = 0
        var stopping = false
        while true {
            let message = try nextEvent { () throws(ControllerError) in
                guard !stopping, stop() else { return }
                stopping = true
                do throws(SSHError) {
                    try channel.sendEOF()
                } catch {
                    throw ControllerError(error)
                }
            }
            // A result without an id answers whatever was asked: the agent could not read the request at all.
            guard message.id == id || (message.id == nil && message.event.type == "result") else {
                throw ControllerError(.protocolError, "the agent answered request \(message.id ?? "?") while \(id) was pending")
            }
            guard message.seq > lastSeq else {
                throw ControllerError(.protocolError, "the agent sent event \(message.seq) after \(lastSeq)")
            }
            lastSeq = message.seq
            if case .result(let result) = message.event { return result }
            try onEvent(message)
            if case .shipReady = message.event {
                guard let onReady else {
                    throw ControllerError(.protocolError,
                                          "the agent asked for a bundle that request \(id) did not offer")
                }
                try onReady(id)
            }
        }
    }

    /// Writes one request line.
    ///
    /// - Throws: ``ControllerError`` when the connection fails.
    func send(_ request: Request) throws(ControllerError) {
        do {
            try channel.write(WireCodec.encode(request) + [UInt8(ascii: "\n")])
        } catch {
            throw ControllerError(error)
        }
    }

    /// Says we are done (EOF on the agent's stdin), drains what is left, and returns the agent's exit status.
    ///
    /// - Throws: ``ControllerError`` when the connection fails while closing.
    func close() throws(ControllerError) -> Int32? {
        do {
            try channel.sendEOF()
            while !sawEOF { try pump() }
            return try channel.waitExit().status
        } catch let error as SSHError {
            throw ControllerError(error)
        } catch let error as ControllerError {
            throw error
        } catch {
            throw ControllerError(.connection, "\(error)")
        }
    }

    /// Waits between requests without taking the agent for dead (see `SSHChannel.idle`).
    ///
    /// - Throws: ``ControllerError`` when the connection breaks.
    func idle(seconds: Double) throws(ControllerError) {
        do {
            try channel.idle(seconds: seconds)
        } catch {
            throw ControllerError(error)
        }
    }

    /// The last lines the agent wrote on stderr, for error messages.
    var recentDiagnostics: [String] { Array(stderrLines.suffix(5)) }

    private func nextEvent(whileWaiting: () throws(ControllerError) -> Void = {}) throws(ControllerError)
        -> EventMessage {
        while buffered.isEmpty {
            try whileWaiting()
            if sawEOF {
                let said = recentDiagnostics.last.map { ": \($0)" } ?? ""
                throw ControllerError(.protocolError, "the agent closed the connection before answering\(said) "
                    + "(is shipkeep-agent installed on the VM and the key's forced command right?)")
            }
            try pump()
        }
        return buffered.removeFirst()
    }

    private func pump() throws(ControllerError) {
        let events: [ChannelEvent]
        do {
            events = try channel.read(timeout: 1)
        } catch {
            throw ControllerError(error)
        }
        for event in events {
            switch event {
            case .stdout(let bytes):
                do {
                    buffered += try reader.append(bytes)
                } catch {
                    let preview = stderrLines.last.map { " (agent stderr: \($0))" } ?? ""
                    throw ControllerError(.protocolError, "the agent's output is not the shipkeep protocol: \(error)\(preview)")
                }
            case .stderr(let bytes):
                for line in stderrSplitter.append(bytes) {
                    stderrLines.append(line)
                    if stderrLines.count > 50 { stderrLines.removeFirst() }
                    onDiagnostic(line)
                }
            case .eof:
                sawEOF = true
                do {
                    try reader.finish()
                } catch {
                    throw ControllerError(.protocolError, "the agent's output is cut short: \(error)")
                }
            }
        }
    }
}
