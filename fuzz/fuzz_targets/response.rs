//! The response-line parsers on any text: STAT, LIST and UIDL lines, CAPA, APOP greeting.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pop3_core::response::{apop_timestamp, parse_scan_listing, parse_stat, parse_unique_id, Capabilities};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse_stat(&text);
    let _ = parse_scan_listing(&text);
    let _ = parse_unique_id(&text);
    if let Ok(Some(timestamp)) = apop_timestamp(&text) {
        assert!(timestamp.starts_with('<') && timestamp.ends_with('>') && timestamp.contains('@'));
    }
    let caps = Capabilities::from_lines(text.lines().map(String::from).collect());
    let _ = caps.arguments("SASL");
    let _ = caps.has("STLS");
});
