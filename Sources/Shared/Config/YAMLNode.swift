import CYAML

/// A YAML node as the configuration reader sees it, composed from libyaml's events: scalars keep their text and
/// whether they were plain (unquoted), and every node keeps its line (1-based) for the error messages.
indirect enum YAMLNode: Sendable {
    case scalar(String, plain: Bool, line: Int)
    case sequence([YAMLNode], line: Int)
    case mapping([(key: YAMLNode, value: YAMLNode)], line: Int)

    /// The line the node starts on.
    var line: Int {
        switch self {
        case .scalar(_, _, let line), .sequence(_, let line), .mapping(_, let line): line
        }
    }

    /// The text of a scalar; nil for a list or a mapping.
    var string: String? {
        guard case .scalar(let text, _, _) = self else { return nil }
        return text
    }

    /// A plain scalar that YAML reads as null (empty, `~`, `null`).
    var isNull: Bool {
        guard case .scalar(let text, true, _) = self else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(text)
    }

    /// A plain scalar read as an integer by YAML 1.1's rules, as the reader before libyaml (Yams) read them:
    /// `_` separators, `0x`/`0b`/`0o`/`0` prefixes, `1:30` base 60.
    var int: Int? {
        guard case .scalar(let text, true, _) = self else { return nil }
        let digits = text.filter { $0 != "_" }
        if digits == "0" { return 0 }
        let negative = digits.hasPrefix("-")
        let unsigned = digits.dropFirst(negative || digits.hasPrefix("+") ? 1 : 0)
        let sign = negative ? "-" : ""
        for (prefix, radix) in [("0x", 16), ("0b", 2), ("0o", 8), ("0", 8)] where unsigned.hasPrefix(prefix) {
            return Int(sign + unsigned.dropFirst(prefix.count), radix: radix)
        }
        if unsigned.contains(":") {
            var value = 0
            for part in unsigned.split(separator: ":", omittingEmptySubsequences: false) {
                guard let place = Int(part), place >= 0 else { return nil }
                let (shifted, overflow) = value.multipliedReportingOverflow(by: 60)
                guard !overflow else { return nil }
                value = shifted + place
            }
            return negative ? -value : value
        }
        return Int(digits)
    }
}

/// Composes YAML text into one ``YAMLNode`` tree with libyaml, refusing what the configuration files never need:
/// more than one document, keys twice in one mapping, nesting deeper than ``maxDepth``.
struct YAMLComposer: ~Copyable {
    /// Why the text is not a YAML document, with the line libyaml reported (1-based).
    struct Failure: Error {
        var line: Int?
        var problem: String
    }

    /// Deeper than any configuration file nests, shallow enough that the recursion cannot exhaust the stack.
    static let maxDepth = 64

    private let parser: UnsafeMutablePointer<yaml_parser_t>
    private let input: UnsafeMutableBufferPointer<UInt8>
    private var anchors: [String: YAMLNode] = [:]

    /// The root node of `text`, or nil when it holds no document (empty, or only comments).
    ///
    /// - Throws: ``Failure`` naming the problem and its line.
    static func compose(_ text: String) throws(Failure) -> YAMLNode? {
        var composer = YAMLComposer(text)
        return try composer.document()
    }

    private init(_ text: String) {
        let bytes = Array(text.utf8)
        input = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(bytes.count, 1))
        _ = input.initialize(from: bytes)
        parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        yaml_parser_initialize(parser)
        yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input_string(parser, input.baseAddress, bytes.count)
    }

    deinit {
        yaml_parser_delete(parser)
        parser.deallocate()
        input.deallocate()
    }

    private mutating func document() throws(Failure) -> YAMLNode? {
        var event = try next()
        guard event.type == YAML_STREAM_START_EVENT else { throw Failure(line: nil, problem: "no stream start") }
        yaml_event_delete(&event)
        event = try next()
        defer { yaml_event_delete(&event) }
        if event.type == YAML_STREAM_END_EVENT { return nil }
        let root = try node(depth: 0)
        var end = try next()
        yaml_event_delete(&end)
        var after = try next()
        defer { yaml_event_delete(&after) }
        guard after.type == YAML_STREAM_END_EVENT else {
            throw Failure(line: Int(after.start_mark.line) + 1,
                          problem: "expected a single document in the stream, but found another document")
        }
        return root
    }

    /// The node that starts with the next event.
    private mutating func node(depth: Int) throws(Failure) -> YAMLNode {
        var event = try next()
        defer { yaml_event_delete(&event) }
        let line = Int(event.start_mark.line) + 1
        guard depth < Self.maxDepth else { throw Failure(line: line, problem: "nested deeper than \(Self.maxDepth)") }
        switch event.type {
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            let text = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
            let node = YAMLNode.scalar(text, plain: scalar.style == YAML_PLAIN_SCALAR_STYLE, line: line)
            remember(scalar.anchor, node)
            return node
        case YAML_ALIAS_EVENT:
            let name = Self.text(event.data.alias.anchor) ?? ""
            guard let node = anchors[name] else { throw Failure(line: line, problem: "found undefined alias") }
            return node
        case YAML_SEQUENCE_START_EVENT:
            var items: [YAMLNode] = []
            while try peekIsNot(YAML_SEQUENCE_END_EVENT) {
                items.append(try node(depth: depth + 1))
            }
            let node = YAMLNode.sequence(items, line: line)
            remember(event.data.sequence_start.anchor, node)
            return node
        case YAML_MAPPING_START_EVENT:
            var pairs: [(key: YAMLNode, value: YAMLNode)] = []
            var names: Set<String> = []
            while try peekIsNot(YAML_MAPPING_END_EVENT) {
                let key = try node(depth: depth + 1)
                let value = try node(depth: depth + 1)
                if let name = key.string, !names.insert(name).inserted {
                    throw Failure(line: line, problem: "the key \"\(name)\" appears twice in one mapping")
                }
                pairs.append((key, value))
            }
            let node = YAMLNode.mapping(pairs, line: line)
            remember(event.data.mapping_start.anchor, node)
            return node
        default:
            throw Failure(line: line, problem: "unexpected YAML event")
        }
    }

    /// The event after the one just read, held back for ``node(depth:)``.
    private var pending: yaml_event_t?

    /// Whether the next event is not `type`; consumes it when it is.
    private mutating func peekIsNot(_ type: yaml_event_type_t) throws(Failure) -> Bool {
        var event = try next()
        if event.type == type {
            yaml_event_delete(&event)
            return false
        }
        pending = event
        return true
    }

    private mutating func next() throws(Failure) -> yaml_event_t {
        if let event = pending {
            pending = nil
            return event
        }
        var event = yaml_event_t()
        guard yaml_parser_parse(parser, &event) == 1 else {
            let problem = parser.pointee.problem.map { String(cString: $0) } ?? "unknown error"
            let line = parser.pointee.error == YAML_READER_ERROR ? nil : Int(parser.pointee.problem_mark.line) + 1
            throw Failure(line: line, problem: problem)
        }
        return event
    }

    private mutating func remember(_ anchor: UnsafeMutablePointer<yaml_char_t>?, _ node: YAMLNode) {
        if let name = Self.text(anchor) { anchors[name] = node }
    }

    private static func text(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: $0) }
    }
}
