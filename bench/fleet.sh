# bench/fleet.sh — the fleet rows of bench/run.sh (sourced): `shipkeep deploy GROUP --parallel P` over 1, 8
# and 32 sandbox VMs (each its own sshd on loopback) whose apps all fetch from the first one's origin, as a
# real fleet shares one repository (Tests/EndToEndTests/FleetTests.swift sets them up the same way).

## fleet_config: writes $WORK/shipkeep.yml with targets fleet0… and a group hostsN for every N in FLEET_SIZES.
fleet_config() {
    local index n
    echo "targets:" >"$WORK/shipkeep.yml"
    for index in $(seq 0 $((FLEET_MAX - 1))); do
        use_vm "fleet$index"
        cat >>"$WORK/shipkeep.yml" <<EOF
  fleet$index:
    host: $SHIPKEEP_HOST
    port: $SHIPKEEP_PORT
    user: $SHIPKEEP_USER
    app: $SHIPKEEP_APP
    identity: $SHIPKEEP_IDENTITY
    known_hosts: $SHIPKEEP_KNOWN_HOSTS
EOF
    done
    echo "groups:" >>"$WORK/shipkeep.yml"
    for n in $FLEET_SIZES; do
        echo "  hosts$n: [$(seq -s ', ' -f 'fleet%g' 0 $((n - 1)))]" >>"$WORK/shipkeep.yml"
    done
}

## fleet_stop_bots: stops every fleet VM's bot, so 32 bots do not load the machine between measurements.
fleet_stop_bots() {
    local index
    for index in $(seq 0 $((FLEET_MAX - 1))); do use_vm "fleet$index"; stop_bot; done
}

## fleet_deploy KEY N P: one group deploy of hostsN, P at a time, of a new commit; records its wall time.
fleet_deploy() {
    local key=$1 n=$2 p=$3 log t0
    log="$WORK/fleet-$key-$(runs "$key.ms").jsonl"
    use_vm fleet0
    push_commit "bench: fleet $n @ $p"
    sync
    local cpu0 t0
    cpu0=$(cpu_ticks)
    t0=$(now_us)
    /usr/bin/time -f '%U %S' -o "$log.time" "$BIN/shipkeep" deploy "hosts$n" --config "$WORK/shipkeep.yml" \
        --parallel "$p" --commit "$COMMIT" --json >"$log" 2>"$log.err" \
        || { cat "$log.err" >&2; echo "bench: fleet deploy $n @ $p failed" >&2; exit 1; }
    rec "$key.ms" "$(ms $(( $(now_us) - t0 )))"
    # The whole machine's CPU (every VM's sshd, login shell, agent, git, restart and bot, and the controller)
    # and the controller's own, in ms.
    rec "$key.cpu.ms" "$(cpu_ms_since "$cpu0")"
    rec "$key.controller.cpu.ms" "$(awk '{printf "%.0f", ($1 + $2) * 1000}' "$log.time")"
    # Per host: the controller's time for it (connect to result) and the agent's own deploy time.
    # (keys are sorted: the deploy summary's "seconds" comes first, the host's own last).
    grep '"type":"host"' "$log" | sed -E 's/.*"seconds":([0-9.]+).*/\1/' | awk '{printf "%.0f\n", $1 * 1000}' \
        >>"$WORK/results/$key.host.ms"
    grep '"type":"host"' "$log" | sed -nE 's/.*"deploy":\{[^}]*"seconds":([0-9.]+).*/\1/p' \
        | awk '{printf "%.0f\n", $1 * 1000}' >>"$WORK/results/$key.agent.ms"
    fleet_stop_bots
    echo "bench:   fleet $n hosts @ parallel $p: $(tail -n 1 "$WORK/results/$key.ms") ms" >&2
}

## cpu_ticks: CPU time used by the whole machine since boot (user, nice, system, irq, softirq), in clock ticks.
cpu_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8; exit}' /proc/stat; }

## cpu_ms_since TICKS: the machine's CPU time since `cpu_ticks` said TICKS, in ms.
cpu_ms_since() { echo $(( ($(cpu_ticks) - $1) * 1000 / $(getconf CLK_TCK) )); }

## fleet_login_cost: the machine CPU (ms) of one `ssh HOST true` (client, sshd, login shell), median of 10, and
## of the login shell alone as sshd starts it, with the VM's HOME (bash reads ~/.bashrc when it runs a command
## for sshd).
fleet_login_cost() {
    local i cpu0
    use_vm fleet0
    for i in $(seq 1 10); do
        cpu0=$(cpu_ticks)
        ssh_plain true
        rec fleet.login.cpu.ms "$(cpu_ms_since "$cpu0")"
        # Ten shells per measurement: one is less than the 10 ms /proc/stat counts in.
        cpu0=$(cpu_ticks)
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            env -u SHLVL HOME="$WORK/$VM/vm/home" SSH_CLIENT="127.0.0.1 1 22" bash -c true </dev/null
        done
        rec fleet.shell.cpu.ms "$(awk -v v="$(cpu_ms_since "$cpu0")" 'BEGIN {print v / 10}')"
    done
}

