# Sourced by each server's script: the arguments every one takes, and what several share.
#
#   SCRIPT start DIR POP3_PORT POP3S_PORT    start the server on 127.0.0.1, in the background
#   SCRIPT stop DIR                          end what was started for DIR
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

# stop_pid FILE: SIGTERM to the process FILE names, SIGKILL should it outlive 5 s.
stop_pid() {
    [ -s "$1" ] || return 0
    local pid
    pid=$(cat "$1")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$1"
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
