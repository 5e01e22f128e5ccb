/// Something that arrived on an exec channel.
enum ChannelEvent: Equatable {
    /// Bytes the remote command wrote to its stdout.
    case stdout([UInt8])
    /// Bytes the remote command wrote to its stderr.
    case stderr([UInt8])
    /// The remote side closed its output; nothing more will arrive.
    case eof
}
