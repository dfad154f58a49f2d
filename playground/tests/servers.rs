//! Both servers speak the same POP3: every command, through pop3-core, against each.

use std::io::{Read, Write};
use std::net::TcpStream;

use playground::mailbox::{wire_size, SAMPLE_MESSAGES};
use playground::testing::start;
use playground::{server_tests, Playground, PASSWORD, USER};
use pop3_core::{Client, Connector, Error, Security, Stream, TlsConfig};

fn connect(p: &Playground, security: Security) -> Client<Stream> {
    let connector = Connector {
        security,
        ..Connector::new(TlsConfig::new(Some(&p.certs.ca)).unwrap())
    };
    let port = match security {
        Security::Tls => p.pop3s_port,
        Security::StartTls | Security::Plaintext => p.pop3_port,
    };
    connector.connect("localhost", port).unwrap()
}

/// The sample messages as a server sends them: CRLF line ends.
fn on_the_wire(message: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(message)
        .replace('\n', "\r\n")
        .into_bytes()
}

server_tests! {
    fn every_command(server) {
        let p = start(server);
        let mut c = connect(&p, Security::Tls);
        let caps = c.capa().unwrap();
        for capability in ["TOP", "UIDL", "USER", "PIPELINING", "RESP-CODES"] {
            assert!(caps.has(capability), "{capability} missing from {:?}", caps.lines());
        }
        assert!(!caps.has("STLS"), "STLS offered on an implicit TLS port");
        c.login(USER, PASSWORD).unwrap();

        let stat = c.stat().unwrap();
        let total: u64 = SAMPLE_MESSAGES.iter().map(|m| wire_size(m)).sum();
        assert_eq!((stat.count, stat.size), (6, total));
        let sizes: Vec<u64> = c.list().unwrap().iter().map(|l| l.size).collect();
        assert_eq!(sizes, SAMPLE_MESSAGES.iter().map(|m| wire_size(m)).collect::<Vec<_>>());
        assert_eq!(c.list_one(3).unwrap().size, wire_size(SAMPLE_MESSAGES[2]));

        let uids = c.uidl().unwrap();
        assert_eq!(uids.len(), 6);
        assert_eq!(c.uidl_one(2).unwrap(), uids[1]);

        assert_eq!(c.retr(3).unwrap(), on_the_wire(SAMPLE_MESSAGES[2]));
        let mut streamed = Vec::new();
        let octets = c.retr_to(1, &mut streamed).unwrap();
        assert_eq!((streamed.len() as u64, streamed), (octets, on_the_wire(SAMPLE_MESSAGES[0])));

        let headers = c.top(1, 0).unwrap();
        assert!(headers.starts_with(b"From: Mail Administrator"));
        assert!(headers.ends_with(b"\r\n\r\n"), "{}", String::from_utf8_lossy(&headers));
        let top2 = c.top(1, 2).unwrap();
        assert!(top2.ends_with(b"\r\n\r\nHello Brandon,\r\n\r\n"), "{}", String::from_utf8_lossy(&top2));

        c.noop().unwrap();
        c.dele(1).unwrap();
        assert!(matches!(c.retr(1), Err(Error::Server(_))));
        assert_eq!(c.stat().unwrap().count, 5);
        c.rset().unwrap();
        assert_eq!(c.stat().unwrap().count, 6);
        assert!(matches!(c.dele(7), Err(Error::DeleRefused { number: 7, .. })));
        c.dele(2).unwrap();
        c.quit().unwrap();

        let left = p.stored_messages().unwrap();
        assert_eq!(left.len(), 5);
        assert_eq!(left[0], SAMPLE_MESSAGES[0]);
    }

    fn stls_then_capabilities_again(server) {
        let p = start(server);
        let connector = Connector::new(TlsConfig::new(Some(&p.certs.ca)).unwrap());
        let tcp = TcpStream::connect(("127.0.0.1", p.pop3_port)).unwrap();
        let mut plain = Client::new(Stream::Plain(tcp)).unwrap();
        assert!(plain.capa().unwrap().has("STLS"));
        let mut secure = plain.stls(&connector.tls, "localhost").unwrap();
        assert!(!secure.capa().unwrap().has("STLS"));
        secure.login(USER, PASSWORD).unwrap();
        assert_eq!(secure.stat().unwrap().count, 6);
        secure.quit().unwrap();
    }

    fn apop(server) {
        let p = start(server);
        let mut c = connect(&p, Security::Tls);
        assert!(matches!(c.apop(USER, "wrong"), Err(Error::Server(_))));
        let mut c = connect(&p, Security::StartTls);
        c.apop(USER, PASSWORD).unwrap();
        assert_eq!(c.stat().unwrap().count, 6);
        c.quit().unwrap();
    }

    fn pipelined_commands_are_all_answered(server) {
        let p = start(server);
        let tls = TlsConfig::new(Some(&p.certs.ca)).unwrap();
        let tcp = TcpStream::connect(("127.0.0.1", p.pop3s_port)).unwrap();
        let mut stream = tls.handshake("localhost", tcp).unwrap();
        stream
            .write_all(format!("USER {USER}\r\nPASS {PASSWORD}\r\nSTAT\r\nDELE 1\r\nQUIT\r\n").as_bytes())
            .unwrap();
        let mut replies = String::new();
        let _ = stream.read_to_string(&mut replies);
        let lines: Vec<&str> = replies.lines().collect();
        assert_eq!(lines.len(), 6, "{replies}");
        assert!(lines.iter().all(|l| l.starts_with("+OK")), "{replies}");
        assert_eq!(p.stored_messages().unwrap().len(), 5);
    }
}
