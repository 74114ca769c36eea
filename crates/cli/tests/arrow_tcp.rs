//! The arrow-tcp source with real clients: pyarrow processes (from PyPI through
//! scripts/pyenv.sh) connect to the Darwin process over 127.0.0.1 and send Arrow IPC streams;
//! the query sees every row once, whatever order each stream gives its columns in; a client
//! that sends something else fails the run with its address.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn python() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pyenv.sh");
    let out = Command::new("bash").arg(script).stderr(Stdio::inherit()).output().unwrap();
    assert!(out.status.success(), "scripts/pyenv.sh could not install pyarrow");
    PathBuf::from(text(&out.stdout).trim())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Sends `rows` rows (k = first..first+rows, v = 2k, s = "s{k mod 7}") in batches of 1000 as an
/// Arrow IPC stream with the columns in `order`, retrying the connection until Darwin listens.
const SEND: &str = r#"
import pyarrow as pa, pyarrow.ipc as ipc, socket, sys, time
port, first, rows, order = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split(",")
for _ in range(600):
    try:
        sock = socket.create_connection(("127.0.0.1", port))
        break
    except OSError:
        time.sleep(0.05)
cols = {"k": pa.int64(), "v": pa.int32(), "s": pa.string(), "extra": pa.float64()}
schema = pa.schema([(c, cols[c]) for c in order])
with sock.makefile("wb") as f, ipc.new_stream(f, schema) as w:
    for start in range(first, first + rows, 1000):
        ks = list(range(start, min(start + 1000, first + rows)))
        data = {"k": ks, "v": [2 * k for k in ks], "s": ["s%d" % (k % 7) for k in ks], "extra": [0.5] * len(ks)}
        w.write_batch(pa.record_batch([pa.array(data[c], cols[c]) for c in order], schema=schema))
sock.close()
"#;

fn darwin(sql: &str, parallelism: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_darwin"))
        .args(["run", "-e", sql, "--parallelism", parallelism])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn sender(py: &Path, port: u16, first: u64, rows: u64, order: &str) -> Child {
    Command::new(py)
        .args(["-c", SEND, &port.to_string(), &first.to_string(), &rows.to_string(), order])
        .spawn()
        .unwrap()
}

fn finish(mut c: Child) -> Output {
    let status = c.wait().unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    if let Some(mut o) = c.stdout.take() {
        o.read_to_end(&mut out).unwrap();
    }
    if let Some(mut e) = c.stderr.take() {
        e.read_to_end(&mut err).unwrap();
    }
    Output { status, stdout: out, stderr: err }
}

fn table(port: u16, streams: usize) -> String {
    format!(
        "CREATE TABLE t (k BIGINT, v BIGINT, s VARCHAR) WITH ('connector' = 'arrow-tcp', 'hostname' = '127.0.0.1', \
         'port' = '{port}', 'streams' = '{streams}');"
    )
}

#[test]
fn streams_from_several_pyarrow_clients_are_read_once_each() {
    let py = python();
    let port = free_port();
    let sql = format!("{} SELECT COUNT(*) AS n, SUM(k) AS sk, SUM(v) AS sv, MAX(s) AS ms FROM t;", table(port, 3));
    let run = darwin(&sql, "2");
    let senders = [
        sender(&py, port, 0, 25_000, "k,v,s"),
        sender(&py, port, 25_000, 15_000, "extra,s,v,k"),
        sender(&py, port, 40_000, 0, "s,k,v"),
    ];
    for mut s in senders {
        assert!(s.wait().unwrap().success(), "a sender failed");
    }
    let out = finish(run);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let n: u64 = 40_000;
    let sk = n * (n - 1) / 2;
    let want = format!("{n} | {sk} | {} | s6", 2 * sk);
    assert!(text(&out.stdout).contains(&want), "want {want}, got {}", text(&out.stdout));
    assert!(text(&out.stderr).contains("40000 records read"), "{}", text(&out.stderr));
}

#[test]
fn a_client_that_sends_no_arrow_stream_fails_the_run_with_its_address() {
    let port = free_port();
    let run = darwin(&format!("{} SELECT COUNT(*) FROM t;", table(port, 1)), "1");
    let mut sock = loop {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
        }
    };
    std::io::Write::write_all(&mut sock, b"id,name\n1,not arrow\n").unwrap();
    drop(sock);
    let out = finish(run);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("stream from 127.0.0.1:") && err.contains(&format!("127.0.0.1:{port}")), "{err}");
}

