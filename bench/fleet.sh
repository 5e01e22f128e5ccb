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
## of the login shell alone as sshd starts it (bash reads ~/.bashrc when it runs a command for sshd).
fleet_login_cost() {
    local i cpu0
    use_vm fleet0
    for i in $(seq 1 10); do
        cpu0=$(cpu_ticks)
        ssh_plain true
        rec fleet.login.cpu.ms "$(cpu_ms_since "$cpu0")"
        cpu0=$(cpu_ticks)
        env -u SHLVL SSH_CLIENT="127.0.0.1 1 22" bash -c true </dev/null
        rec fleet.shell.cpu.ms "$(cpu_ms_since "$cpu0")"
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
}
