//! The connector over real sockets: timeouts, IPv6, STLS refusal, CA files.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pop3_core::{Connector, Error, Security, TlsConfig};

/// A server on `address` that runs `script` on the first connection it accepts.
fn server(address: &str, script: impl FnOnce(TcpStream) + Send + 'static) -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind(address).unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        script(stream);
    });
    (port, handle)
}

/// Holds the connection, silent, until the client gives up and closes it.
fn read_until_closed(mut stream: TcpStream) {
    while matches!(stream.read(&mut [0u8; 512]), Ok(n) if n > 0) {}
}

fn connector(security: Security, timeout: Duration) -> Connector {
    Connector {
        security,
        timeout,
        ..Connector::new(TlsConfig::new(None).unwrap())
    }
}

#[test]
fn a_server_that_never_speaks_times_out() {
    for security in [Security::Tls, Security::StartTls] {
        let (port, handle) = server("127.0.0.1:0", read_until_closed);
        let started = Instant::now();
        let err = connector(security, Duration::from_millis(500))
            .connect("127.0.0.1", port)
            .err()
            .expect("must time out");
        assert!(matches!(err, Error::Timeout), "{security:?}: {err}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        handle.join().unwrap();
    }
}

#[test]
fn a_server_that_stalls_mid_line_times_out() {
    let (port, handle) = server("127.0.0.1:0", |mut stream| {
        stream.write_all(b"+OK hal").unwrap();
        read_until_closed(stream);
    });
    let err = connector(Security::StartTls, Duration::from_millis(300))
        .connect("127.0.0.1", port)
        .err()
        .unwrap();
    assert!(matches!(err, Error::Timeout), "{err}");
    handle.join().unwrap();
}

#[test]
fn ipv6_and_stls_refused() {
    let (port, handle) = server("[::1]:0", |mut stream| {
        stream.write_all(b"+OK ready\r\n").unwrap();
        let mut command = [0u8; 6];
        stream.read_exact(&mut command).unwrap();
        assert_eq!(&command, b"STLS\r\n");
        stream.write_all(b"-ERR TLS not available\r\n").unwrap();
    });
    let err = connector(Security::StartTls, Duration::from_secs(5))
        .connect("::1", port)
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "the server refused STLS (-ERR TLS not available), so the session cannot be protected; use POP3S instead"
    );
    handle.join().unwrap();
}

#[test]
fn tls_against_a_plain_port_says_so() {
    let (port, handle) = server("127.0.0.1:0", |mut stream| {
        stream.write_all(b"+OK plain POP3 here\r\n").unwrap();
        let _ = stream.read(&mut [0u8; 512]);
    });
    let err = connector(Security::Tls, Duration::from_secs(5))
        .connect("localhost", port)
        .err()
        .unwrap();
    assert!(matches!(err, Error::Tls(_)), "{err}");
    // The command line's hint (`try --stls`) is pop3-cli's, not the library's.
    assert_eq!(err.to_string(), "TLS: the server did not answer in TLS");
    handle.join().unwrap();
}

#[test]
fn refused_connection() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = connector(Security::Tls, Duration::from_secs(5))
        .connect("127.0.0.1", port)
        .err()
        .unwrap();
    assert_eq!(err.to_string(), "connection refused");
    assert!(err.connection_lost());
}

#[test]
fn plaintext_refuses_the_password_unless_allowed() {
    for allowed in [false, true] {
        let (port, handle) = server("127.0.0.1:0", move |mut stream| {
            stream.write_all(b"+OK ready\r\n").unwrap();
            let mut received = Vec::new();
            let mut buf = [0u8; 512];
            while !received.ends_with(b"QUIT\r\n") {
                let n = stream.read(&mut buf).unwrap();
                assert!(n > 0, "closed early");
                received.extend_from_slice(&buf[..n]);
                stream.write_all(b"+OK\r\n").unwrap();
            }
            let expected = if allowed {
                "USER b\r\nPASS secret\r\nQUIT\r\n"
            } else {
                "USER b\r\nQUIT\r\n"
            };
            assert_eq!(String::from_utf8_lossy(&received), expected);
        });
        let connector = Connector {
            allow_password_in_clear: allowed,
            ..connector(Security::Plaintext, Duration::from_secs(5))
        };
        let mut client = connector.connect("127.0.0.1", port).unwrap();
        client.user("b").unwrap();
        match client.pass("secret") {
            Ok(_) => assert!(allowed),
            Err(e) => {
                assert!(!allowed);
                assert!(
                    e.to_string().contains("use POP3S (the default) or STLS"),
                    "{e}"
                );
            }
        }
        client.quit().unwrap();
        handle.join().unwrap();
    }
}
