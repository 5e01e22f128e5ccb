#ifndef SHIPKEEP_CLIBSSH2_SHIM_H
#define SHIPKEEP_CLIBSSH2_SHIM_H

#include <libssh2.h>
#include <libssh2_sftp.h>

// libssh2 exposes several entry points only as function-like macros, which Swift cannot call. These
// wrappers forward to the underlying *_ex functions. Lengths are always passed explicitly (byte
// counts from Swift's utf8.count) instead of relying on the macros' strlen.

static inline LIBSSH2_SESSION *shipkeep_session_init(void) {
    return libssh2_session_init_ex(NULL, NULL, NULL, NULL);
}

static inline int shipkeep_session_disconnect(LIBSSH2_SESSION *session, int reason, const char *description) {
    return libssh2_session_disconnect_ex(session, reason, description, "");
}

static inline LIBSSH2_CHANNEL *shipkeep_channel_open_session(LIBSSH2_SESSION *session) {
    return libssh2_channel_open_ex(session, "session", sizeof("session") - 1,
                                   LIBSSH2_CHANNEL_WINDOW_DEFAULT, LIBSSH2_CHANNEL_PACKET_DEFAULT,
                                   NULL, 0);
}

static inline int shipkeep_channel_exec(LIBSSH2_CHANNEL *channel, const char *command,
                                        unsigned int command_len) {
    return libssh2_channel_process_startup(channel, "exec", sizeof("exec") - 1, command, command_len);
}

static inline ssize_t shipkeep_channel_read(LIBSSH2_CHANNEL *channel, char *buffer, size_t length) {
    return libssh2_channel_read_ex(channel, 0, buffer, length);
}

static inline ssize_t shipkeep_channel_read_stderr(LIBSSH2_CHANNEL *channel, char *buffer, size_t length) {
    return libssh2_channel_read_ex(channel, SSH_EXTENDED_DATA_STDERR, buffer, length);
}

static inline ssize_t shipkeep_channel_write(LIBSSH2_CHANNEL *channel, const char *buffer, size_t length) {
    return libssh2_channel_write_ex(channel, 0, buffer, length);
}

static inline int shipkeep_channel_subsystem(LIBSSH2_CHANNEL *channel, const char *name,
                                             unsigned int name_len) {
    return libssh2_channel_process_startup(channel, "subsystem", sizeof("subsystem") - 1, name, name_len);
}

static inline LIBSSH2_CHANNEL *shipkeep_channel_direct_tcpip(LIBSSH2_SESSION *session, const char *host,
                                                             int port) {
    // The originator is only informational for the server (it logs it); OpenSSH sends 127.0.0.1 too.
    return libssh2_channel_direct_tcpip_ex(session, host, port, "127.0.0.1", 0);
}

static inline int shipkeep_sftp_realpath(LIBSSH2_SFTP *sftp, const char *path, unsigned int path_len,
                                         char *target, unsigned int target_len) {
    return libssh2_sftp_symlink_ex(sftp, path, path_len, target, target_len, LIBSSH2_SFTP_REALPATH);
}

#endif
