//! An independent, real SMTP server for e-mail tests: Debian's `python3-aiosmtpd`.
//!
//! `abo_mail::SmtpSink` is our own receiver; a server we wrote ourselves could share our
//! misunderstandings of SMTP with the sender we wrote too. At least one end-to-end test
//! therefore delivers through aiosmtpd (`python3 -m aiosmtpd`, its `Mailbox` handler), which
//! stores every accepted message in a Maildir that [`AioSmtpd::messages`] reads back.
//!
//! ```no_run
//! let server = abo_testkit::smtp::AioSmtpd::start();
//! // ... point the mailer at 127.0.0.1:server.port(), send one e-mail ...
//! let messages = server.messages(); // RFC 5322 bytes, as aiosmtpd stored them
//! assert_eq!(messages.len(), 1);
//! ```

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

/// How often and how long [`AioSmtpd::start`] polls the port: 200 × 50 ms = 10 s, ample
/// for a Python interpreter to start on a loaded 2-core machine.
const READY_ATTEMPTS: u32 = 200;
const READY_PAUSE: Duration = Duration::from_millis(50);

const INSTALL_HINT: &str = "the mail end-to-end tests need Debian's aiosmtpd: \
                            `apt-get install -y python3-aiosmtpd`";

/// A running `python3 -m aiosmtpd` on `127.0.0.1`, delivering into a temporary Maildir.
/// The process is killed, and the Maildir removed, on drop.
pub struct AioSmtpd {
    child: Child,
    port: u16,
    maildir: PathBuf,
    stderr: PathBuf,
    _dir: TempDir,
}

impl AioSmtpd {
    /// Starts aiosmtpd on a free loopback port and returns once it greets with `220`.
    ///
    /// Panics with an install hint when python3 or its `aiosmtpd` module is missing, and
    /// with aiosmtpd's own stderr when it exits or does not answer in time.
    pub fn start() -> AioSmtpd {
        let dir = tempfile::tempdir().expect("a temporary directory for aiosmtpd");
        let maildir = dir.path().join("Maildir");
        let stderr_path = dir.path().join("aiosmtpd.stderr");
        let port = free_port();
        let python = python3();
        let child = Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            // A file, not a pipe: nobody drains a pipe while the tests run.
            .stderr(File::create(&stderr_path).expect("aiosmtpd's stderr file"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}; {INSTALL_HINT}", python.display()));
        let mut server = AioSmtpd {
            child,
            port,
            maildir,
            stderr: stderr_path,
            _dir: dir,
        };
        server.wait_ready();
        server
    }

    /// The loopback port it listens on (plain SMTP, no TLS, no authentication).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The raw RFC 5322 bytes of every message delivered so far, oldest first, as the
    /// Mailbox handler stored them (it re-serializes the message and adds `X-Peer`,
    /// `X-MailFrom` and `X-RcptTo` headers with the SMTP envelope).
    ///
    /// aiosmtpd answers `250` to DATA only after the Maildir write (an atomic rename into
    /// `new/`), so a message the sender saw accepted is already here.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let mut files: Vec<(u64, String, PathBuf)> = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.maildir.join(sub)) else {
                continue; // created by aiosmtpd at start; absent only before that
            };
            for entry in entries {
                let entry = entry.expect("a Maildir entry");
                let name = entry.file_name().to_string_lossy().into_owned();
                files.push((arrival(&name), name, entry.path()));
            }
        }
        files.sort();
        files
            .iter()
            .map(|(_, _, path)| std::fs::read(path).expect("a Maildir message"))
            .collect()
    }

    fn wait_ready(&mut self) {
        for _ in 0..READY_ATTEMPTS {
            if let Some(status) = self.child.try_wait().expect("aiosmtpd's status") {
                panic!(
                    "aiosmtpd exited at start ({status}); {INSTALL_HINT}\n{}",
                    self.stderr_text()
                );
            }
            if greets(self.port) {
                return;
            }
            std::thread::sleep(READY_PAUSE);
        }
        panic!(
            "aiosmtpd did not greet on 127.0.0.1:{} after {} attempts\n{}",
            self.port,
            READY_ATTEMPTS,
            self.stderr_text()
        );
    }

    fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for AioSmtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Debian's interpreter, where `apt-get install python3-aiosmtpd` puts the module: a
/// `python3` found first on PATH (pyenv, a virtualenv) does not see Debian's dist-packages.
fn python3() -> PathBuf {
    let debian = Path::new("/usr/bin/python3");
    if debian.exists() {
        debian.to_path_buf()
    } else {
        PathBuf::from("python3")
    }
}

/// A port the kernel just handed out on loopback; released for aiosmtpd to bind.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Whether an SMTP server answers on the port with its `220` greeting (not merely a
/// listening socket: the port could have been taken by someone else meanwhile).
fn greets(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    if stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .is_err()
    {
        return false;
    }
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).is_ok() && line.starts_with("220")
}

/// The delivery order of a Maildir file named by Python's `mailbox.Maildir`:
/// `<secs>.M<usecs>P<pid>Q<count>.<host>[:2,<flags>]`. `Q` counts the deliveries of the
/// one aiosmtpd process, so it orders them even within one clock tick.
fn arrival(name: &str) -> u64 {
    name.split('.')
        .nth(1)
        .and_then(|unique| unique.rsplit_once('Q'))
        .and_then(|(_, count)| count.parse().ok())
        .unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::arrival;

    #[test]
    fn arrival_reads_the_delivery_counter() {
        assert_eq!(arrival("1764500000.M123456P42Q7.host"), 7);
        assert_eq!(arrival("1764500000.M123456P42Q12.host:2,S"), 12);
        assert_eq!(arrival("garbage"), u64::MAX);
    }
}
