#!/bin/bash
# Cyrus IMAP 3.6 pop3d (Debian 12), private on 127.0.0.1, for the interop matrix.
#
#   cyrus.sh start DIR POP3_PORT POP3S_PORT   serve DIR/messages/*.eml to brandon / abc123
#   cyrus.sh stop DIR                         end the server started for DIR
#
# DIR holds what the playground wrote: tls/server-chain.pem, tls/server-key.pem and the
# messages in order. Everything Cyrus keeps (config, sasldb, spool, sockets) is under DIR:
# no /etc/imapd.conf, /var/lib/cyrus or /etc/sasldb2 is touched. cyrus-pop3d conflicts
# with dovecot-pop3d in apt, so it runs from where `cargo xtask install-servers` unpacked
# it (UNPACKED). master starts as root and runs its services as Debian's `cyrus` user.
# cyrmaster does not pass its -C on: every cmd= gets its own.
#
# What Cyrus says and does (seen here): APOP with `allowapop: yes`; SASL PLAIN and LOGIN;
# a wrong password: `-ERR [AUTH] Invalid login` after 3 s; no mailbox lock; no TLS
# close_notify after QUIT.
source "$(dirname "$0")/common.sh"

stop() {
    stop_pid "$DIR/run/master.pid"   # master ends its services
}
stop
[ "$CMD" = start ] || exit 0
BIN=/usr/lib/cyrus/bin
POP3D=${UNPACKED:?}/cyrus-pop3d/usr/lib/cyrus/bin/pop3d
cd "$DIR"
mkdir -p etc log run/socket run/proc run/lock spool \
    lib/db lib/socket lib/log lib/msg lib/proc lib/quota lib/user lib/sieve lib/lock lib/ptclient
CONF=$DIR/etc/imapd.conf
cp tls/server-chain.pem etc/cert.pem && cp tls/server-key.pem etc/key.pem
chown root:mail etc/key.pem && chmod 640 etc/key.pem

cat > "$CONF" <<CONF
configdirectory: $DIR/lib
partition-default: $DIR/spool
defaultpartition: default
proc_path: $DIR/run/proc
mboxname_lockpath: $DIR/run/lock
lmtpsocket: $DIR/run/socket/lmtp
idlesocket: $DIR/run/socket/idle
notifysocket: $DIR/run/socket/notify
sievedir: $DIR/lib/sieve
servername: localhost
admins: cyrus
hashimapspool: false
altnamespace: no
unixhierarchysep: no
allowplaintext: yes
allowapop: $([ "${APOP:-1}" = 1 ] && echo yes || echo no)
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: $DIR/lib/sasldb2
sasl_mech_list: PLAIN LOGIN
tls_server_cert: $DIR/etc/cert.pem
tls_server_key: $DIR/etc/key.pem
CONF
cat > etc/cyrus.conf <<CONF
START {
  recover cmd="$BIN/ctl_cyrusdb -C $CONF -r"
}
SERVICES {
  pop3  cmd="$POP3D -C $CONF -U 30"    listen="127.0.0.1:$POP3_PORT"  prefork=0 maxchild=50
  pop3s cmd="$POP3D -C $CONF -s -U 30" listen="127.0.0.1:$POP3S_PORT" prefork=0 maxchild=50
}
EVENTS {
  checkpoint cmd="$BIN/ctl_cyrusdb -C $CONF -c" period=30
}
CONF
echo abc123 | saslpasswd2 -p -c -f "$DIR/lib/sasldb2" -u localhost brandon
chown -R cyrus:mail lib spool run log && chmod 750 lib spool run log

setsid "$BIN/master" -C "$CONF" -M "$DIR/etc/cyrus.conf" -p "$DIR/run/master.pid" -D \
    -L "$DIR/log/master.log" </dev/null >/dev/null 2>&1 &
wait_for_port "$POP3_PORT"

# A first login creates brandon's INBOX; the messages then go straight into its folder,
# with CRLF line ends, and reconstruct indexes them (delivery through lmtpd would add
# Return-Path and Received headers, and sizes that change from run to run).
exec 3<>"/dev/tcp/127.0.0.1/$POP3_PORT"
printf 'USER brandon\r\nPASS abc123\r\nQUIT\r\n' >&3
grep -q '^+OK Mailbox locked' <&3 || { echo "cyrus: the first login failed" >&2; exit 1; }
exec 3<&-
folder=$(runuser -u cyrus -- "$BIN/mbpath" -C "$CONF" user.brandon)
n=0
for f in messages/*.eml; do
    n=$((n + 1))
    sed 's/\r$//; s/$/\r/' "$f" > "$folder/$n."
done
[ "$n" = 0 ] || { chown cyrus:mail "$folder"/*. && chmod 600 "$folder"/*.; }
runuser -u cyrus -- "$BIN/reconstruct" -C "$CONF" user.brandon >/dev/null
