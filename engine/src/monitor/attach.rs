//! The monitor's attach socket, `<runroot>/containers/<id>/attach.sock`: how `run`,
//! `start -a`, `attach` and `berth serve` (Docker API hijacked connections) reach a
//! running container's stdio.
//!
//! # Handshake (one connection per client)
//! 1. The client connects (a unix stream socket) and sends ONE line of JSON ending in
//!    `\n`, either
//!    - an attach request: `{"stdin":true,"stdout":true,"stderr":true}` (missing fields
//!      are false), or
//!    - a resize request: `{"resize":{"height":24,"width":80}}` (a control connection:
//!      the monitor resizes the pty, answers and closes).
//! 2. The monitor answers ONE line of JSON: `{"tty":false}` (or `{"tty":true}`) when the
//!    request is accepted, `{"error":"<why>"}` otherwise (then it closes).
//! 3. After an accepted attach request:
//!    - monitor -> client: the container's output from then on. Without a tty, docker's
//!      multiplexed stream framing: an 8-byte header `[stream, 0, 0, 0, len as u32
//!      big-endian]` (stream 1 = stdout, 2 = stderr) then `len` bytes of payload, exactly
//!      as the Docker API's `application/vnd.docker.raw-stream` attach body; with a tty,
//!      the raw bytes of the pty. The API server can copy these bytes to a hijacked
//!      connection unchanged.
//!    - client -> monitor: raw stdin bytes (only with `"stdin":true` and a container
//!      created with `-i`; otherwise they are discarded). Shutting down the write half
//!      (`shutdown(SHUT_WR)`) closes the container's stdin (docker's StdinOnce); with a
//!      tty it does not (the pty stays for the next client: type `exit` or ctrl-d).
//!    - A resize request on its own connection (`{"resize":..}`) sets the pty's window
//!      size (the kernel signals SIGWINCH to the container's foreground process group);
//!      the answer is `{"tty":true}`, or an error for a container without a tty. Send
//!      the first one before the attach request: a monitor told to wait for a client
//!      starts the container when the attach arrives, with the size already set.
//!    - When the container's output ends (it exited), the monitor closes the connection
//!      after the last frame. The exit code is not sent here: read it with
//!      [`crate::ops::wait`] (or, for the process that spawned the monitor, from
//!      [`crate::monitor::MonitorHandle`]).
//!
//! Output written before the client attached is not replayed (it is in the log). Each
//! client has its own queue and writer thread. A client that reads slowly slows the
//! container's output once [`CLIENT_QUEUE_BYTES`] wait for it (as docker's attach does:
//! output is never cut short for a reader that keeps reading); a client that made no
//! progress for [`WRITE_TIMEOUT`] is dropped (its output ends, as at the container's
//! exit), so a stalled one holds the container up for at most that long.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// How long a write to a client may block before the client is dropped; also how long
/// [`AttachHub::close_all`] waits for the clients' queues to drain.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// How many bytes of output may wait for one client (a slow reader's backlog) before
/// the output is held until the client catches up.
pub const CLIENT_QUEUE_BYTES: usize = 4 << 20;

/// Stream ids of docker's framing.
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;

/// The client's first line.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct AttachRequest {
    #[serde(default)]
    pub stdin: bool,
    #[serde(default)]
    pub stdout: bool,
    #[serde(default)]
    pub stderr: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resize: Option<Resize>,
}

/// A terminal size.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Resize {
    pub height: u16,
    pub width: u16,
}

/// The monitor's answer line.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct AttachReply {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The 8-byte header of one frame.
pub fn frame_header(stream: u8, len: usize) -> [u8; 8] {
    let l = (len as u32).to_be_bytes();
    [stream, 0, 0, 0, l[0], l[1], l[2], l[3]]
}

/// Reads one frame: `(stream, payload)`, None at a clean end of stream.
pub fn read_frame(r: &mut impl Read) -> std::io::Result<Option<(u8, Vec<u8>)>> {
    let mut header = [0u8; 8];
    match r.read_exact(&mut header) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    Ok(Some((header[0], payload)))
}

/// The longest socket path `sun_path` holds (108 bytes with its NUL).
const SUN_PATH_MAX: usize = 107;

