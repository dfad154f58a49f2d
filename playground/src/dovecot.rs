//! Real Dovecot (Debian's `dovecot-core` + `dovecot-pop3d`), run in the foreground from a
//! private configuration in the playground's directory: no system service is touched.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::certs::CertFiles;
use crate::{PASSWORD, USER};

/// Where Debian installs the server.
const DOVECOT: &str = "/usr/sbin/dovecot";

/// Whether Dovecot with POP3 is installed here.
pub fn installed() -> bool {
    crate::servers::missing(crate::ServerKind::Dovecot).is_none()
}

/// A running Dovecot; stopped (SIGTERM, then waited for) when dropped.
pub struct Dovecot {
    child: Child,
}

/// The account the mail processes run as, and the login processes too when not root.
struct Account {
    name: String,
    uid: u32,
    gid: u32,
}

impl Dovecot {
    /// Writes a configuration under `dir` and starts Dovecot serving `home`'s Maildir
    /// (`home/Maildir`) on the two ports of 127.0.0.1, with or without APOP; returns once
    /// it greets.
    pub fn start(
        dir: &Path,
        home: &Path,
        certs: &CertFiles,
        pop3_port: u16,
        pop3s_port: u16,
        apop: bool,
    ) -> io::Result<Self> {
        if !installed() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "Dovecot is not installed (apt-get install dovecot-core dovecot-pop3d)",
            ));
        }
        let root = crate::running_as_root();
        let mail = if root {
            account_named("nobody")?
        } else {
            current_account()?
        };
        let base_dir = dir.join("run");
        if base_dir.exists() {
            // A stale anvil penalty socket would cost seconds at the next login.
            fs::remove_dir_all(&base_dir)?;
        }
        fs::create_dir_all(&base_dir)?;
        fs::set_permissions(&base_dir, fs::Permissions::from_mode(0o755))?;
        // The mail processes run as `mail`: they must own the home and read the key's dir.
        chown_tree(home, mail.uid, mail.gid)?;
        let passwd = dir.join("passwd");
        fs::write(&passwd, format!("{USER}:{{PLAIN}}{PASSWORD}::::::\n"))?;
        let conf = dir.join("dovecot.conf");
        let ports = (pop3_port, pop3s_port);
        let text = config(root, &mail, &base_dir, &passwd, home, certs, ports, apop);
        fs::write(&conf, text)?;
        let log = fs::File::create(dir.join("dovecot.log"))?;
        let child = Command::new(DOVECOT)
            .arg("-F")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let mut dovecot = Dovecot { child };
        let child = &mut dovecot.child;
        let still_running = || match child.try_wait()? {
            Some(status) => Err(io::Error::other(format!("it exited at start ({status})"))),
            None => Ok(()),
        };
        if let Err(e) = crate::wait_for_greeting(pop3_port, still_running) {
            let log = fs::read_to_string(dir.join("dovecot.log")).unwrap_or_default();
            return Err(io::Error::other(format!("{e}; Dovecot's log:\n{log}")));
        }
        Ok(dovecot)
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // SIGTERM lets Dovecot stop its children; SIGKILL would orphan them.
        // SAFETY: kill has no memory effects; the pid is our own child's, not yet reaped.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

#[allow(clippy::too_many_arguments)]
fn config(
    root: bool,
    mail: &Account,
    base_dir: &Path,
    passwd: &Path,
    home: &Path,
    certs: &CertFiles,
    (pop3_port, pop3s_port): (u16, u16),
    apop: bool,
) -> String {
    static INSTANCE: AtomicU32 = AtomicU32::new(0);
    let instance = format!(
        "playground-{}-{}",
        std::process::id(),
        INSTANCE.fetch_add(1, Ordering::Relaxed)
    );
    let users = if root {
        "default_login_user = dovenull\ndefault_internal_user = dovecot\n".to_string()
    } else {
        format!(
            "default_login_user = {name}\ndefault_internal_user = {name}\ndefault_internal_group = {group}\n",
            name = mail.name,
            group = group_name(mail.gid).unwrap_or_else(|| mail.name.clone()),
        )
    };
    let chroot = if root { "" } else { "  chroot =\n" };
    let (Some(base), Some(passwd), Some(home), Some(cert), Some(key), Some(client_ca)) = (
        base_dir.to_str(),
        passwd.to_str(),
        home.to_str(),
        certs.chain.to_str(),
        certs.key.to_str(),
        certs.client_ca.to_str(),
    ) else {
        unreachable!("the playground's paths are UTF-8")
    };
    format!(
        "# Written by the playground at each start.
instance_name = {instance}
base_dir = {base}
state_dir = {base}/state
log_path = /dev/stderr
{users}protocols = pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
# Client certificates from the playground's client CA are asked for, not required: SASL
# EXTERNAL logs in by one (user: its common name), every other login works without. With
# no CRL in ssl_ca, ssl_require_crl must be off, or no certificate counts as valid.
ssl_ca = <{client_ca}
ssl_verify_client_cert = yes
ssl_require_crl = no
auth_ssl_username_from_cert = yes
ssl_cert_username_field = commonName
disable_plaintext_auth = yes
auth_mechanisms = plain login external cram-md5 scram-sha-1 scram-sha-256{apop}
auth_failure_delay = 0
first_valid_uid = {uid}
last_valid_uid = {uid}
mail_location = maildir:~/Maildir
pop3_uidl_format = %g
# One session at a time, as on most servers: a second one waits, then gets [IN-USE].
pop3_lock_session = yes
# EXTERNAL checks the empty password: the certificate, verified at login, is the proof.
passdb {{
  driver = static
  args = nopassword=y
  mechanisms = external
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={home}
}}
service pop3-login {{
{chroot}  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {pop3s_port}
    ssl = yes
  }}
}}
service anvil {{
{chroot}  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
",
        uid = mail.uid,
        gid = mail.gid,
        // With APOP among the mechanisms, Dovecot puts a timestamp in its greeting.
        apop = if apop { " apop" } else { "" },
    )
}

fn chown_tree(path: &Path, uid: u32, gid: u32) -> io::Result<()> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))?;
    if path.is_dir() {
        for entry in fs::read_dir(path)? {
            chown_tree(&entry?.path(), uid, gid)?;
        }
    }
    Ok(())
}

fn current_account() -> io::Result<Account> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    passwd_entries()?
        .into_iter()
        .find(|a| a.uid == uid)
        .ok_or_else(|| io::Error::other(format!("uid {uid} is not in /etc/passwd")))
}

fn account_named(name: &str) -> io::Result<Account> {
    passwd_entries()?
        .into_iter()
        .find(|a| a.name == name)
        .ok_or_else(|| io::Error::other(format!("no user {name} in /etc/passwd")))
}

fn passwd_entries() -> io::Result<Vec<Account>> {
    Ok(fs::read_to_string("/etc/passwd")?
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            Some(Account {
                name: fields.first()?.to_string(),
                uid: fields.get(2)?.parse().ok()?,
                gid: fields.get(3)?.parse().ok()?,
            })
        })
        .collect())
}

fn group_name(gid: u32) -> Option<String> {
    fs::read_to_string("/etc/group")
        .ok()?
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.get(2)?.parse::<u32>().ok()? == gid).then(|| fields[0].to_string())
        })
}
