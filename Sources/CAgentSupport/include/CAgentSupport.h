// GNU extensions the agent and ProcessKit need that Swift's Glibc module does not show (behind _GNU_SOURCE).
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

/// POSIX_SPAWN_SETSID: the child starts a new session (detached from the SSH session).
short shipkeep_spawn_setsid_flag(void);

/// copy_file_range(2): copies in the kernel, reflinking where the filesystem can.
ssize_t shipkeep_copy_file_range(int in_fd, long long *in_off, int out_fd, long long *out_off, size_t len);

/// syncfs(2): flushes the filesystem holding fd (one call instead of an fsync per snapshot file).
int shipkeep_syncfs(int fd);

/// renameat2(..., RENAME_NOREPLACE): renames only if nothing has the new name (EEXIST otherwise; EINVAL where
/// the filesystem cannot).
int shipkeep_renameat_noreplace(int old_dir, const char *old_name, int new_dir, const char *new_name);

/// Whether /proc/locks shows an flock on the file with this device and inode, and by which pid (0 if none).
int shipkeep_flock_holder(unsigned long long dev_major, unsigned long long dev_minor, unsigned long long inode);

/// Whether child `pid` has ended (1), still runs (0), or is not a child (-1), without reaping it: its pid, and
/// its process group's id, stay taken until it is waited for, so a signal to the group cannot reach a stranger.
int shipkeep_has_exited(pid_t pid);

/// memfd_create(name, MFD_CLOEXEC): an anonymous file, for bytes a child reads as stdin.
int shipkeep_memfd(const char *name);

#endif
