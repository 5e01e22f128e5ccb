#define _GNU_SOURCE
#include "CAgentSupport.h"

#include <fcntl.h>
#include <unistd.h>

int shipkeep_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

int shipkeep_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

int shipkeep_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

ssize_t shipkeep_copy_file_range(int in_fd, long long *in_off, int out_fd, long long *out_off, size_t len) {
    loff_t in = in_off ? (loff_t)*in_off : 0, out = out_off ? (loff_t)*out_off : 0;
    ssize_t copied = copy_file_range(in_fd, in_off ? &in : NULL, out_fd, out_off ? &out : NULL, len, 0);
    if (in_off) *in_off = in;
    if (out_off) *out_off = out;
    return copied;
}
