//! The playground's mailbox: sample messages kept as files under `playground/mailbox/`,
//! written into a fresh Maildir at every start.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The sample messages, in mailbox order: two notes from the administrator, a multipart
/// message with an HTML alternative and a text attachment, and three short tests.
pub const SAMPLE_MESSAGES: [&[u8]; 6] = [
    include_bytes!("../mailbox/1-welcome.eml"),
    include_bytes!("../mailbox/2-maintenance.eml"),
    include_bytes!("../mailbox/3-picnic.eml"),
    include_bytes!("../mailbox/4-test-1.eml"),
    include_bytes!("../mailbox/5-test-2.eml"),
    include_bytes!("../mailbox/6-test-3.eml"),
];

/// Replaces whatever is at `maildir` with a Maildir holding `messages` in order. The file
/// names sort in that order by time and by name, so every server numbers them alike.
pub fn write_maildir<M: AsRef<[u8]>>(maildir: &Path, messages: &[M]) -> io::Result<()> {
    if maildir.exists() {
        fs::remove_dir_all(maildir)?;
    }
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(maildir.join(sub))?;
    }
    for (i, message) in messages.iter().enumerate() {
        let name = format!("{}.M{i}P0.playground:2,S", 1_700_000_000 + i);
        fs::write(maildir.join("cur").join(name), message)?;
    }
    Ok(())
}

/// Replaces whatever is at `dir` with `messages` as files `001.eml`, `002.eml`... in order,
/// for the servers that make their own store from them.
pub fn write_messages<M: AsRef<[u8]>>(dir: &Path, messages: &[M]) -> io::Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir)?;
    }
    fs::create_dir_all(dir)?;
    for (i, message) in messages.iter().enumerate() {
        fs::write(dir.join(format!("{:03}.eml", i + 1)), message)?;
    }
    Ok(())
}

/// The message files a Maildir holds now, in mailbox order.
pub fn message_files(maildir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for sub in ["new", "cur"] {
        for entry in fs::read_dir(maildir.join(sub))? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                files.push(entry.path());
            }
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

/// The contents of the messages a Maildir holds now, in mailbox order.
pub fn stored_messages(maildir: &Path) -> io::Result<Vec<Vec<u8>>> {
    message_files(maildir)?.iter().map(fs::read).collect()
}

/// The size a message has on the wire: each bare LF counted as CRLF, as servers list it.
pub fn wire_size(message: &[u8]) -> u64 {
    let bare_lf = message
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' && (i == 0 || message[i - 1] != b'\r'))
        .count();
    (message.len() + bare_lf) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maildir_round_trip_keeps_order() {
        let dir = std::env::temp_dir().join(format!("playground-mailbox-{}", std::process::id()));
        let messages: Vec<String> = (0..12).map(|i| format!("Subject: {i}\n\nbody\n")).collect();
        write_maildir(&dir, &messages).unwrap();
        let stored = stored_messages(&dir).unwrap();
        assert_eq!(
            stored,
            messages
                .iter()
                .map(|m| m.as_bytes().to_vec())
                .collect::<Vec<_>>()
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn wire_size_counts_crlf() {
        assert_eq!(wire_size(b"a\nb\r\n"), 6);
        assert_eq!(wire_size(b"\n"), 2);
    }
}
