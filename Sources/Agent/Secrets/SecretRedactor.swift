import Platform

/// Replaces an app's secret values in a line of its services' output with `***`, as CI systems mask theirs.
/// Values shorter than ``minimumLength`` are left alone: masking every `1` or `true` would garble the output
/// and hide nothing.
struct SecretRedactor {
    /// The shortest value masked.
    static let minimumLength = 4
    private let values: [String]

    /// A redactor for `values`, longest first (so a value that contains another is masked whole).
    init(_ values: [String]) {
        self.values = Set(values.filter { $0.count >= Self.minimumLength }).sorted { $0.count > $1.count }
    }

    /// `line` with every secret value replaced.
    func callAsFunction(_ line: String) -> String {
        var line = line
        for value in values where line.includes(value) {
            line = line.replacingAll(value, with: "***")
        }
        return line
    }
}
