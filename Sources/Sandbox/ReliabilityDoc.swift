import Foundation
import ShipkeepSandbox

/// docs/RELIABILITY.md's generated tables, rebuilt from the rows the tests record.
///
/// The doc holds, for each section, a block between `<!-- reliability:begin NAME -->` and
/// `<!-- reliability:end NAME -->`; everything outside the blocks is prose kept as written. Each test writes
/// a row as `<section>-<id>.json` (see Sources/ShipkeepSandbox/ReliabilityRecord.swift), so any suite can
/// add rows to any section by writing records with that section's name.
struct ReliabilityDoc {
    /// One recorded row, in the format the tests write.
    typealias Row = ReliabilityRecord

    /// Why the doc cannot be rebuilt.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let rows: [Row]

    /// Reads every `*.json` record in `directory`.
    ///
    /// - Throws: ``Failure`` when there are none or one cannot be read.
    init(records directory: String) throws {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".json") }.sorted()
        guard !names.isEmpty else {
            throw Failure(description: "no test records in \(directory): run `make test` first (the tests "
                + "write one record per row)")
        }
        rows = try names.map { name in
            guard let data = FileManager.default.contents(atPath: directory + "/" + name),
                  let row = try? JSONDecoder().decode(Row.self, from: data) else {
                throw Failure(description: "\(directory)/\(name) is not a reliability record")
            }
            return row
        }
    }

    /// `doc` with every generated block rebuilt from the records.
    ///
    /// - Throws: ``Failure`` when records name a section the doc has no block for, or a block is unclosed.
    func render(into doc: String) throws -> String {
        var lines = doc.components(separatedBy: "\n")
        var sections: Set<String> = []
        var index = 0
        while index < lines.count {
            guard let section = Self.marker("begin", in: lines[index]) else {
                index += 1
                continue
            }
            guard let end = lines[(index + 1)...].firstIndex(where: { Self.marker("end", in: $0) == section }) else {
                throw Failure(description: "the block `<!-- reliability:begin \(section) -->` is never ended")
            }
            let table = table(for: section)
            lines.replaceSubrange((index + 1)..<end, with: table)
            sections.insert(section)
            index += table.count + 2
        }
        let orphans = Set(rows.map(\.section)).subtracting(sections).sorted()
        guard orphans.isEmpty else {
            throw Failure(description: "records for section(s) \(orphans.joined(separator: ", ")) but the doc has "
                + "no `<!-- reliability:begin NAME -->` block for them")
        }
        return lines.joined(separator: "\n")
    }

    private func table(for section: String) -> [String] {
        let mine = rows.filter { $0.section == section }.sorted { $0.id < $1.id }
        guard !mine.isEmpty else { return ["", "_No rows recorded yet._", ""] }
        let lost = mine.reduce(0) { $0 + $1.linesLost }
        var lines = [
            "",
            "\(mine.count) rows, \(lost) lines lost in all. Generated from the test run; do not edit by hand.",
            "",
            "| # | Scenario | How it is injected | Outcome | Lines lost | Test |",
            "|---|---|---|---|---|---|",
        ]
        for row in mine {
            let cells = [row.id, row.scenario, row.injection, row.outcome, String(row.linesLost), "`\(row.test)`"]
            lines.append("| " + cells.map(Self.cell).joined(separator: " | ") + " |")
        }
        lines.append("")
        return lines
    }

    private static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "|", with: "\\|")
    }

    /// The section named by a `<!-- reliability:KIND NAME -->` line.
    private static func marker(_ kind: String, in line: String) -> String? {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        let prefix = "<!-- reliability:\(kind) "
        guard trimmed.hasPrefix(prefix), trimmed.hasSuffix(" -->") else { return nil }
        let name = trimmed.dropFirst(prefix.count).dropLast(4).trimmingCharacters(in: .whitespaces)
        return name.isEmpty ? nil : name
    }
}
