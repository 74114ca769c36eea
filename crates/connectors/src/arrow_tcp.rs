//! The `arrow-tcp` source: listens on `hostname:port` for clients that send Arrow IPC streams
//! (any Arrow library: pyarrow's `ipc.new_stream` over a socket), one stream per connection.
//! Connection `k` feeds partition `k mod P`; a thread per connection reads and decodes its stream
//! while the workers turn batches into Darwin columns (columns matched by name, types as for
//! Parquet). With `'streams' = 'N'` the source ends once N streams have ended; without it, it
//! runs until stopped. A socket cannot replay: after a restore the source goes on with what
//! clients send next, so delivery is at-least-once only if clients resend, and the docs say so.

use crate::arrow::{column_of, locate};
use arrow_array::RecordBatch;
use arrow_ipc::reader::StreamReader;
use darwin_common::Schema;
use darwin_plan::TableDef;
use darwin_runtime::{Batch, Result, RuntimeError, SourceReader};
use std::collections::HashMap;
use std::io::BufReader;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// How long `next_batch` waits for data before returning an empty batch (so barriers and stops
/// are seen while clients are quiet).
const POLL: Duration = Duration::from_millis(20);

/// Decoded batches a connection may be ahead of the workers (back-pressure on the client).
const QUEUE: usize = 16;

/// What a connection's thread sends its partition.
enum Event {
    Batch { conn: usize, peer: String, rb: RecordBatch },
    End,
    Failed { peer: String, message: String },
}

/// One listener shared by the workers of a run (each opens the source; the first binds).
struct Shared {
    address: String,
    receivers: Vec<Mutex<Receiver<Event>>>,
    /// Connections dealt to each partition so far.
    assigned: Vec<AtomicUsize>,
    /// Whether every stream expected (`streams`) has connected.
    accepted_all: std::sync::atomic::AtomicBool,
}

fn listeners() -> &'static Mutex<HashMap<String, Arc<Shared>>> {
    static L: OnceLock<Mutex<HashMap<String, Arc<Shared>>>> = OnceLock::new();
    L.get_or_init(Default::default)
}

fn conn(message: String) -> RuntimeError {
    RuntimeError::Connector { connector: "arrow-tcp".into(), message }
}

/// Checks an arrow-tcp table's options; the error is a sentence for the user.
pub fn validate(t: &TableDef) -> std::result::Result<(), String> {
    port(t)?;
    streams(t)?;
    if let Some(v) = t.option("scan.watermark.idle-timeout") {
        darwin_common::time::parse_duration(v).map_err(|m| format!("'scan.watermark.idle-timeout': {m}"))?;
    }
    Ok(())
}

fn port(t: &TableDef) -> std::result::Result<u16, String> {
    let p = t.option("port").ok_or("the 'port' option is required")?;
    p.parse().map_err(|_| format!("'port' must be a port number, not '{p}'"))
}

fn streams(t: &TableDef) -> std::result::Result<Option<usize>, String> {
    t.option("streams")
        .map(|s| {
            s.parse().ok().filter(|&n: &usize| n > 0).ok_or(format!("'streams' must be a positive number, not '{s}'"))
        })
        .transpose()
}

/// Reads an arrow-tcp table on one worker (see the module's doc).
pub struct ArrowTcpSource {
    table: String,
    schema: Schema,
    shared: Arc<Shared>,
    ends: Vec<usize>,
    done: Vec<bool>,
    rows: Vec<u64>,
    /// Per connection: where the table's columns are in its stream's schema.
    layouts: HashMap<usize, Vec<usize>>,
    /// Per partition: the rest of a received batch longer than a call could take.
    pending: Vec<Option<(usize, String, RecordBatch)>>,
}

impl ArrowTcpSource {
    /// Binds `hostname:port` (or joins the run's listener if another worker bound it).
    pub fn open(t: &TableDef, partitions: usize) -> Result<ArrowTcpSource> {
        let host = t.option("hostname").unwrap_or("127.0.0.1");
        let address = format!("{host}:{}", port(t).map_err(conn)?);
        let limit = streams(t).map_err(conn)?;
        let key = format!("{address}/{}", t.name);
        let mut all = listeners().lock().map_err(|_| conn("the listener registry is poisoned".into()))?;
        let shared = match all.get(&key) {
            Some(s) if s.receivers.len() == partitions.max(1) => s.clone(),
            _ => {
                let s = listen(&address, partitions.max(1), limit)?;
                all.insert(key, s.clone());
                s
            }
        };
        let n = shared.receivers.len();
        Ok(ArrowTcpSource {
            table: t.name.clone(),
            schema: t.schema.clone(),
            shared,
            ends: vec![0; n],
            done: vec![false; n],
            rows: vec![0; n],
            layouts: HashMap::new(),
            pending: (0..n).map(|_| None).collect(),
        })
    }

