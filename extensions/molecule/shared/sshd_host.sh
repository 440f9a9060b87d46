#!/usr/bin/env bash
# Helper of the molecule SSH hosts harness (create.yml, destroy.yml). Doing a
# host's steps in one command keeps create and destroy fast: each Ansible
# task costs a module run, this is one per host.
#
#   sshd_host.sh start DIR PORT USER PUBKEY  sshd on 127.0.0.1:PORT letting in only USER
#                                            by PUBKEY; config, host key, pid file, log in DIR
#   sshd_host.sh stop DIR PORT               stop the sshd started with DIR
#   sshd_host.sh close-masters CPDIR         make every SSH ControlPersist master in CPDIR exit
#   sshd_host.sh end-processes USER...       kill what the users still run
set -euo pipefail

SSHD=${AOJ_SSHD:-/usr/sbin/sshd}

die() {
    echo "sshd_host.sh: $*" >&2
    exit 1
}

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_port PORT open|closed (up to 30 s)
wait_port() {
    local port=$1 want=$2 i
    for ((i = 0; i < 300; i++)); do
        if port_open "$port"; then
            [[ $want == open ]] && return 0
        else
            [[ $want == closed ]] && return 0
        fi
        sleep 0.1
    done
    die "port $port did not become $want"
}

start() {
    local dir=$1 port=$2 user=$3 pubkey=$4 home group
    port_open "$port" && die "port $port is in use: destroy the last run (molecule destroy) or set AOJ_SSH_PORT_BASE"
    home=$(getent passwd "$user" | cut -d: -f6)
    [[ -n $home ]] || die "no user $user"
    group=$(id -gn "$user")

    install -d -m 0700 -o "$user" -g "$group" "$home/.ssh"
    install -m 0600 -o "$user" -g "$group" "$pubkey" "$home/.ssh/authorized_keys"
    install -d -m 0700 "$dir"
    install -d -m 0755 /run/sshd
    [[ -f $dir/ssh_host_ed25519_key ]] ||
        ssh-keygen -q -t ed25519 -N '' -C "aoj-$user" -f "$dir/ssh_host_ed25519_key"

    # UsePAM no: key auth needs nothing from PAM, and sshd starts no session
    # machinery that could outlive the test. AllowUsers makes the host one user.
    cat >"$dir/sshd_config" <<EOF
# asyncops.jobs molecule harness: $user on 127.0.0.1:$port
Port $port
ListenAddress 127.0.0.1
HostKey $dir/ssh_host_ed25519_key
PidFile $dir/sshd.pid
AllowUsers $user
AuthorizedKeysFile .ssh/authorized_keys
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
StrictModes yes
UsePAM no
X11Forwarding no
PrintMotd no
MaxSessions 64
MaxStartups 64:30:128
Subsystem sftp internal-sftp
LogLevel VERBOSE
EOF
    chmod 0600 "$dir/sshd_config"
    "$SSHD" -t -f "$dir/sshd_config"
    "$SSHD" -f "$dir/sshd_config" -E "$dir/sshd.log"
    wait_port "$port" open
}

stop() {
    local dir=$1 port=$2 pid
    [[ -f $dir/sshd.pid ]] || return 0
    pid=$(<"$dir/sshd.pid")
    rm -f "$dir/sshd.pid"
    # only if the pid is still that sshd, not a reused one
    if [[ $pid =~ ^[0-9]+$ && "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" == *"$dir/sshd_config"* ]]; then
        kill "$pid"
        wait_port "$port" closed
    fi
}

close_masters() {
    local dir=$1 sock
    [[ -d $dir ]] || return 0
    for sock in "$dir"/*; do
        [[ -S $sock ]] || continue
        ssh -o ControlPath="$sock" -O exit aoj-control-master 2>/dev/null || true
    done
}

end_processes() {
    local user i
    for user in "$@"; do
        id -u "$user" >/dev/null 2>&1 || continue
        pkill -KILL -U "$user" || true
        for ((i = 0; i < 50; i++)); do
            pgrep -U "$user" >/dev/null || break
            sleep 0.1
        done
    done
}

case ${1:-} in
    start) shift; (($# == 4)) || die "usage: start DIR PORT USER PUBKEY"; start "$@" ;;
    stop) shift; (($# == 2)) || die "usage: stop DIR PORT"; stop "$@" ;;
    close-masters) shift; (($# == 1)) || die "usage: close-masters CPDIR"; close_masters "$@" ;;
    end-processes) shift; end_processes "$@" ;;
    *) die "usage: sshd_host.sh start|stop|close-masters|end-processes ARGS" ;;
esac
