import Foundation

/// Runs blocking work (an SSH session each) on up to `width` threads of their own: libssh2 calls block, so a
/// pool of the machine's cores (`concurrentPerform`) would probe or deploy two hosts at a time on 2 cores.
enum ThreadPool {
    /// Calls `body` once for each of `indices`, at most `width` at once, and returns when all have returned.
    static func forEach(_ indices: [Int], width: Int, _ body: @escaping @Sendable (Int) -> Void) {
        guard !indices.isEmpty else { return }
        let queue = WorkQueue(indices)
        let group = DispatchGroup()
        for _ in 0..<min(max(width, 1), indices.count) {
            group.enter()
            let thread = Thread {
                while let index = queue.next() { body(index) }
                group.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        group.wait()
    }
}

/// The indices still to run, handed out one at a time.
private final class WorkQueue: @unchecked Sendable {
    // Every access holds `lock`.
    private let lock = NSLock()
    private var pending: ArraySlice<Int>

    init(_ indices: [Int]) { pending = indices[...] }

    func next() -> Int? { lock.withLock { pending.popFirst() } }
}
