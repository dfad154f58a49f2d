//! What the bench times: each scenario's mailbox and its contenders, ours first.

use std::path::PathBuf;

use playground::{PASSWORD, USER};

use crate::workspace_root;

/// One process to time: a program, its arguments (`{host}` stands for host:port, `{ca}` for
/// the playground's CA) and input.
pub(super) struct Contender {
    pub(super) name: &'static str,
    pub(super) program: PathBuf,
    pub(super) args: Vec<String>,
    pub(super) input: String,
}

pub(super) struct Scenario {
    pub(super) name: String,
    pub(super) messages: Box<dyn Fn() -> Vec<Vec<u8>>>,
    /// Octets transferred by the RETR, for throughput.
    pub(super) retr_octets: Option<u64>,
    /// Whether a run changes the mailbox (so it is restored before each round).
    pub(super) deletes: bool,
    pub(super) contenders: Vec<Contender>,
}

/// The scenarios, each with its mailbox and its contenders (ours first).
pub(super) fn scenarios() -> anyhow::Result<Vec<Scenario>> {
    let root = workspace_root();
    let release = root.join("target/release");
    let python = |script: &str, extra: &[&str]| -> Vec<String> {
        let mut args = vec![
            root.join("bench").join(script).display().to_string(),
            "{host}".into(),
            USER.into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let password = format!("{PASSWORD}\n");
    let ours = |tool: &str| Contender {
        name: "ours",
        program: release.join(tool),
        args: vec!["{host}".into(), USER.into()],
        input: password.clone(),
    };
    let py = |script: &str, extra: &[&str]| Contender {
        name: "python poplib",
        program: "python3".into(),
        args: python(script, extra),
        input: password.clone(),
    };
    let curl = |request: Option<&str>, path: &str| {
        let mut args: Vec<String> = ["-s", "-o", "/dev/null", "--cacert", "{ca}", "-u"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.push(format!("{USER}:{PASSWORD}"));
        if let Some(request) = request {
            // -I: a one-line answer; without it curl waits for a multi-line one.
            args.extend(["-I".to_string(), "-X".to_string(), request.to_string()]);
        }
        args.push(format!("pop3s://{{host}}/{path}"));
        Contender {
            name: "curl",
            program: "curl".into(),
            args,
            input: String::new(),
        }
    };
    let floor = |commands: Vec<String>| {
        let mut args = vec!["bench-floor".to_string(), "{host}".into(), "{ca}".into()];
        args.extend(commands);
        Contender {
            name: "floor",
            program: release.join("xtask"),
            args,
            input: String::new(),
        }
    };
    let login = |rest: &[String]| {
        let mut commands = vec![format!("USER {USER}"), format!("PASS {PASSWORD}")];
        commands.extend_from_slice(rest);
        commands.push("QUIT".into());
        commands
    };
    // Mailboxes are made when a scenario runs, and dropped once written: the driver stays small.
    fn small(count: usize) -> Box<dyn Fn() -> Vec<Vec<u8>>> {
        Box::new(move || {
            (1..=count)
                .map(|i| {
                    format!(
                        "From: bench@example.com\nSubject: message {i}\n\nBody of message {i}.\n"
                    )
                    .into_bytes()
                })
                .collect()
        })
    }
    fn big(megabytes: usize) -> Vec<u8> {
        let line = format!("{}\n", "x".repeat(75));
        let mut message = b"From: bench@example.com\nSubject: big\n\n".to_vec();
        while message.len() < megabytes * 1_000_000 {
            message.extend_from_slice(line.as_bytes());
        }
        message
    }
    let sample = Box::new(|| {
        playground::mailbox::SAMPLE_MESSAGES
            .iter()
            .map(|m| m.to_vec())
            .collect()
    });

    let mut list = vec![Scenario {
        name: "popconn (6 messages)".into(),
        messages: sample,
        retr_octets: None,
        deletes: false,
        contenders: vec![
            ours("popconn"),
            py("popconn.py", &[]),
            curl(Some("STAT"), ""),
            floor(login(&["STAT".into()])),
        ],
    }];
    for count in [1_000, 10_000, 100_000] {
        list.push(Scenario {
            name: format!("mailbox ({count} messages)"),
            messages: small(count),
            retr_octets: None,
            deletes: false,
            contenders: vec![
                ours("mailbox"),
                py("mailbox.py", &[]),
                curl(None, ""),
                floor(login(&["LIST".into()])),
            ],
        });
    }
    for megabytes in [20, 100] {
        let octets = playground::mailbox::wire_size(&big(megabytes));
        let retr = Contender {
            name: "ours",
            program: release.join("examples/retr"),
            args: vec!["{host}".into(), USER.into(), "1".into()],
            input: password.clone(),
        };
        list.push(Scenario {
            name: format!("RETR {megabytes} MB"),
            messages: Box::new(move || vec![big(megabytes)]),
            retr_octets: Some(octets),
            deletes: false,
            contenders: vec![
                retr,
                py("retr.py", &["1"]),
                curl(None, "1"),
                floor(login(&["RETR 1".into()])),
            ],
        });
    }
    let answers = format!("{PASSWORD}\n{}", "y\n".repeat(200));
    let every_message: Vec<String> = (1..=100)
        .flat_map(|i| {
            [
                format!("TOP {i} 0"),
                format!("RETR {i}"),
                format!("DELE {i}"),
            ]
        })
        .collect();
    let mut commands = vec!["LIST".to_string()];
    commands.extend(every_message);
    list.push(Scenario {
        name: "download_and_delete (100 messages, all yes)".into(),
        messages: small(100),
        retr_octets: None,
        deletes: true,
        contenders: vec![
            Contender {
                input: answers.clone(),
                ..ours("download_and_delete")
            },
            Contender {
                input: answers,
                ..py("download_and_delete.py", &[])
            },
            floor(login(&commands)),
        ],
    });
    Ok(list)
}