/// Calls `f` with `path`, or, when `path` is too long for a unix socket address (a deep
/// `--runroot` and a 64-digit id can pass 108 bytes), with `/proc/self/fd/N/<name>`
/// through an fd of its directory.
pub fn with_socket_path<T>(
    path: &Path,
    f: impl FnOnce(&Path) -> std::io::Result<T>,
) -> std::io::Result<T> {
    use std::os::unix::ffi::OsStrExt;
    if path.as_os_str().as_bytes().len() <= SUN_PATH_MAX {
        return f(path);
    }
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return f(path);
    };
    let dir = std::fs::File::open(dir)?;
    use std::os::fd::AsRawFd;
    let short = Path::new("/proc/self/fd")
        .join(dir.as_raw_fd().to_string())
        .join(name);
    f(&short)
}

/// Binds the monitor's listening socket at `path` (any length).
pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    with_socket_path(path, |p| UnixListener::bind(p))
}

/// Connects to a monitor's socket and makes `request`; returns the stream, positioned
/// at the start of the output, and whether the container has a tty.
pub fn connect(socket: &Path, request: &AttachRequest) -> std::io::Result<(UnixStream, bool)> {
    let mut stream = with_socket_path(socket, |p| UnixStream::connect(p))?;
    let mut line = serde_json::to_vec(request).map_err(std::io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line)?;
    let reply = read_line(&mut stream)?;
    let reply: AttachReply = serde_json::from_slice(&reply)
        .map_err(|e| std::io::Error::other(format!("bad reply from the monitor: {e}")))?;
    if let Some(error) = reply.error {
        return Err(std::io::Error::other(error));
    }
    Ok((stream, reply.tty.unwrap_or(false)))
}

/// Asks the monitor at `socket` to set its container's tty to `size` (a control
/// connection of its own). An error for a container without a tty.
pub fn resize(socket: &Path, size: Resize) -> std::io::Result<()> {
    let request = AttachRequest {
        resize: Some(size),
        ..Default::default()
    };
    connect(socket, &request).map(drop)
}

/// The client's side after [`connect`]: copies the container's output to `stdout` and
/// `stderr` (demultiplexing the frames; with a tty everything goes to `stdout`) until
/// the monitor closes the connection.
pub fn copy_output(
    conn: &mut UnixStream,
    tty: bool,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> std::io::Result<()> {
    if tty {
        std::io::copy(conn, stdout)?;
        return stdout.flush();
    }
    while let Some((stream, payload)) = read_frame(conn)? {
        let out: &mut dyn Write = if stream == STDERR {
            &mut *stderr
        } else {
            &mut *stdout
        };
        out.write_all(&payload)?;
        out.flush()?;
    }
    Ok(())
}

/// Reads one `\n`-terminated line byte by byte (no read-ahead: what follows the line
/// belongs to the stream), at most 4 KiB.
fn read_line(stream: &mut UnixStream) -> std::io::Result<Vec<u8>> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.len() < 4096 {
        if stream.read(&mut byte)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the monitor closed the connection",
            ));
        }
        if byte[0] == b'\n' {
            return Ok(line);
        }
        line.push(byte[0]);
    }
    Err(std::io::Error::other("handshake line longer than 4 KiB"))
}

/// One attached client, as the output pumps see it: its output goes through `queue` to
/// its own writer thread, never written by the pumps themselves.
struct Client {
    /// Messages (frames, or raw bytes with a tty) for the writer; dropped to end it.
    queue: Sender<Arc<[u8]>>,
    /// Bytes sent on `queue` and not yet written.
    queued: Arc<AtomicUsize>,
    /// When the writer last finished a write (or started): a client whose backlog is
    /// full and that made no progress for [`WRITE_TIMEOUT`] is dropped.
    progress: Arc<Mutex<Instant>>,
    /// The connection (to end it when the client is dropped or at close).
    stream: UnixStream,
    writer: JoinHandle<()>,
    stdout: bool,
    stderr: bool,
}

