//! Not in the book: where the server offers PIPELINING, the commands for the messages to
//! come go out before they are wanted, so that their answers are already on the way while
//! the user reads. TOP goes a few messages ahead; RETR only for a message whose "Read this
//! message?" has already been answered yes (typed ahead, or piped): fetching it otherwise
//! would waste its bytes and, on servers that keep IMAP flags, mark it as seen.

use pop3_cli as cli;
use pop3_core::{Client, Command, Result, ScanListing, Stream};

use crate::limits;

/// How many messages ahead TOP goes out.
const WINDOW: usize = 16;
/// The most message data fetched ahead by RETR (and so held in memory) at a time.
const RETR_AHEAD_BYTES: u64 = 4 << 20;

/// The commands sent ahead so far for a mailbox's messages.
pub struct Lookahead<'a> {
    listings: &'a [ScanListing],
    /// TOP went out for the messages before this index.
    tops_sent: usize,
    /// Whether RETR went out, by index.
    retr_sent: Vec<bool>,
    /// Lines of input each message takes (its questions), the read answer first.
    questions_per_message: usize,
}

impl<'a> Lookahead<'a> {
    /// Nothing sent ahead yet for these messages, each of which asks
    /// `questions_per_message` questions, the read question first. The answers read ahead
    /// are held in memory up to [`limits::KEPT`], counted as they arrive, whatever LIST
    /// claimed.
    pub fn new(
        p: &mut Client<Stream>,
        listings: &'a [ScanListing],
        questions_per_message: usize,
    ) -> Self {
        p.set_kept_limit(limits::KEPT);
        Lookahead {
            listings,
            tops_sent: 0,
            retr_sent: vec![false; listings.len()],
            questions_per_message,
        }
    }

    /// As the message at index `current` comes up: TOP for it and the next ones, up to
    /// `WINDOW`, and RETR for those whose read answer is already in, within
    /// `RETR_AHEAD_BYTES`. The read answer of the message `k` places on is `k` times the
    /// questions per message away. Without pipelining, nothing.
    pub fn send(&mut self, p: &mut Client<Stream>, current: usize) -> Result<()> {
        if !p.pipelining() {
            return Ok(());
        }
        let end = self.listings.len().min(current + WINDOW);
        let mut in_flight: u64 = (current..end)
            .filter(|&i| self.retr_sent[i])
            .map(|i| self.listings[i].size)
            .sum();
        let mut answers_in = true;
        for i in current..end {
            let listing = self.listings[i];
            if i >= self.tops_sent {
                p.send_ahead(Command::Top {
                    number: listing.number,
                    lines: 0,
                })?;
                self.tops_sent = i + 1;
            }
            if !answers_in || self.retr_sent[i] {
                continue;
            }
            match cli::typed_yes(self.questions_per_message * (i - current)) {
                None => answers_in = false, // the later answers are not in either
                Some(true) if in_flight + listing.size <= RETR_AHEAD_BYTES => {
                    p.send_ahead(Command::Retr(listing.number))?;
                    self.retr_sent[i] = true;
                    in_flight += listing.size;
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}