#[test]
fn a_stream_without_a_declared_column_names_it() {
    let py = python();
    let port = free_port();
    let sql = format!(
        "CREATE TABLE t (k BIGINT, missing VARCHAR) WITH ('connector' = 'arrow-tcp', 'port' = '{port}', 'streams' = '1');
         SELECT * FROM t;"
    );
    let run = darwin(&sql, "1");
    let _ = sender(&py, port, 0, 10, "k,v").wait();
    let out = finish(run);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("has no column 'missing' (its columns: k, v)"), "{err}");
}

/// One stream on two workers: the partition no client was dealt ends with the other (it once
/// failed with "the listener stopped" when the listener took its last stream while it waited).
#[test]
fn a_partition_without_a_stream_ends_when_the_streams_do() {
    let py = python();
    for _ in 0..3 {
        let port = free_port();
        let run = darwin(&format!("{} SELECT COUNT(*) AS n FROM t;", table(port, 1)), "2");
        assert!(sender(&py, port, 0, 5000, "k,v,s").wait().unwrap().success());
        let out = finish(run);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("\n5000\n"), "{}", text(&out.stdout));
    }
}

/// With `scan.watermark.idle-timeout`, a partition no client has connected to yet stops holding
/// event time back: windows of the one stream close (and print) while its client still holds
/// the connection open; without the option they wait for the end.
#[test]
fn an_idle_partition_does_not_hold_windows_back() {
    use std::io::BufRead;
    let py = python();
    let dir = std::env::temp_dir().join(format!("darwin-arrow-idle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for idle in [true, false] {
        let port = free_port();
        let option = if idle { ", 'scan.watermark.idle-timeout' = '300 ms'" } else { "" };
        let sql = format!(
            "CREATE TABLE t (k BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'arrow-tcp',
               'port' = '{port}', 'streams' = '2'{option});
             SELECT window_start, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND))
             GROUP BY window_start, window_end;"
        );
        let mut run = darwin(&sql, "2");
        // One client sends 25 seconds of event time, then holds its connection until released.
        let release = dir.join(format!("release-{idle}"));
        let send = r#"
import pyarrow as pa, pyarrow.ipc as ipc, socket, sys, time, os
port, release = int(sys.argv[1]), sys.argv[2]
for _ in range(600):
    try:
        sock = socket.create_connection(("127.0.0.1", port)); break
    except OSError:
        time.sleep(0.05)
schema = pa.schema([("k", pa.int64()), ("ts", pa.timestamp("ms"))])
f = sock.makefile("wb")
w = ipc.new_stream(f, schema)
w.write_batch(pa.record_batch([pa.array(range(26)), pa.array([i * 1000 for i in range(26)], pa.timestamp("ms"))], schema=schema))
f.flush()
while not os.path.exists(release):
    time.sleep(0.05)
w.close(); f.close(); sock.close()
"#;
        let mut a =
            Command::new(&py).args(["-c", send, &port.to_string(), &release.display().to_string()]).spawn().unwrap();
        let stdout = run.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        // While the first client holds on and the second has not connected: with idleness the
        // first window must print (waited for up to 20 s); without, nothing may (watched 3 s).
        let wait = std::time::Duration::from_secs(if idle { 20 } else { 3 });
        let deadline = std::time::Instant::now() + wait;
        let mut early = Vec::new();
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(line) => {
                    let window = line.ends_with("| 10");
                    early.push(line);
                    if window {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        std::fs::write(&release, "").unwrap();
        assert!(a.wait().unwrap().success());
        // The second client connects and sends an empty stream: the source ends.
        assert!(sender(&py, port, 0, 0, "k").wait().unwrap().success());
        let rest: Vec<String> = rx.iter().collect();
        let out = finish(run);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let first = early.iter().any(|l| l.ends_with("| 10"));
        assert_eq!(first, idle, "idle = {idle}: lines before the client let go: {early:?}");
        let all = [early, rest].concat();
        assert_eq!(all.iter().filter(|l| l.ends_with("| 10")).count(), 2, "{all:?}");
        assert!(all.iter().any(|l| l.ends_with("| 6")), "{all:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