impl Client {
    /// Starts the writer of `stream` (whose write timeout is [`WRITE_TIMEOUT`]).
    fn start(stream: UnixStream, request: &AttachRequest) -> std::io::Result<Self> {
        let (queue, rx) = mpsc::channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let progress = Arc::new(Mutex::new(Instant::now()));
        let writer = {
            let stream = stream.try_clone()?;
            let queued = Arc::clone(&queued);
            let progress = Arc::clone(&progress);
            std::thread::spawn(move || write_queue(stream, rx, &queued, &progress))
        };
        Ok(Self {
            queue,
            queued,
            progress,
            stream,
            writer,
            stdout: request.stdout,
            stderr: request.stderr,
        })
    }

    /// Queues `msg`, first waiting while the client's backlog is full and it still
    /// makes progress; false when the client is gone or stalled (then its output is
    /// ended: it sees the end of the stream, its stdin still works).
    fn offer(&self, msg: &Arc<[u8]>) -> bool {
        loop {
            let behind = self.queued.load(Ordering::Acquire);
            if behind == 0 || behind + msg.len() <= CLIENT_QUEUE_BYTES {
                break;
            }
            let stalled = self
                .progress
                .lock()
                .map_or(true, |last| last.elapsed() >= WRITE_TIMEOUT);
            if stalled || self.writer.is_finished() {
                let _ = self.stream.shutdown(std::net::Shutdown::Write);
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        self.queued.fetch_add(msg.len(), Ordering::AcqRel);
        if self.queue.send(Arc::clone(msg)).is_err() {
            let _ = self.stream.shutdown(std::net::Shutdown::Write);
            return false;
        }
        true
    }
}

/// A client's writer: the queue's messages to `stream` in order, until the queue ends
/// (then the output half is shut down) or a write fails or times out.
fn write_queue(
    mut stream: UnixStream,
    rx: Receiver<Arc<[u8]>>,
    queued: &AtomicUsize,
    progress: &Mutex<Instant>,
) {
    for msg in rx {
        let written = stream.write_all(&msg);
        queued.fetch_sub(msg.len(), Ordering::AcqRel);
        if written.is_err() {
            break;
        }
        if let Ok(mut last) = progress.lock() {
            *last = Instant::now();
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

/// The monitor's side: the attached clients, the container's stdin and the tty flag.
pub struct AttachHub {
    clients: Mutex<Vec<Client>>,
    /// The write end of the container's stdin pipe, while open (`-i`). Writers take a
    /// clone of the Arc and write without this lock, so closing stdin never waits for
    /// a write to a full pipe; the fd closes when the last write in flight ends.
    stdin: Mutex<Option<Arc<std::fs::File>>>,
    /// Serializes stdin writes (each client's chunk reaches the pipe whole).
    stdin_write: Mutex<()>,
    tty: bool,
    /// The pty master of a `-t` container (resize requests set its window size).
    pty: Option<std::fs::File>,
    /// Set once a client attached (for a monitor told to wait for one before `start`).
    attached: (Mutex<bool>, Condvar),
}

impl AttachHub {
    pub fn new(stdin: Option<std::fs::File>, tty: bool) -> Arc<Self> {
        Arc::new(Self {
            clients: Mutex::new(Vec::new()),
            stdin: Mutex::new(stdin.map(Arc::new)),
            stdin_write: Mutex::new(()),
            tty,
            pty: None,
            attached: (Mutex::new(false), Condvar::new()),
        })
    }

    /// The hub of a `-t` container: `master` (the pty master from the runtime's console
    /// socket) takes clients' stdin and resize requests. A client's end of input does not
    /// close it (the terminal stays for the next `attach`, as docker's does).
    pub fn with_pty(master: std::fs::File) -> std::io::Result<Arc<Self>> {
        Ok(Arc::new(Self {
            clients: Mutex::new(Vec::new()),
            stdin: Mutex::new(Some(Arc::new(master.try_clone()?))),
            stdin_write: Mutex::new(()),
            tty: true,
            pty: Some(master),
            attached: (Mutex::new(false), Condvar::new()),
        }))
    }

    /// Queues `data` from `stream` (STDOUT or STDERR) for every client that asked for
    /// it, dropping clients that are gone or stalled. Waits while a client that still
    /// reads is [`CLIENT_QUEUE_BYTES`] behind (the container's output is held, as with
    /// docker), at most [`WRITE_TIMEOUT`] past a stalled client's last progress.
    pub fn broadcast(&self, stream: u8, data: &[u8]) {
        let Ok(mut clients) = self.clients.lock() else {
            return;
        };
        let mut msg: Option<Arc<[u8]>> = None;
        clients.retain(|c| {
            let wanted = if stream == STDERR { c.stderr } else { c.stdout };
            if !wanted {
                return true;
            }
            let msg = msg.get_or_insert_with(|| {
                if self.tty {
                    Arc::from(data)
                } else {
                    [&frame_header(stream, data.len())[..], data]
                        .concat()
                        .into()
                }
            });
            c.offer(msg)
        });
    }

    /// Ends every client's output (the container's output ended): what is queued is
    /// written first, for at most [`WRITE_TIMEOUT`] in all, then the connections close.
    pub fn close_all(&self) {
        let clients = match self.clients.lock() {
            Ok(mut clients) => std::mem::take(&mut *clients),
            Err(_) => return,
        };
        let deadline = Instant::now() + WRITE_TIMEOUT;
        let mut writers = Vec::new();
        for c in clients {
            // The queue's end tells the writer to finish.
            drop(c.queue);
            writers.push((c.writer, c.stream));
        }
        for (writer, stream) in writers {
            while !writer.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            let _ = stream.shutdown(std::net::Shutdown::Both);
            if writer.is_finished() {
                let _ = writer.join();
            }
        }
    }

    /// Waits up to `timeout` for a first client; true if one attached.
    pub fn wait_attached(&self, timeout: Duration) -> bool {
        let (lock, cv) = &self.attached;
        let Ok(guard) = lock.lock() else { return false };
        cv.wait_timeout_while(guard, timeout, |a| !*a)
            .map(|(g, _)| *g)
            .unwrap_or(false)
    }

    /// Serves `listener` until the process exits: one thread per connection for its
    /// handshake and stdin.
    pub fn serve(self: &Arc<Self>, listener: UnixListener) {
        let hub = Arc::clone(self);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let hub = Arc::clone(&hub);
                std::thread::spawn(move || hub.handle(conn));
            }
        });
    }

    /// Writes a client's `chunk` to the container's stdin, holding the hub's stdin lock
    /// only to take the file (a container that does not read its stdin blocks this
    /// client alone, not a client closing stdin). A broken pipe closes stdin.
    fn write_stdin(&self, chunk: &[u8]) {
        let Some(file) = self.stdin.lock().ok().and_then(|s| s.clone()) else {
            return;
        };
        let failed = {
            let _serial = self.stdin_write.lock();
            (&*file).write_all(chunk).is_err()
        };
        if failed
            && let Ok(mut stdin) = self.stdin.lock()
            && stdin.as_ref().is_some_and(|f| Arc::ptr_eq(f, &file))
        {
            *stdin = None;
        }
    }

    fn handle(&self, mut conn: UnixStream) {
        let reply = |conn: &mut UnixStream, r: &AttachReply| {
            let mut line = serde_json::to_vec(r).unwrap_or_default();
            line.push(b'\n');
            conn.write_all(&line)
        };
        let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
        let request: AttachRequest = match read_line(&mut conn)
            .ok()
            .and_then(|l| serde_json::from_slice(&l).ok())
        {
            Some(r) => r,
            None => {
                let _ = reply(
                    &mut conn,
                    &AttachReply {
                        error: Some("bad attach request: send one JSON line".into()),
                        tty: None,
                    },
                );
                return;
            }
        };
        let _ = conn.set_read_timeout(None);
        if let Some(size) = request.resize {
            let answer = match &self.pty {
                Some(pty) => {
                    match crate::terminal::set_window_size(std::os::fd::AsFd::as_fd(pty), size) {
                        Ok(()) => AttachReply {
                            tty: Some(true),
                            error: None,
                        },
                        Err(e) => AttachReply {
                            error: Some(format!("resizing the container's tty: {e}")),
                            tty: None,
                        },
                    }
                }
                None => AttachReply {
                    error: Some("the container has no tty to resize".into()),
                    tty: None,
                },
            };
            let _ = reply(&mut conn, &answer);
            return;
        }
        if reply(
            &mut conn,
            &AttachReply {
                tty: Some(self.tty),
                error: None,
            },
        )
        .is_err()
        {
            return;
        }
        let _ = conn.set_write_timeout(Some(WRITE_TIMEOUT));
        let Ok(client) = conn.try_clone().and_then(|c| Client::start(c, &request)) else {
            return;
        };
        if let Ok(mut clients) = self.clients.lock() {
            clients.push(client);
        }
        {
            let (lock, cv) = &self.attached;
            if let Ok(mut a) = lock.lock() {
                *a = true;
                cv.notify_all();
            }
        }
        // Stdin: copy until the client's EOF, then close the container's stdin.
        let mut reader = BufReader::new(conn);
        loop {
            let chunk = match reader.fill_buf() {
                Ok([]) | Err(_) => break,
                Ok(c) => c.to_vec(),
            };
            reader.consume(chunk.len());
            if request.stdin {
                self.write_stdin(&chunk);
            }
        }
        if request.stdin
            && !self.tty
            && let Ok(mut stdin) = self.stdin.lock()
        {
            *stdin = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_path_past_sun_len_is_bound_and_reached() {
        let dir = tempfile::tempdir().expect("tempdir");
        let deep = dir.path().join("d".repeat(60)).join("e".repeat(60));
        std::fs::create_dir_all(&deep).expect("mkdir");
        let sock = deep.join("attach.sock");
        assert!(sock.as_os_str().len() > 108);
        let hub = AttachHub::new(None, false);
        hub.serve(bind(&sock).expect("bind past SUN_LEN"));
        assert!(sock.exists(), "bound at its real path");
        let (_conn, tty) = connect(
            &sock,
            &AttachRequest {
                stdout: true,
                ..Default::default()
            },
        )
        .expect("connect");
        assert!(!tty);
    }

    fn output_client(sock: &Path) -> UnixStream {
        let watch = AttachRequest {
            stdout: true,
            ..Default::default()
        };
        connect(sock, &watch).expect("connect").0
    }

    #[test]
    fn a_client_that_never_reads_delays_neither_the_output_nor_other_clients() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sock = dir.path().join("attach.sock");
        let hub = AttachHub::new(None, false);
        hub.serve(bind(&sock).expect("bind"));
        let _stalled = output_client(&sock);
        let mut reader = output_client(&sock);
        let counted = std::thread::spawn(move || {
            let mut n = 0;
            while let Some((_, payload)) = read_frame(&mut reader).expect("frame") {
                n += payload.len();
            }
            n
        });
        while hub.clients.lock().expect("clients").len() < 2 {
            std::thread::sleep(Duration::from_millis(5));
        }
        // Far more than a socket buffer, within the backlog a client may have: a pump
        // writing to the stalled client itself would block for WRITE_TIMEOUT at the
        // first full buffer.
        let chunk = vec![b'x'; 32 * 1024];
        let start = Instant::now();
        for _ in 0..64 {
            hub.broadcast(STDOUT, &chunk);
        }
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "broadcast took {:?}",
            start.elapsed()
        );
        // Past the stalled client's backlog: held at most WRITE_TIMEOUT past its last
        // progress, then it is dropped and the reader goes on.
        for _ in 0..192 {
            hub.broadcast(STDOUT, &chunk);
        }
        assert!(
            start.elapsed() < WRITE_TIMEOUT + Duration::from_secs(3),
            "broadcast took {:?}",
            start.elapsed()
        );
        assert_eq!(
            hub.clients.lock().expect("clients").len(),
            1,
            "stalled one dropped"
        );
        hub.close_all();
        assert_eq!(counted.join().expect("reader"), 256 * chunk.len());
    }

    #[test]
    fn a_slow_reader_gets_every_byte_past_its_backlog() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sock = dir.path().join("attach.sock");
        let hub = AttachHub::new(None, false);
        hub.serve(bind(&sock).expect("bind"));
        let mut reader = output_client(&sock);
        let counted = std::thread::spawn(move || {
            let mut n = 0;
            while let Some((_, payload)) = read_frame(&mut reader).expect("frame") {
                n += payload.len();
                // Slower than the pump: the backlog fills and the output is held.
                std::thread::sleep(Duration::from_micros(300));
            }
            n
        });
        while hub.clients.lock().expect("clients").is_empty() {
            std::thread::sleep(Duration::from_millis(5));
        }
        let chunk = vec![b'y'; 32 * 1024];
        for _ in 0..256 {
            hub.broadcast(STDOUT, &chunk);
        }
        hub.close_all();
        // 8 MiB, twice the backlog: nothing cut (docker's attach never cuts a reader).
        assert_eq!(counted.join().expect("reader"), 256 * chunk.len());
    }

    #[test]
    fn closing_stdin_does_not_wait_for_a_write_to_a_full_pipe() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sock = dir.path().join("attach.sock");
        // Nobody reads the container's stdin: its pipe fills.
        let (_stdin_r, stdin_w) = std::io::pipe().expect("pipe");
        let hub = AttachHub::new(
            Some(std::fs::File::from(std::os::fd::OwnedFd::from(stdin_w))),
            false,
        );
        hub.serve(bind(&sock).expect("bind"));
        let typist = AttachRequest {
            stdin: true,
            ..Default::default()
        };
        let (mut filling, _) = connect(&sock, &typist).expect("first client");
        // More than the pipe holds: the hub's write for this client blocks (and so does
        // this writer, once the socket is full too).
        std::thread::spawn(move || {
            let _ = filling.write_all(&vec![b'y'; 1 << 20]);
        });
        let (ending, _) = connect(&sock, &typist).expect("second client");
        std::thread::sleep(Duration::from_millis(200));
        ending.shutdown(std::net::Shutdown::Write).expect("eof");
        let start = Instant::now();
        // try_lock: a lock held across the blocked write must fail the test, not hang it.
        while !hub.stdin.try_lock().is_ok_and(|s| s.is_none()) {
            assert!(
                start.elapsed() < Duration::from_secs(2),
                "a client's end of input waited for another's blocked write"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn frames_round_trip_in_dockers_layout() {
        assert_eq!(frame_header(STDERR, 258), [2, 0, 0, 0, 0, 0, 1, 2]);
        let mut bytes = frame_header(STDOUT, 3).to_vec();
        bytes.extend_from_slice(b"hi\n");
        let mut r = &bytes[..];
        assert_eq!(
            read_frame(&mut r).expect("frame"),
            Some((STDOUT, b"hi\n".to_vec()))
        );
        assert_eq!(read_frame(&mut r).expect("end"), None);
    }

    #[test]
    fn a_client_gets_framed_output_and_feeds_stdin() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sock = dir.path().join("attach.sock");
        let (stdin_r, stdin_w) = std::io::pipe().expect("pipe");
        let hub = AttachHub::new(
            Some(std::fs::File::from(std::os::fd::OwnedFd::from(stdin_w))),
            false,
        );
        hub.serve(bind(&sock).expect("bind"));
        // An output-only client: its end does not close the container's stdin.
        let watch = AttachRequest {
            stdin: false,
            stdout: true,
            stderr: false,
            resize: None,
        };
        let (mut conn, tty) = connect(&sock, &watch).expect("connect");
        assert!(!tty);
        assert!(hub.wait_attached(Duration::from_secs(5)));
        hub.broadcast(STDERR, b"not wanted");
        hub.broadcast(STDOUT, b"out");
        hub.close_all();
        assert_eq!(
            read_frame(&mut conn).expect("frame"),
            Some((STDOUT, b"out".to_vec()))
        );
        assert_eq!(read_frame(&mut conn).expect("end"), None);

        let req = AttachRequest {
            stdin: true,
            ..watch
        };
        let (mut conn, _) = connect(&sock, &req).expect("second client");
        conn.write_all(b"typed").expect("stdin");
        conn.shutdown(std::net::Shutdown::Write).expect("eof");
        let mut got = String::new();
        let mut stdin_r = stdin_r;
        stdin_r
            .read_to_string(&mut got)
            .expect("stdin reaches the pipe, then EOF");
        assert_eq!(got, "typed");
        let bad = connect(
            &sock,
            &AttachRequest {
                resize: Some(Resize {
                    height: 1,
                    width: 1,
                }),
                ..Default::default()
            },
        );
        assert!(bad.expect_err("no tty").to_string().contains("no tty"));
    }
}
