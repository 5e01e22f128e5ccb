#!/usr/bin/env bash
# Installs what shipkeep needs to build and test, if it is missing: libssh2, zlib, zstd, SQLite and libyaml (headers;
# the agent links SQLite, libyaml and zstd statically, the controller zstd), the zstd tool (the tests' `tar --zstd`),
# OpenSSH server and client (the tests start a real sshd), git, pkg-config, python3 (the tests' database writers)
# with prometheus_client (the tests' Prometheus parser), restic (the off-VM backup tests), systemd-container and
# mmdebstrap (the systemd VM). Debian/Ubuntu (apt-get). Runs apt only when needed.
# `install-deps.sh bench` adds what `make bench` compares with or measures through: rsync, restic, GNU time, pgrep,
# and Python's venv (for the ansible-core it installs under .build/).
# `install-deps.sh runtime` installs only what a built `shipkeep` needs to run (libssh2), and
# `install-deps.sh controller` only what building it needs: the GitHub Action uses these, never the test packages.
set -euo pipefail

# Installs the packages named, with apt-get (through sudo when not root).
install() {
  [ $# -eq 0 ] && return 0
  echo "shipkeep: installing $*" >&2
  if [ "$(id -u)" -eq 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null; then
    sudo=(sudo)
  else
    echo "shipkeep: need root to install $*; run: apt-get install -y $*" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  # libssh2's runtime package is libssh2-1t64 from Ubuntu 24.04 and Debian 13 on, libssh2-1 before.
  local packages=("${@/#libssh2-runtime/$(apt-cache show libssh2-1t64 >/dev/null 2>&1 && echo libssh2-1t64 || echo libssh2-1)}")
  "${sudo[@]}" apt-get install -y -qq "${packages[@]}" >/dev/null
}

missing=()
case "${1:-}" in
  runtime)
    # grep reads all of it (no -q): a grep that quits early makes ldconfig die of SIGPIPE, and pipefail would
    # then call the library missing.
    /sbin/ldconfig -p | grep 'libssh2\.so\.1 ' >/dev/null || missing+=(libssh2-runtime)
    install "${missing[@]}"
    exit 0
    ;;
  controller)
    pkg-config --exists libssh2 2>/dev/null || missing+=(libssh2-1-dev)
    pkg-config --exists zlib 2>/dev/null || missing+=(zlib1g-dev)
    pkg-config --exists yaml-0.1 2>/dev/null || missing+=(libyaml-dev)
    pkg-config --exists libzstd 2>/dev/null || missing+=(libzstd-dev)
    command -v pkg-config >/dev/null || missing+=(pkg-config)
    install "${missing[@]}"
    exit 0
    ;;
esac
pkg-config --exists libssh2 2>/dev/null || missing+=(libssh2-1-dev)
pkg-config --exists zlib 2>/dev/null || missing+=(zlib1g-dev)
# The agent and the controller link libzstd.a (see Sources/CZstd/module.modulemap), which libzstd-dev ships with
# libzstd.pc; the download tests extract the .tar.zst with `tar --zstd`, which runs the zstd binary.
pkg-config --exists libzstd 2>/dev/null || missing+=(libzstd-dev)
command -v zstd >/dev/null || missing+=(zstd)
# The agent links libsqlite3.a (see Sources/CSQLite/module.modulemap), which libsqlite3-dev ships with sqlite3.pc.
pkg-config --exists sqlite3 2>/dev/null || missing+=(libsqlite3-dev)
# Shared reads agent.yml and shipkeep.yml with libyaml, linked statically (Sources/CYAML/module.modulemap).
pkg-config --exists yaml-0.1 2>/dev/null || missing+=(libyaml-dev)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v ssh-keygen >/dev/null && command -v ssh-agent >/dev/null || missing+=(openssh-client)
command -v git >/dev/null || missing+=(git)
command -v pkg-config >/dev/null || missing+=(pkg-config)
command -v flock >/dev/null || missing+=(util-linux)
# GNU time: the hostile-input tests read the agent's peak RSS from it (%M).
[ -x /usr/bin/time ] || missing+=(time)
# The SQLite tests' writers are small python3 scripts (its sqlite3 module).
command -v python3 >/dev/null || missing+=(python3)
# The status tests read every Prometheus exposition with the Prometheus client library's own parsers (Debian's
# package, for /usr/bin/python3).
/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null || missing+=(python3-prometheus-client)
# The off-VM backup tests run a real restic (local and sftp: repositories). On a VM, the agent needs it only when
# agent.yml has backup: {restic: …}; the controller never runs it, so `runtime` and `controller` leave it out.
command -v restic >/dev/null || missing+=(restic)
# The systemd VM of the end-to-end tests and the demo: systemd-nspawn boots a Debian tree mmdebstrap builds.
[ -x /usr/bin/systemd-nspawn ] || missing+=(systemd-container)
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
command -v nsenter >/dev/null || missing+=(util-linux)
if [ "${1:-}" = bench ]; then
  command -v rsync >/dev/null || missing+=(rsync)
  command -v restic >/dev/null || missing+=(restic)
  [ -x /usr/bin/time ] || missing+=(time)
  command -v pgrep >/dev/null || missing+=(procps)
  command -v python3 >/dev/null || missing+=(python3)
  python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
fi

install "${missing[@]}"
