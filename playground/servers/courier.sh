#!/bin/bash
# Courier POP3 1.0.16 (Debian 12), private on 127.0.0.1, for the playground.
#
#   courier.sh start DIR POP3_PORT POP3S_PORT    serve DIR/home/Maildir as brandon / abc123
#   courier.sh stop DIR                          end everything started for DIR
#
# DIR holds what the playground wrote: tls/server-chain.pem, tls/server-key.pem and
# home/Maildir. UNPACKED names the folder where `cargo xtask install-servers` unpacked
# courier-pop (it conflicts with dovecot-pop3d in apt, so it is not installed).
#
# Why a namespace: courier-authlib hard-codes /etc/courier/authdaemonrc, the userdb files
# in /etc/courier and the socket /run/courier/authdaemon/socket. So authdaemond and both
# listeners run in a private mount and PID namespace where DIR/etc-courier stands on
# /etc/courier and DIR/run on /run/courier: nothing shared is written, and SIGKILL to
# unshare (--kill-child) ends the whole namespace. That takes root.
#
# What Courier says and does (seen here): greeting `+OK Hello there.` (no APOP); PIPELINING
# offered, but what arrives with PASS or AUTH is lost, as the mailbox process starts then;
# a wrong password: `-ERR Login failed.` after 5 s; no mailbox lock.
source "$(dirname "$0")/common.sh"

stop() {
    # unshare --fork ignores SIGTERM; SIGKILL makes --kill-child end the namespace.
    stop_pid "$DIR/unshare.pid" KILL
}
stop
[ "$CMD" = start ] || exit 0
BIN=${UNPACKED:?}/courier-pop/usr/lib/courier/courier
MAILUSER=nobody
cd "$DIR"
mkdir -p log courier

# cert+key in one file, readable by the courier user (STLS runs unprivileged).
cat tls/server-chain.pem tls/server-key.pem > courier/pop3d.pem
chgrp courier courier/pop3d.pem && chmod 640 courier/pop3d.pem

# A private /etc/courier: authuserdb only, the user brandon with password abc123.
rm -rf etc-courier && mkdir etc-courier && cp -a /etc/courier/. etc-courier/
rm -f etc-courier/userdb*
cat > etc-courier/authdaemonrc <<'RC'
authmodulelist="authuserdb"
authmodulelistorig="authuserdb"
daemons=3
authdaemonvar=/run/courier/authdaemon
DEBUG_LOGIN=0
DEFAULTOPTIONS=""
LOGGEROPTS=""
RC
chown root:courier etc-courier/authdaemonrc && chmod 640 etc-courier/authdaemonrc
printf 'brandon\tuid=%s|gid=%s|home=%s|mail=%s|systempw=%s\n' \
    "$(id -u $MAILUSER)" "$(id -g $MAILUSER)" "$DIR/home" "$DIR/home/Maildir" \
    "$(openssl passwd -1 abc123)" > etc-courier/userdb
chmod 600 etc-courier/userdb
makeuserdb -f "$DIR/etc-courier/userdb"
rm -rf run && mkdir -p run/authdaemon && chown root:courier run && chmod 775 run
chown courier:courier run/authdaemon && chmod 750 run/authdaemon
chown -R "$MAILUSER:$(id -gn $MAILUSER)" home && chmod 700 home home/Maildir

cat > ns-init.sh <<INIT
#!/bin/sh
# PID 1 of the private namespace: the mounts, authdaemond, then both listeners.
mount --bind "$DIR/etc-courier" /etc/courier || exit 1
mount --bind "$DIR/run" /run/courier || exit 1
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /usr/lib/courier/courier-authlib/authdaemond \\
    >>"$DIR/log/authdaemond.log" 2>&1 &
n=0; while [ ! -S /run/courier/authdaemon/socket ] && [ \$n -lt 200 ]; do sleep 0.05; n=\$((n+1)); done
set -a
PATH=/usr/sbin:/usr/bin:/sbin:/bin
MAXDAEMONS=40 MAXPERIP=40 POP3_PROXY=0 MAILDIRPATH=Maildir
POP3AUTH="PLAIN LOGIN" POP3AUTH_TLS="PLAIN LOGIN"
COURIERTLS=/usr/bin/couriertls TLS_CERTFILE="$DIR/courier/pop3d.pem"
TLS_DHPARAMS="$DIR/etc-courier/dhparams.pem"
TLS_VERIFYPEER=NONE TLS_TRUSTCERTS=/etc/ssl/certs/ca-certificates.crt
set +a
TCPD="/usr/sbin/couriertcpd -address=127.0.0.1 -maxprocs=40 -maxperip=40 -nodnslookup -noidentlookup"
POP3_TLS=1 POP3_STARTTLS=NO POP3_TLS_REQUIRED=0 \\
    \$TCPD $POP3S_PORT /usr/bin/couriertls -server -tcpd -user=courier \\
    "$BIN/courierpop3login" "$BIN/courierpop3d" Maildir >>"$DIR/log/pop3s.log" 2>&1 &
POP3_STARTTLS=YES POP3_TLS_REQUIRED=0 \\
    \$TCPD $POP3_PORT "$BIN/courierpop3login" "$BIN/courierpop3d" Maildir \\
    >>"$DIR/log/pop3.log" 2>&1 &
wait
INIT
chmod 755 ns-init.sh

setsid unshare --mount --propagation private --pid --fork --kill-child --mount-proc \
    /bin/sh "$DIR/ns-init.sh" </dev/null >>"$DIR/log/ns.log" 2>&1 &
echo $! > unshare.pid
