import Platform

/// This process's own environment, read from `environ` (children never get it implicitly: a
/// ``ChildCommand`` names its whole environment).
public enum ProcessEnvironment {
    /// Every `NAME=value` of this process, as a dictionary (the first of duplicate names wins, as `getenv`).
    public static func current() -> [String: String] {
        var variables: [String: String] = [:]
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "="), variables[String(text[..<equals])] == nil {
                variables[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            cursor += 1
        }
        return variables
    }
}
