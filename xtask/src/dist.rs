//! `cargo xtask dist [TOOL...]`: release archives and .deb packages, one per tool, checked
//! after they are made: each unpacks to a binary that runs, with a man page that renders.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context};
use lexopt::prelude::*;
use sha2::{Digest, Sha256};

use crate::{cargo, command_output, man, workspace_root, TOOLS};

pub fn run(mut args: lexopt::Parser) -> anyhow::Result<()> {
    let mut tools = Vec::new();
    while let Some(arg) = args.next()? {
        match arg {
            Value(tool) => tools.push(
                TOOLS
                    .into_iter()
                    .find(|t| tool == *t)
                    .ok_or_else(|| anyhow::anyhow!("unknown tool {tool:?}"))?,
            ),
            _ => return Err(arg.unexpected().into()),
        }
    }
    if tools.is_empty() {
        tools = TOOLS.to_vec();
    }
    let mut build = cargo(["build", "--release", "--quiet"]);
    for tool in &tools {
        build.args(["-p", tool]);
    }
    ensure!(build.status()?.success(), "the release build failed");

    let root = workspace_root();
    let dist = root.join("target/dist");
    fs::create_dir_all(&dist)?;
    let target = host_target()?;
    let deb_arch = command_output(Command::new("dpkg").arg("--print-architecture")).ok();
    let mut made = Vec::new();
    for tool in &tools {
        let binary = root.join("target/release").join(tool);
        let help = command_output(Command::new(&binary).arg("--help"))?;
        let version = help
            .lines()
            .next()
            .and_then(|line| line.strip_prefix(&format!("{tool} ")))
            .context("--help must start with `TOOL VERSION`")?
            .to_string();
        let manpage = man::render(&help)?;
        let archive = archive(&dist, tool, &version, &target, &binary, &manpage)?;
        check_archive(&archive, tool, &version)?;
        made.push(archive);
        match &deb_arch {
            Some(arch) => {
                let deb = deb(&dist, tool, &version, arch, &binary, &manpage)?;
                check_deb(&deb, tool, &version)?;
                made.push(deb);
            }
            None => println!("dpkg-deb not found: no .deb for {tool}"),
        }
    }
    let sums: String = made
        .iter()
        .map(|file| {
            let digest = Sha256::digest(fs::read(file)?);
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            Ok(format!("{hex}  {}\n", file_name(file)))
        })
        .collect::<anyhow::Result<_>>()?;
    fs::write(dist.join("SHA256SUMS"), &sums)?;
    print!("{sums}");
    println!("in {}", dist.display());
    Ok(())
}

fn host_target() -> anyhow::Result<String> {
    let info = command_output(Command::new("rustc").arg("-vV"))?;
    info.lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(String::from)
        .context("rustc -vV names no host")
}

/// `TOOL-VERSION-TARGET.tar.gz` holding the binary, README, licences and `TOOL.1`.
fn archive(
    dist: &Path,
    tool: &str,
    version: &str,
    target: &str,
    binary: &Path,
    manpage: &str,
) -> anyhow::Result<PathBuf> {
    let root = workspace_root();
    let name = format!("{tool}-{version}-{target}");
    let stage = dist.join(&name);
    if stage.exists() {
        fs::remove_dir_all(&stage)?;
    }
    fs::create_dir_all(&stage)?;
    fs::copy(binary, stage.join(tool))?;
    let readme = fs::read_to_string(root.join("crates").join(tool).join("README.md"))?;
    fs::write(stage.join("README.md"), installed_readme(&readme, tool))?;
    for licence in ["LICENSE-MIT", "LICENSE-APACHE"] {
        fs::copy(root.join(licence), stage.join(licence))?;
    }
    fs::write(stage.join(format!("{tool}.1")), manpage)?;
    let archive = dist.join(format!("{name}.tar.gz"));
    run_checked(
        Command::new("tar")
            .arg("-czf")
            .arg(&archive)
            .arg("-C")
            .arg(dist)
            .arg(&name),
    )?;
    fs::remove_dir_all(&stage)?;
    Ok(archive)
}

/// A Debian package: the binary in /usr/bin, the man page in /usr/share/man/man1.
fn deb(
    dist: &Path,
    tool: &str,
    version: &str,
    arch: &str,
    binary: &Path,
    manpage: &str,
) -> anyhow::Result<PathBuf> {
    let package = tool.replace('_', "-"); // Debian names allow no underscore
    let stage = dist.join(format!("{package}_{version}_{arch}"));
    if stage.exists() {
        fs::remove_dir_all(&stage)?;
    }
    let man_dir = stage.join("usr/share/man/man1");
    let doc_dir = stage.join("usr/share/doc").join(&package);
    for dir in [
        stage.join("DEBIAN"),
        stage.join("usr/bin"),
        man_dir.clone(),
        doc_dir.clone(),
    ] {
        fs::create_dir_all(dir)?;
    }
    fs::copy(binary, stage.join("usr/bin").join(tool))?;
    let page = man_dir.join(format!("{tool}.1"));
    fs::write(&page, manpage)?;
    run_checked(Command::new("gzip").args(["-9n"]).arg(&page))?;
    fs::copy(
        workspace_root().join("LICENSE-MIT"),
        doc_dir.join("copyright"),
    )?;
    let about = command_output(Command::new(binary).arg("--help"))?
        .lines()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    fs::write(
        stage.join("DEBIAN/control"),
        format!(
            "Package: {package}\nVersion: {version}\nArchitecture: {arch}\nMaintainer: The pop3-toolkit developers <pop3-toolkit@users.noreply.github.com>\nSection: mail\nPriority: optional\nDepends: libc6\nDescription: {about}\n A port of the book's POP3 listing, from the pop3-toolkit project.\n"
        ),
    )?;
    let deb = dist.join(format!("{package}_{version}_{arch}.deb"));
    run_checked(
        Command::new("dpkg-deb")
            .args(["--build", "--root-owner-group"])
            .arg(&stage)
            .arg(&deb),
    )?;
    fs::remove_dir_all(&stage)?;
    Ok(deb)
}

