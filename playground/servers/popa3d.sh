#!/bin/bash
# popa3d 1.0.3 (Debian 12), private on 127.0.0.1, for the interop matrix.
#
#   popa3d.sh start DIR POP3_PORT POP3S_PORT   serve DIR/messages/*.eml to brandon / abc123
#   popa3d.sh stop DIR                         end what was started for DIR
#
# popa3d is plain POP3 only and inetd-style: socat starts one per connection on POP3_PORT,
# and stunnel4 in front of it gives POP3S. Everything popa3d looks for is compiled in:
# /var/mail/USER (an mbox), a `popa3d` user and /var/lib/popa3d for its chroot, and PAM.
# So socat and every popa3d run in a private mount namespace that sees copies of
# /etc/passwd, /etc/shadow and /etc/group with popa3d and brandon added, DIR/mail on
# /var/mail and an overlay on /var/lib that adds popa3d/: nothing on the host changes.
# That takes root. popa3d conflicts with dovecot-pop3d in apt, so it runs from where
# `cargo xtask install-servers` unpacked it (UNPACKED).
#
# What popa3d says and does (seen here): greeting `+OK` (no APOP); CAPA, STLS, AUTH and
# APOP get a bare `-ERR`; a wrong password: `-ERR Authentication failed (bad password?)`
# after 1-2 s, then it closes; no session lock.
source "$(dirname "$0")/common.sh"

stop() {
    stop_pid "$DIR/run/stunnel.pid"
    # socat leads its process group, with the popa3d sessions it started.
    stop_pid "$DIR/run/socat.pid"
}
stop
[ "$CMD" = start ] || exit 0
POPA3D=${UNPACKED:?}/popa3d/usr/sbin/popa3d
BRANDON_UID=25100; POPA3D_UID=25101; MAIL_GID=8   # ids unused on the host; group mail
cd "$DIR"
rm -rf ns && mkdir -p ns/etc ns/mail ns/varlib/popa3d ns/varlib-work run log

cp /etc/passwd /etc/group ns/etc/
echo "popa3d:x:$POPA3D_UID:65534:popa3d:/var/lib/popa3d:/usr/sbin/nologin" >> ns/etc/passwd
echo "brandon:x:$BRANDON_UID:$MAIL_GID:Brandon:/nonexistent:/usr/sbin/nologin" >> ns/etc/passwd
# Only the two accounts popa3d asks about: no copy of the host's password hashes.
{
    echo "popa3d:*:19000:0:99999:7:::"
    echo "brandon:$(openssl passwd -6 abc123):19000:0:99999:7:::"
} > ns/etc/shadow
chmod 644 ns/etc/passwd ns/etc/group && chmod 640 ns/etc/shadow && chown root:shadow ns/etc/shadow
cp -a /etc/pam.d ns/pam.d && cp "$UNPACKED/popa3d/etc/pam.d/popa3d" ns/pam.d/popa3d

write_mbox ns/mail/brandon
chown "$BRANDON_UID:$MAIL_GID" ns/mail/brandon && chmod 600 ns/mail/brandon
chown root:$MAIL_GID ns/mail && chmod 2775 ns/mail

cat > run/stunnel.conf <<CONF
foreground = no
pid = $DIR/run/stunnel.pid
output = $DIR/log/stunnel.log
[pop3s]
accept = 127.0.0.1:$POP3S_PORT
connect = 127.0.0.1:$POP3_PORT
cert = $DIR/tls/server-chain.pem
key = $DIR/tls/server-key.pem
CONF

setsid unshare --mount --propagation private /bin/sh -c '
    D=$1; shift
    mount --bind "$D/ns/etc/passwd" /etc/passwd &&
    mount --bind "$D/ns/etc/shadow" /etc/shadow &&
    mount --bind "$D/ns/etc/group" /etc/group &&
    mount --bind "$D/ns/pam.d" /etc/pam.d &&
    mount --bind "$D/ns/mail" /var/mail &&
    mount -t overlay playground -o "lowerdir=/var/lib,upperdir=$D/ns/varlib,workdir=$D/ns/varlib-work" /var/lib &&
    exec "$@"' sh "$DIR" \
    socat -lf "$DIR/log/socat.log" "TCP-LISTEN:$POP3_PORT,bind=127.0.0.1,reuseaddr,fork" "EXEC:$POPA3D" \
    </dev/null >>log/socat.log 2>&1 &
echo $! > run/socat.pid
stunnel4 "$DIR/run/stunnel.conf"