    fn layout(&mut self, conn_id: usize, peer: &str, rb: &RecordBatch) -> Result<Vec<usize>> {
        if let Some(l) = self.layouts.get(&conn_id) {
            return Ok(l.clone());
        }
        let l = locate(&self.schema, &rb.schema(), &format!("the stream from {peer}"), "sends")
            .map_err(|m| conn(format!("table '{}': {m}", self.table)))?;
        self.layouts.insert(conn_id, l.clone());
        Ok(l)
    }

    fn convert(&mut self, p: usize, conn_id: usize, peer: &str, rb: &RecordBatch) -> Result<Batch> {
        let layout = self.layout(conn_id, peer, rb)?;
        let mut columns = Vec::with_capacity(layout.len());
        for (f, &i) in self.schema.fields.iter().zip(&layout) {
            let col = column_of(rb.column(i).as_ref(), f.data_type).map_err(|e| RuntimeError::Malformed {
                source_name: format!("table '{}' (stream from {peer})", self.table),
                position: format!(
                    "row {} of the rows partition {p} received",
                    self.rows[p] + e.row.unwrap_or(0) as u64
                ),
                column: f.name.clone(),
                message: e.message,
            })?;
            columns.push(col);
        }
        self.rows[p] += rb.num_rows() as u64;
        Ok(Batch::new(columns, rb.num_rows()))
    }
}

impl ArrowTcpSource {
    /// The first `max_rows` rows of `rb` as a batch, keeping the rest for the next call.
    fn cut(&mut self, p: usize, c: usize, peer: String, rb: RecordBatch, max_rows: usize) -> Result<Batch> {
        let rb = if rb.num_rows() > max_rows {
            let rest = rb.slice(max_rows, rb.num_rows() - max_rows);
            let head = rb.slice(0, max_rows);
            let batch = self.convert(p, c, &peer, &head);
            self.pending[p] = Some((c, peer, rest));
            return batch;
        } else {
            rb
        };
        self.convert(p, c, &peer, &rb)
    }
}

/// Decodes an Arrow IPC stream held in `bytes` into columns of `schema`, as the source does
/// with what a client sends; returns the rows decoded. (For fuzzing the decoder.)
pub fn decode_stream(bytes: &[u8], schema: &Schema) -> std::result::Result<usize, String> {
    let mut reader =
        crate::arrow::guarded(|| StreamReader::try_new(std::io::Cursor::new(bytes), None).map_err(|e| e.to_string()))?;
    let mut rows = 0;
    while let Some(rb) = crate::arrow::guarded(|| reader.next().transpose().map_err(|e| e.to_string()))? {
        let layout = locate(schema, &rb.schema(), "the stream", "sends")?;
        for (f, &i) in schema.fields.iter().zip(&layout) {
            column_of(rb.column(i).as_ref(), f.data_type).map_err(|e| e.message)?;
        }
        rows += rb.num_rows();
    }
    Ok(rows)
}

/// Binds the address and starts accepting connections, each read by its own thread.
fn listen(address: &str, partitions: usize, limit: Option<usize>) -> Result<Arc<Shared>> {
    let listener = TcpListener::bind(address).map_err(|e| conn(format!("cannot listen on {address}: {e}")))?;
    let (senders, receivers): (Vec<SyncSender<Event>>, Vec<_>) =
        (0..partitions).map(|_| sync_channel(QUEUE)).map(|(s, r)| (s, Mutex::new(r))).unzip();
    let shared = Arc::new(Shared {
        address: address.to_string(),
        receivers,
        assigned: (0..partitions).map(|_| AtomicUsize::new(0)).collect(),
        accepted_all: Default::default(),
    });
    let s = shared.clone();
    std::thread::Builder::new()
        .name("arrow-tcp-accept".into())
        .spawn(move || accept(listener, s, senders, limit))
        .map_err(|e| conn(format!("cannot start the listener thread: {e}")))?;
    Ok(shared)
}