/// Unpacks the archive and runs what is in it: `--version`, and `man -l` on the page.
fn check_archive(archive: &Path, tool: &str, version: &str) -> anyhow::Result<()> {
    let unpacked = scratch_dir(archive)?;
    run_checked(
        Command::new("tar")
            .arg("-xzf")
            .arg(archive)
            .arg("-C")
            .arg(&unpacked),
    )?;
    let dir = fs::read_dir(&unpacked)?
        .next()
        .context("empty archive")??
        .path();
    for file in [tool, "README.md", "LICENSE-MIT", "LICENSE-APACHE"] {
        ensure!(
            dir.join(file).exists(),
            "{} lacks {file}",
            file_name(archive)
        );
    }
    check_installed(
        &dir.join(tool),
        &dir.join(format!("{tool}.1")),
        tool,
        version,
    )?;
    fs::remove_dir_all(unpacked)?;
    Ok(())
}

/// Extracts the package as dpkg would install it, and runs what it installs.
fn check_deb(deb: &Path, tool: &str, version: &str) -> anyhow::Result<()> {
    let root = scratch_dir(deb)?;
    run_checked(Command::new("dpkg-deb").arg("-x").arg(deb).arg(&root))?;
    let page = root.join(format!("usr/share/man/man1/{tool}.1.gz"));
    check_installed(&root.join("usr/bin").join(tool), &page, tool, version)?;
    fs::remove_dir_all(root)?;
    Ok(())
}

fn check_installed(binary: &Path, page: &Path, tool: &str, version: &str) -> anyhow::Result<()> {
    let said = command_output(Command::new(binary).arg("--version"))?;
    ensure!(
        said == format!("{tool} {version}"),
        "{} --version says {said:?}",
        binary.display()
    );
    let rendered = command_output(
        Command::new("man")
            .arg("-l")
            .arg(page)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80"),
    )?;
    for section in [
        "NAME",
        "SYNOPSIS",
        "OPTIONS",
        "ENVIRONMENT",
        "EXIT STATUS",
        "DESCRIPTION",
    ] {
        ensure!(
            rendered.contains(section),
            "the man page of {tool} renders without {section}:\n{rendered}"
        );
    }
    ensure!(
        !rendered.contains("\\-"),
        "the man page of {tool} shows roff escapes"
    );
    Ok(())
}

fn scratch_dir(for_file: &Path) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "xtask-check-{}-{}",
        std::process::id(),
        file_name(for_file)
    ));
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn run_checked(command: &mut Command) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// A tool's README as someone who installed the tool reads it: the sections that run it
/// from the repository (the playground through `cargo run`, `cargo install --path`) give
/// way to one that runs the installed command.
fn installed_readme(readme: &str, tool: &str) -> String {
    let mut starts: Vec<usize> = readme.match_indices("\n## ").map(|(i, _)| i + 1).collect();
    starts.insert(0, 0);
    starts.push(readme.len());
    let mut text = String::new();
    for section in starts.windows(2).map(|w| &readme[w[0]..w[1]]) {
        if section.starts_with("## Run it against the playground") {
            continue;
        }
        if section.starts_with("## Install and options") {
            text.push_str(&run_installed(tool));
            continue;
        }
        text.push_str(section);
    }
    text
}

fn run_installed(tool: &str) -> String {
    format!(
        "## Run it

```sh
{tool} mail.example.com brandon             # POP3S, port 995
{tool} --stls mail.example.com brandon      # plain POP3 upgraded with STLS, port 110
```

`{tool} --help` and `man {tool}` list every option, the environment variables it reads
and the exit statuses. A server whose certificate comes from a private CA is trusted with
`--ca-file FILE` (or `POP3_CA_FILE`), never by turning verification off.

Without a mail server of your own, the project's repository has a playground, a local
stand-in for the book's `mail.example.com`: run `cargo xtask playground` there, export
`POP3_CA_FILE` as it says, then `{tool} localhost:11995 brandon` (`localhost` as root).
The password is `abc123`.
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_archives_readme_runs_the_installed_tool() {
        for tool in TOOLS {
            let readme =
                fs::read_to_string(workspace_root().join("crates").join(tool).join("README.md"))
                    .unwrap();
            let installed = installed_readme(&readme, tool);
            for repository_only in ["cargo run", "cargo install --path", "## Run it against"] {
                assert!(
                    !installed.contains(repository_only),
                    "{tool}: {repository_only}"
                );
            }
            assert!(installed.contains(&format!(
                "\n## Run it\n\n```sh\n{tool} mail.example.com brandon "
            )));
            // What the listing does, step by step and the traced session stay.
            for kept in [
                "## What the listing does",
                "## Step by step",
                "## A session, traced",
            ] {
                assert!(installed.contains(kept), "{tool}: {kept}");
            }
        }
    }
}
