#define _GNU_SOURCE
#include "CAgentSupport.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <stdio.h>
#include <string.h>
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

int shipkeep_syncfs(int fd) {
    return syncfs(fd);
}

int shipkeep_renameat_noreplace(int old_dir, const char *old_name, int new_dir, const char *new_name) {
    return renameat2(old_dir, old_name, new_dir, new_name, RENAME_NOREPLACE);
}

int shipkeep_flock_holder(unsigned long long dev_major, unsigned long long dev_minor, unsigned long long inode) {
    // Lines look like: "1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234567 0 EOF" (blocked waiters carry "->").
    FILE *locks = fopen("/proc/locks", "re");
    if (!locks) return -1;
    char line[512];
    int holder = 0;
    while (fgets(line, sizeof line, locks)) {
        char kind[16], mode[16], access[16];
        int pid;
        unsigned long long major, minor, ino;
        if (strstr(line, "->")) continue;
        if (sscanf(line, "%*d: %15s %15s %15s %d %llx:%llx:%llu", kind, mode, access, &pid, &major, &minor, &ino) != 7)
            continue;
        if (strcmp(kind, "FLOCK") == 0 && major == dev_major && minor == dev_minor && ino == inode) {
            holder = pid;
            break;
        }
    }
    fclose(locks);
    return holder;
}

short shipkeep_spawn_setsid_flag(void) {
    return POSIX_SPAWN_SETSID;
}

int shipkeep_has_exited(pid_t pid) {
    siginfo_t info;
    info.si_pid = 0;
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return -1;
    return info.si_pid == pid ? 1 : 0;
}

int shipkeep_memfd(const char *name) {
    return memfd_create(name, MFD_CLOEXEC);
}