## fleet_rows: starts the fleet, deploys once to all of it unmeasured (so every later deploy hard-links its
## unchanged data, like the second deploys above), then alternates the sizes RUNS_FLEET times.
fleet_rows() {
    local names=() index run n p
    FLEET_MAX=$(echo "$FLEET_SIZES" | tr ' ' '\n' | sort -n | tail -n 1)
    for index in $(seq 0 $((FLEET_MAX - 1))); do names+=("fleet$index"); done
    echo "bench: starting $FLEET_MAX fleet VMs" >&2
    start_vms "$SMALL" "${names[@]}"
    use_vm fleet0
    local origin="$WORK/fleet0/origin.git"
    for index in $(seq 1 $((FLEET_MAX - 1))); do
        use_vm "fleet$index"
        git -C "$SANDBOX_APP_PATH" remote set-url origin "$origin"
    done
    fleet_config
    fleet_login_cost
    fleet_deploy fleet.warmup "$FLEET_MAX" "$FLEET_MAX"
    for run in $(seq 1 "$RUNS_FLEET"); do
        for n in $FLEET_SIZES; do
            if [ "$n" = 1 ]; then fleet_deploy "fleet.1.1" 1 1; continue; fi
            for p in $FLEET_PARALLEL; do
                if [ "$p" -le "$n" ]; then fleet_deploy "fleet.$n.$p" "$n" "$p"; fi
            done
        done
    done
    fleet_capped_rows
}

## The capped rows: 1 host and FLEET_MAX hosts again, with every VM held to the same small CPU share in both,
## as each VM of a real fleet has a CPU of its own. Unheld, one host has the machine's 2 cores to itself,
## while each of FLEET_MAX hosts gets 2/FLEET_MAX of them; the ratio of the two then says more about this
## machine than about the controller.
## FLEET_CAP_US (set in bench/run.sh): each VM's CPU per 100 ms period; 5 ms is 1/20 of a core, so 32 VMs take
## 1.6 of the 2 cores and leave the controller (outside every cap) its share.
FLEET_CAP_DIR=""

## fleet_capped_rows: holds each fleet VM to FLEET_CAP_US, alternates 1 and FLEET_MAX hosts RUNS_CAPPED times,
## then lets them go. Records nothing (and says why) where this machine has no cgroup it lets us create.
fleet_capped_rows() {
    local run
    if ! fleet_cap_start; then
        echo "bench: no cpu cgroup can be created here ($FLEET_CAP_WHY): the capped fleet rows are not measured" >&2
        echo "$FLEET_CAP_WHY" >"$WORK/results/fleet.capped.why"
        return 0
    fi
    for run in $(seq 1 "$RUNS_CAPPED"); do
        fleet_deploy "fleet.capped.1" 1 1
        fleet_deploy "fleet.capped.$FLEET_MAX" "$FLEET_MAX" "$FLEET_MAX"
    done
    fleet_cap_stop
}

## fleet_cap_start: a cpu cgroup per fleet VM under FLEET_CAP_DIR, limited to FLEET_CAP_US per 100 ms, holding
## the VM's sshd listener, so every session it starts (login shell, agent, git, restart, bot) runs in it.
## cgroup v1's cpu hierarchy (cpu.cfs_quota_us) or cgroup v2 (cpu.max). Fails with FLEET_CAP_WHY set.
fleet_cap_start() {
    local base version index dir
    if [ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
        base=/sys/fs/cgroup/cpu; version=1
    elif grep -qw cpu /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
        base=/sys/fs/cgroup; version=2
    else
        FLEET_CAP_WHY="neither cgroup v1's cpu controller nor cgroup v2's is mounted"; return 1
    fi
    FLEET_CAP_DIR=$base/shipkeep-bench-$$
    if ! mkdir "$FLEET_CAP_DIR" 2>/dev/null; then
        FLEET_CAP_WHY="cannot create $FLEET_CAP_DIR"; FLEET_CAP_DIR=""; return 1
    fi
    if [ "$version" = 2 ] && ! { echo +cpu >"$base/cgroup.subtree_control" && echo +cpu >"$FLEET_CAP_DIR/cgroup.subtree_control"; } 2>/dev/null; then
        FLEET_CAP_WHY="cgroup v2 does not let $FLEET_CAP_DIR's children have the cpu controller"; fleet_cap_remove; return 1
    fi
    for index in $(seq 0 $((FLEET_MAX - 1))); do
        dir=$FLEET_CAP_DIR/fleet$index
        if ! {
            mkdir "$dir" && if [ "$version" = 1 ]; then
                echo 100000 >"$dir/cpu.cfs_period_us" && echo "$FLEET_CAP_US" >"$dir/cpu.cfs_quota_us"
            else
                echo "$FLEET_CAP_US 100000" >"$dir/cpu.max"
            fi && cat "$WORK/fleet$index/sshd/sshd.pid" >"$dir/cgroup.procs"
        } 2>/dev/null; then
            FLEET_CAP_WHY="cannot limit $dir or move fleet$index's sshd into it"; fleet_cap_stop; return 1
        fi
    done
}

## fleet_cap_stop: moves every VM's sshd back to the top cgroup and removes the VMs' cgroups (the bots, the
## only other processes in them, are stopped after each deploy).
fleet_cap_stop() {
    local index
    [ -n "$FLEET_CAP_DIR" ] || return 0
    for index in $(seq 0 $((FLEET_MAX - 1))); do
        cat "$WORK/fleet$index/sshd/sshd.pid" >"$(dirname "$FLEET_CAP_DIR")/cgroup.procs" 2>/dev/null || true
    done
    fleet_cap_remove
}

## fleet_cap_remove: removes FLEET_CAP_DIR and the VMs' cgroups in it, once nothing runs in them; also run on
## exit, after the VMs are stopped.
fleet_cap_remove() {
    local dir
    [ -n "$FLEET_CAP_DIR" ] && [ -d "$FLEET_CAP_DIR" ] || return 0
    for dir in "$FLEET_CAP_DIR"/*/ "$FLEET_CAP_DIR"; do
        [ -d "$dir" ] && ! rmdir "$dir" 2>/dev/null \
            && echo "bench: could not remove $dir (processes still in it: $(tr '\n' ' ' <"$dir/cgroup.procs"))" >&2
    done
    return 0
}
