# Sourced by each server's script: the arguments every one takes, and what several share.
#
#   SCRIPT start DIR POP3_PORT POP3S_PORT    start the server on 127.0.0.1, in the background
#   SCRIPT stop DIR                          end what was started for DIR
#
# Each script defines stop(), then calls it before it starts: what an earlier start left
# running for the same DIR is ended first.
set -euo pipefail
shopt -s nullglob   # an empty mailbox has no messages/*.eml

usage() { echo "usage: $0 start DIR POP3_PORT POP3S_PORT | stop DIR" >&2; exit 2; }
CMD=${1:-}; DIR=${2:-}; [ -n "$CMD" ] && [ -n "$DIR" ] || usage
DIR=$(realpath -m "$DIR")
case $CMD in
    start) POP3_PORT=${3:?}; POP3S_PORT=${4:?} ;;
    stop) ;;
    *) usage ;;
esac

# ours PID: whether PID runs, not a zombie, with DIR in its command line: a pid file left
# from an earlier run may name another process by now.
ours() {
    [ -r "/proc/$1/cmdline" ] && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null &&
        tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$DIR"
}

# stop_pid FILE [SIGNAL]: if the process FILE names is ours, sends it SIGNAL (TERM unless
# told), to its whole process group when it leads one (a daemon and the sessions it
# started), then SIGKILL should it outlive 5 s; waits for it to end.
stop_pid() {
    [ -s "$1" ] || return 0
    local pid target
    pid=$(cat "$1")
    rm -f "$1"
    ours "$pid" || return 0
    target=$pid
    [ "$(ps -o pgid= -p "$pid" | tr -d ' ')" = "$pid" ] && target=-$pid
    kill "-${2:-TERM}" -- "$target" 2>/dev/null || true
    for _ in $(seq 100); do ours "$pid" || return 0; sleep 0.05; done
    kill -KILL -- "$target" 2>/dev/null || true
    for _ in $(seq 40); do ours "$pid" || return 0; sleep 0.05; done
}

# wait_for_port PORT: until 127.0.0.1:PORT accepts connections (10 s at most).
wait_for_port() {
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "$0: nothing listens on port $1" >&2
    return 1
}

# write_mbox FILE: DIR/messages/*.eml in order as one mbox: a From_ line before each
# message, mboxrd quoting of ^>*From, LF line ends, a blank line after each.
write_mbox() {
    : > "$1"
    local f
    for f in "$DIR"/messages/*.eml; do
        {
            echo "From MAILER-DAEMON Thu Jan  1 00:00:00 2026"
            sed -e 's/\r$//' -e 's/^\(>*From \)/>\1/' "$f" | awk 1
            echo
        } >> "$1"
    done
}
