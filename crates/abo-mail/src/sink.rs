//! A small SMTP server that keeps every message it receives in memory: the demo's local
//! mailbox (`abo demo` sends its customer e-mails here and shows them at `/demo/mailbox`),
//! and the outside world of the end-to-end tests.
//!
//! It speaks the part of RFC 5321 a submitting client needs (EHLO/HELO, MAIL, RCPT, DATA
//! with dot-unstuffing, RSET, NOOP, QUIT), plain text only, and listens on loopback only.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// Largest message accepted (a PDF invoice is well under 1 MB).
const MAX_MESSAGE: usize = 25 * 1024 * 1024;
/// Messages kept; the oldest are dropped beyond.
const KEEP: usize = 500;

/// One message as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// 1, 2, ... in arrival order.
    pub id: u64,
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The raw RFC 5322 message (headers and MIME body), dot-unstuffed.
    pub data: Vec<u8>,
}

#[derive(Default)]
struct Inbox {
    mails: Mutex<(u64, Vec<ReceivedMail>)>,
    arrived: Notify,
}

/// The running sink; cheap to clone. It runs until [`SmtpSink::stop`] or the end of the
/// runtime.
#[derive(Clone)]
pub struct SmtpSink {
    addr: SocketAddr,
    inbox: Arc<Inbox>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for SmtpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSink")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl SmtpSink {
    /// Listens on `127.0.0.1:port` (0 picks a free port).
    pub async fn start(port: u16) -> std::io::Result<SmtpSink> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let inbox = Arc::new(Inbox::default());
        let accepting = inbox.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let inbox = accepting.clone();
                tokio::spawn(async move {
                    if let Err(error) = session(stream, &inbox).await {
                        tracing::debug!(%error, "SMTP sink session ended");
                    }
                });
            }
        });
        Ok(SmtpSink {
            addr,
            inbox,
            task: Arc::new(task),
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every message kept, oldest first.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.lock().1.clone()
    }

    /// One message by id.
    pub fn message(&self, id: u64) -> Option<ReceivedMail> {
        self.lock().1.iter().find(|m| m.id == id).cloned()
    }

    /// Waits until at least `count` messages arrived in all, then returns them all.
    /// (Bound the wait with `tokio::time::timeout` in tests.)
    pub async fn wait_for(&self, count: usize) -> Vec<ReceivedMail> {
        loop {
            let notified = self.inbox.arrived.notified();
            {
                let guard = self.lock();
                if guard.1.len() >= count {
                    return guard.1.clone();
                }
            }
            notified.await;
        }
    }

    /// Stops accepting connections.
    pub fn stop(&self) {
        self.task.abort();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, Vec<ReceivedMail>)> {
        self.inbox
            .mails
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

async fn session(stream: TcpStream, inbox: &Inbox) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    write.write_all(b"220 abo-mailbox ESMTP ready\r\n").await?;
    let mut from: Option<String> = None;
    let mut rcpt: Vec<String> = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        let upper = text.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-abo-mailbox\r\n250-8BITMIME\r\n250-SIZE 26214400\r\n250 SMTPUTF8\r\n"
        } else if upper.starts_with("HELO") {
            b"250 abo-mailbox\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = Some(address(&text[10..]));
            rcpt.clear();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            if from.is_none() {
                b"503 MAIL first\r\n"
            } else {
                rcpt.push(address(&text[8..]));
                b"250 OK\r\n"
            }
        } else if upper == "DATA" {
            if rcpt.is_empty() {
                b"503 RCPT first\r\n"
            } else {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let data = read_data(&mut reader).await?;
                let Some(data) = data else {
                    write.write_all(b"552 Message too large\r\n").await?;
                    continue;
                };
                {
                    let mut guard = inbox.mails.lock().unwrap_or_else(PoisonError::into_inner);
                    guard.0 += 1;
                    let id = guard.0;
                    guard.1.push(ReceivedMail {
                        id,
                        mail_from: from.take().unwrap_or_default(),
                        rcpt_to: std::mem::take(&mut rcpt),
                        data,
                    });
                    if guard.1.len() > KEEP {
                        guard.1.remove(0);
                    }
                }
                inbox.arrived.notify_waiters();
                b"250 OK queued\r\n"
            }
        } else if upper == "RSET" {
            from = None;
            rcpt.clear();
            b"250 OK\r\n"
        } else if upper == "NOOP" {
            b"250 OK\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 Bye\r\n").await?;
            return Ok(());
        } else {
            b"502 Command not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
}

/// `<a@b> SIZE=123` → `a@b`.
fn address(arg: &str) -> String {
    let arg = arg.trim();
    match (arg.find('<'), arg.find('>')) {
        (Some(open), Some(close)) if open < close => arg[open + 1..close].to_owned(),
        _ => arg.split_whitespace().next().unwrap_or("").to_owned(),
    }
}

/// Reads the DATA section up to the lone `.` line; `None` when it exceeds [`MAX_MESSAGE`]
/// (the rest is still consumed).
async fn read_data<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut data = Vec::new();
    let mut line = Vec::new();
    let mut too_large = false;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok((!too_large).then_some(data));
        }
        let content = if line.starts_with(b"..") {
            &line[1..]
        } else {
            &line[..]
        };
        if data.len() + content.len() > MAX_MESSAGE {
            too_large = true;
        } else if !too_large {
            data.extend_from_slice(content);
        }
    }
}
