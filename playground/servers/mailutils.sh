#!/bin/bash
# GNU mailutils pop3d 3.15 (Debian 12), private on 127.0.0.1, for the playground.
#
#   mailutils.sh start DIR POP3_PORT POP3S_PORT   serve DIR/messages/*.eml to brandon / abc123
#   mailutils.sh stop DIR                         end the server started for DIR
#
# DIR holds what the playground wrote: tls/server-chain.pem, tls/server-key.pem and the
# messages in order. They become one mbox. No system user: pop3d runs in a private mount
# namespace whose /etc/passwd is a copy with brandon added (a crypt hash in its password
# field), and mailutils' own "generic" authentication compares with it (no PAM). That
# takes root. APOP works through a database (popauth) with the same password; the
# greeting carries a timestamp whatever the configuration, so APOP=0 is not heeded.
#
# What mailutils says and does (seen here): CAPA lists no SASL and AUTH gets
# `-ERR Not implemented`; a second session gets `-ERR [IN-USE] Mailbox in use` at once;
# the mbox is rewritten at each logout; after `TOP n 0` of the last message, RETR of it
# returns only the headers (a server bug).
set -euo pipefail
shopt -s nullglob   # an empty mailbox has no messages/*.eml

usage() { echo "usage: $0 start DIR POP3_PORT POP3S_PORT | stop DIR" >&2; exit 2; }
CMD=${1:-}; DIR=${2:-}; [ -n "$CMD" ] && [ -n "$DIR" ] || usage
DIR=$(realpath -m "$DIR")

if [ "$CMD" = stop ]; then
    # SIGTERM ends the master and its sessions within about a second.
    if [ -s "$DIR/pop3d.pid" ]; then
        pid=$(cat "$DIR/pop3d.pid")
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$DIR/pop3d.pid"
    exit 0
fi
[ "$CMD" = start ] || usage
POP3_PORT=${3:?}; POP3S_PORT=${4:?}
cd "$DIR"
mkdir -p log mail etc apop
chmod 755 "$DIR"

# The mbox: a From_ line before each message, mboxrd quoting of ^>*From, LF line ends.
: > mail/brandon
for f in messages/*.eml; do
    {
        echo "From MAILER-DAEMON Thu Jan  1 00:00:00 2026"
        sed -e 's/\r$//' -e 's/^\(>*From \)/>\1/' "$f" | awk 1
        echo
    } >> mail/brandon
done
chown -R nobody:nogroup mail && chmod 700 mail && chmod 600 mail/brandon

# The private passwd: the system's entries and brandon, whose mail is DIR/mail/brandon.
{
    grep -v '^brandon:' /etc/passwd
    echo "brandon:$(openssl passwd -6 abc123):65534:65534:Brandon:$DIR/mail:/usr/sbin/nologin"
} > etc/passwd
chmod 644 etc/passwd

rm -f apop/apop.db
popauth --add --user=brandon --password=abc123 --file="$DIR/apop/apop.db"
chmod 700 apop && chmod 600 apop/apop.db

tls="tls { ssl-certificate-file \"$DIR/tls/server-chain.pem\"; ssl-key-file \"$DIR/tls/server-key.pem\"; };"
cat > pop3d.conf <<CONF
# Written by the playground at each start.
mode daemon;
foreground yes;
logging { syslog no; print-severity yes; }
tcp-wrappers { enable no; }
auth {
    authorization system;
    authentication generic;
}
mailbox {
    mailbox-pattern "$DIR/mail/\${user}";
    mailbox-type mbox;
}
apop-database-file "$DIR/apop/apop.db";
tls-file-checks { key-file none; cert-file none; ca-file none; }
server 127.0.0.1:$POP3_PORT { tls-mode stls; $tls }
server 127.0.0.1:$POP3S_PORT { tls-mode connection; $tls }
CONF

setsid unshare --mount --propagation private /bin/sh -c \
    'mount --bind "$1/etc/passwd" /etc/passwd && exec /usr/sbin/pop3d --config-file="$1/pop3d.conf"' \
    sh "$DIR" </dev/null >>log/pop3d.log 2>&1 &
echo $! > pop3d.pid
