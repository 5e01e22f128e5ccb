/// How the server's host key is verified. There is deliberately no accept-anything case.
enum HostKeyPolicy {
    /// Accept the host only if one of these OpenSSH known_hosts files lists it with the offered key. Plain,
    /// `[host]:port` and hashed (`|1|…`) entries are understood; every file must exist.
    case knownHosts(paths: [String])
    /// Accept only a host key with this fingerprint, `SHA256:` + base64 without padding, as
    /// `ssh-keygen -lf` prints it. The client prefers `ssh-ed25519` host keys, like OpenSSH, so pin the
    /// fingerprint of the server's ed25519 key when it has one.
    case fingerprint(String)
}
