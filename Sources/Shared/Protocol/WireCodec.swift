/// Turns messages into lines and lines into messages, with every failure mapped to a ``ProtocolError``.
public enum WireCodec {
    /// Encodes a message as one compact line, without the trailing newline. Keys are sorted so the same
    /// message always gives the same bytes (the fixtures depend on it).
    public static func encode(_ value: some Encodable) -> [UInt8] {
        do {
            return try JSONEncoding.encode(value)
        } catch {
            // Only non-finite doubles can fail here, and none of the protocol's types hold one that is not
            // checked first; reaching this is a programming error.
            preconditionFailure("wire encoding failed: \(error)")
        }
    }

    /// Decodes a request line. Every string in it — keys and values, known fields or not — is checked for
    /// control characters, so no field added later can carry one past this check.
    ///
    /// - Throws: ``ProtocolError``: `.malformed` for bytes that are not a JSON object, `.invalidMessage` for a
    ///   payload of the wrong shape, `.controlCharacter` for a string holding one, and the header's own errors.
    public static func decodeRequest(_ line: [UInt8]) throws(ProtocolError) -> Request {
        // The strict parser refuses a line with a raw control byte inside a string, even in a skipped field.
        let parsed = JSONValue.parse(line)
        let request = try decode(Request.self, line, tree: parsed)
        guard let object = parsed else { throw ProtocolError(.malformed, "the line is not valid JSON") }
        // The line as sent and the request as decoded: with a key given twice, the decoder keeps the first value
        // and the line holds both, so both are searched.
        let decoded = JSONValue.parse(encode(request))
        if let (field, scalar) = firstControlCharacter(in: object, at: "")
            ?? decoded.flatMap({ firstControlCharacter(in: $0, at: "") }) {
            throw ProtocolError(.controlCharacter, "\(field.isEmpty ? "a field name" : "field \"\(field)\"") holds "
                + "the control character \(ControlCharacters.name(scalar)); send plain text (the agent stores and "
                + "shows what it is sent)")
        }
        return request
    }

    /// Decodes an event line.
    ///
    /// - Throws: ``ProtocolError`` as ``decodeRequest(_:)`` does.
    public static func decodeEvent(_ line: [UInt8]) throws(ProtocolError) -> EventMessage {
        try decode(EventMessage.self, line, tree: JSONValue.parse(line))
    }

    /// Reads the id of a line that failed to decode, so the error can still be addressed to its request.
    public static func bestEffortID(_ line: [UInt8]) -> String? {
        guard case .string(let id) = JSONValue.parse(line)?["id"], ControlCharacters.first(in: id) == nil else {
            return nil
        }
        return id
    }

    /// The first string under `value` (a decoded JSON value) holding a control character: its field path and
    /// the character. A key holding one is reported at the path of the object that has it.
    private static func firstControlCharacter(in value: JSONValue, at path: String) -> (String, Unicode.Scalar)? {
        switch value {
        case .string(let text):
            return ControlCharacters.first(in: text).map { (path, $0) }
        case .object(let members):
            for (key, item) in members.sorted(by: { $0.key < $1.key }) {
                if let scalar = ControlCharacters.first(in: key) { return (path, scalar) }
                let inner = path.isEmpty ? key : path + "." + key
                if let found = firstControlCharacter(in: item, at: inner) { return found }
            }
        case .array(let items):
            for (index, item) in items.enumerated() {
                if let found = firstControlCharacter(in: item, at: path + ".\(index)") { return found }
            }
        case .number, .bool, .null:
            break
        }
        return nil
    }

    /// Decodes `line`, already parsed into `tree` (nil when it is not JSON).
    private static func decode<T: Decodable>(_ type: T.Type, _ line: [UInt8],
                                             tree: JSONValue?) throws(ProtocolError) -> T {
        guard line.first(where: { !isJSONWhitespace($0) }) == UInt8(ascii: "{") else {
            throw ProtocolError(.malformed, "the line is not a JSON object")
        }
        guard let tree else { throw ProtocolError(.malformed, "the line is not valid JSON") }
        do {
            return try JSONDecoding.decode(T.self, from: tree)
        } catch let error as ProtocolError {
            throw error
        } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
            throw ProtocolError(.malformed, "the line is not valid JSON")
        } catch let DecodingError.keyNotFound(key, context) {
            throw ProtocolError(.invalidMessage, "missing field \"\(path(context.codingPath + [key]))\"")
        } catch let DecodingError.typeMismatch(_, context) {
            throw ProtocolError(.invalidMessage, "field \"\(path(context.codingPath))\" has the wrong type")
        } catch let DecodingError.valueNotFound(_, context) {
            throw ProtocolError(.invalidMessage, "field \"\(path(context.codingPath))\" is null")
        } catch DecodingError.dataCorrupted(let context) {
            throw ProtocolError(.invalidMessage, "field \"\(path(context.codingPath))\": \(context.debugDescription)")
        } catch {
            throw ProtocolError(.malformed, "the line could not be decoded")
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }

    private static func isJSONWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }
}
