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
# the mbox is rewritten at each login, with X-UID and Status headers (and X-UIDL after
# UIDL), so sizes grow from one session to the next; `TOP n k` with k >= 1 adds a blank
# line after the headers. (RETR with only the headers after `TOP n 0`, reported for it,
# was not seen here.)
source "$(dirname "$0")/common.sh"

stop() {
    stop_pid "$DIR/pop3d.pid"   # the master ends its sessions within a second
}
stop
[ "$CMD" = start ] || exit 0
cd "$DIR"
mkdir -p log mail etc apop
chmod 755 "$DIR"

write_mbox mail/brandon
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
