//! `cargo xtask playground`: the stand-in for `mail.example.com`, in the foreground.

use std::sync::mpsc;

use anyhow::Context;
use playground::{Feature, Options, Playground, PASSWORD, USER};

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let options = crate::options(args, &["--server", "--pop3-port", "--pop3s-port"])?;
    let server = crate::server_choice(&options)?;
    let (default_pop3, default_pop3s) = if playground::running_as_root() {
        (110, 995)
    } else {
        (11110, 11995)
    };
    let port = |name: &str, default: u16| -> anyhow::Result<u16> {
        options.get(name).map_or(Ok(default), |v| {
            v.parse().with_context(|| format!("{name} {v}"))
        })
    };
    let ports = (
        port("--pop3-port", default_pop3)?,
        port("--pop3s-port", default_pop3s)?,
    );
    let dir = std::env::temp_dir().join("pop3-playground");
    let playground = Playground::start(Options {
        ports: Some(ports),
        dir: dir.clone(),
        remove_dir: false,
        ..Options::temporary(server)
    })
    .with_context(|| {
        format!(
            "starting the {server} playground on ports {} and {}",
            ports.0, ports.1
        )
    })?;

    let (stop, stopped) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop.send(());
    })?;
    print!("{}", instructions(&playground));
    stopped.recv()?;
    drop(playground);
    println!("\nPlayground stopped.");
    Ok(())
}

fn instructions(p: &Playground) -> String {
    let ca = p.certs.ca.display();
    let host = |port: u16| {
        if port == 995 || port == 110 {
            "localhost".to_string()
        } else {
            format!("localhost:{port}")
        }
    };
    let (pop3s, pop3) = (host(p.pop3s_port), host(p.pop3_port));
    let (stls_port, stls_run) = match p.server.offers(Feature::Stls) {
        true => (
            "POP3 + STLS:         ",
            format!("  cargo run -q -p popconn -- --stls {pop3} {USER}       (plain POP3 upgraded by STLS)\n"),
        ),
        false => ("POP3 (no STLS):      ", String::new()),
    };
    let apop = match p.server.offers(Feature::Apop) {
        true => "",
        false => "       (this server has no APOP: Login failed)",
    };
    format!(
        "POP3 playground running ({server}), standing in for mail.example.com
  user {USER}, password {PASSWORD}; the mailbox is restored at every start
  POP3S (implicit TLS): 127.0.0.1 port {pop3s_port}
  {stls_port} 127.0.0.1 port {pop3_port}
  CA certificate:       {ca}

In another terminal, trust the playground's CA (certificates stay verified):
  export POP3_CA_FILE={ca}

and run the book's tools:
  cargo run -q -p popconn -- {pop3s} {USER}
  cargo run -q -p apopconn -- {pop3s} {USER}{apop}
  cargo run -q -p mailbox -- {pop3s} {USER}
  cargo run -q -p download_and_delete -- {pop3s} {USER}
{stls_run}
The certificate is also valid for mail.example.com: with the line
`127.0.0.1 mail.example.com` in /etc/hosts, the book's own host name works too.

Press Ctrl-C to stop.
",
        server = p.server,
        pop3s_port = p.pop3s_port,
        pop3_port = p.pop3_port,
    )
}
