//! Not every server's LIST can be trusted: numbers must ascend, and no more messages may be
//! listed than STAT counted (less those marked as deleted since). A LIST that breaks this
//! is a broken or lying server, and a protocol error.

use crate::error::{Error, Result};
use crate::response::ScanListing;

/// STAT's count, and how many deletions were marked when it was taken.
#[derive(Clone, Copy)]
pub(super) struct LiveCount {
    pub(super) counted: u32,
    pub(super) marked_then: u32,
}

/// The checks on one LIST answer, listing by listing.
pub(super) struct ListCheck {
    previous: u32,
    listed: u32,
    /// The most messages LIST may give: those STAT counted and not marked since.
    most: Option<u32>,
}

impl ListCheck {
    /// The checks for a LIST sent after STAT's `live` count (if any) and `marked` deletions
    /// in all.
    pub(super) fn new(live: Option<LiveCount>, marked: u32) -> Self {
        ListCheck {
            previous: 0,
            listed: 0,
            // A DELE refused after STAT counted (its answer read later) makes `marked` smaller.
            most: live.map(|live| {
                live.counted
                    .saturating_sub(marked.saturating_sub(live.marked_then))
            }),
        }
    }

    /// Checks the next listing against those before it and STAT's count.
    pub(super) fn check(&mut self, listing: ScanListing) -> Result<ScanListing> {
        if listing.number <= self.previous {
            return Err(Error::Protocol(format!(
                "LIST numbers out of order or repeated: {} after {}",
                listing.number, self.previous
            )));
        }
        self.previous = listing.number;
        self.listed += 1;
        if let Some(most) = self.most.filter(|&most| self.listed > most) {
            return Err(Error::Protocol(format!(
                "LIST lists more messages than the {most} STAT counted"
            )));
        }
        Ok(listing)
    }
}
