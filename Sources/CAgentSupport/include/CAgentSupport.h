// GNU extensions the agent needs that Swift's Glibc module does not show (they sit behind _GNU_SOURCE).
#ifndef SHIPKEEP_CAGENTSUPPORT_H
#define SHIPKEEP_CAGENTSUPPORT_H

#include <spawn.h>
#include <sys/types.h>

/// pipe2(fds, O_CLOEXEC).
int shipkeep_pipe_cloexec(int fds[2]);

/// posix_spawn_file_actions_addchdir_np (glibc 2.29).
int shipkeep_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);

/// posix_spawn_file_actions_addclosefrom_np (glibc 2.34).
int shipkeep_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int from);

/// copy_file_range(2): copies in the kernel, reflinking where the filesystem can.
ssize_t shipkeep_copy_file_range(int in_fd, long long *in_off, int out_fd, long long *out_off, size_t len);

#endif