fn accept(listener: TcpListener, shared: Arc<Shared>, senders: Vec<SyncSender<Event>>, limit: Option<usize>) {
    let mut k = 0;
    while limit.is_none_or(|n| k < n) {
        let Ok((stream, peer)) = listener.accept() else { continue };
        let p = k % senders.len();
        shared.assigned[p].fetch_add(1, Ordering::SeqCst);
        let tx = senders[p].clone();
        let conn_id = k;
        let _ = std::thread::Builder::new()
            .name(format!("arrow-tcp-{k}"))
            .spawn(move || read_stream(stream, peer.to_string(), conn_id, tx));
        k += 1;
    }
    shared.accepted_all.store(true, Ordering::SeqCst);
}

/// Decodes one connection's stream into its partition's queue, then says it ended (or failed).
fn read_stream(stream: TcpStream, peer: String, conn_id: usize, tx: SyncSender<Event>) {
    let _ = stream.set_nodelay(true);
    let opened = crate::arrow::guarded(|| {
        StreamReader::try_new(BufReader::with_capacity(1 << 20, stream), None)
            .map_err(|e| format!("not an Arrow IPC stream: {e}"))
    });
    let mut reader = match opened {
        Ok(r) => r,
        Err(message) => {
            let _ = tx.send(Event::Failed { peer, message });
            return;
        }
    };
    loop {
        // A panic in the decoder is a failed stream too: the partition must hear of its end.
        let event = match crate::arrow::guarded(|| reader.next().transpose().map_err(|e| e.to_string())) {
            Ok(Some(rb)) => Event::Batch { conn: conn_id, peer: peer.clone(), rb },
            Ok(None) => Event::End,
            Err(message) => Event::Failed { peer: peer.clone(), message },
        };
        let last = !matches!(event, Event::Batch { .. });
        if tx.send(event).is_err() || last {
            return;
        }
    }
}

impl SourceReader for ArrowTcpSource {
    fn partitions(&self) -> usize {
        self.shared.receivers.len()
    }

    /// The next decoded batch of partition `p`, an empty batch after a short wait without
    /// data, or None once every stream of a bounded source has ended.
    fn next_batch(&mut self, p: usize, max_rows: usize) -> Result<Option<Batch>> {
        let max_rows = max_rows.max(1);
        if let Some((c, peer, rb)) = self.pending[p].take() {
            return self.cut(p, c, peer, rb, max_rows).map(Some);
        }
        loop {
            if self.done[p] {
                return Ok(None);
            }
            let ended = self.shared.accepted_all.load(Ordering::SeqCst)
                && self.ends[p] == self.shared.assigned[p].load(Ordering::SeqCst);
            let event = {
                let rx = self.shared.receivers[p].lock().map_err(|_| conn("a stream queue is poisoned".into()))?;
                if ended {
                    rx.try_recv().map_err(|_| RecvTimeoutError::Disconnected)
                } else {
                    rx.recv_timeout(POLL)
                }
            };
            match event {
                Ok(Event::Batch { conn: c, peer, rb }) => return self.cut(p, c, peer, rb, max_rows).map(Some),
                Ok(Event::End) => self.ends[p] += 1,
                Ok(Event::Failed { peer, message }) => {
                    return Err(RuntimeError::Malformed {
                        source_name: format!("table '{}' (stream from {peer} to {})", self.table, self.shared.address),
                        position: format!("after {} rows of partition {p}", self.rows[p]),
                        column: "*".into(),
                        message,
                    })
                }
                Err(RecvTimeoutError::Timeout) => return Ok(Some(Batch::empty(&self.schema.types()))),
                Err(RecvTimeoutError::Disconnected) if ended => self.done[p] = true,
                // The listener took its last stream after `ended` was computed: look again.
                Err(RecvTimeoutError::Disconnected) if self.shared.accepted_all.load(Ordering::SeqCst) => {}
                Err(RecvTimeoutError::Disconnected) => return Err(conn("the listener stopped".into())),
            }
        }
    }

    /// Rows received by the partition (a socket cannot be replayed from it).
    fn offset(&self, p: usize) -> u64 {
        self.rows[p]
    }

    /// Takes the restored count as its own and goes on with what clients send next.
    fn seek(&mut self, p: usize, offset: u64) -> Result<()> {
        self.rows[p] = offset;
        Ok(())
    }

    fn describe(&self, p: usize) -> String {
        format!("table '{}' (partition {p} of {})", self.table, self.shared.address)
    }
}
