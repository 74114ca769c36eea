//! `print` (rows to stdout, Flink's `+I[...]` form), the bare-SELECT output, and `blackhole`.
//! Both stdout sinks are at-least-once: rows are visible as soon as they are produced.

use crate::format::text_value;
use darwin_common::Schema;
use darwin_runtime::{Batch, Result, SinkWriter};
use std::io::Write;

/// Writes rows to stdout: Flink's `+I[...]` form for the `print` connector, or a header and
/// ` | `-separated rows for a bare SELECT.
pub struct StdoutSink {
    schema: Schema,
    /// A bare SELECT: a header line, then ` | `-separated rows.
    table: bool,
    header: bool,
    prefix: Option<String>,
    out: std::io::BufWriter<std::io::Stdout>,
}

impl StdoutSink {
    /// `header`: print a bare SELECT's header line and ` | `-separated rows instead of `+I[...]`;
    /// `prefix` (the `print-identifier` option) is put before each `+I[...]` row as `prefix> `.
    pub fn new(schema: Schema, header: bool, prefix: Option<String>) -> Self {
        StdoutSink { schema, table: header, header, prefix, out: std::io::BufWriter::new(std::io::stdout()) }
    }
}

impl SinkWriter for StdoutSink {
    fn write(&mut self, batch: &Batch) -> Result<()> {
        let io = |e| darwin_runtime::RuntimeError::Io { path: "stdout".into(), err: e };
        if self.header {
            self.header = false;
            let names: Vec<&str> = self.schema.fields.iter().map(|f| f.name.as_str()).collect();
            writeln!(self.out, "{}", names.join(" | ")).map_err(io)?;
        }
        let types = self.schema.types();
        for i in 0..batch.num_rows {
            let vals: Vec<String> = batch
                .columns
                .iter()
                .zip(&types)
                .map(|(c, t)| text_value(&c.get(i, *t)).unwrap_or_else(|| "NULL".into()))
                .collect();
            let line = match &self.prefix {
                _ if self.table => vals.join(" | "),
                Some(p) => format!("{p}> +I[{}]", vals.join(", ")),
                None => format!("+I[{}]", vals.join(", ")),
            };
            writeln!(self.out, "{line}").map_err(io)?;
        }
        // Rows show as they come (a streaming query's results would otherwise wait for 8 KiB).
        self.out.flush().map_err(io)
    }

    fn finish(&mut self) -> Result<()> {
        self.out.flush().map_err(|e| darwin_runtime::RuntimeError::Io { path: "stdout".into(), err: e })
    }
}

/// The `blackhole` sink: accepts every row and discards it (for benchmarks).
pub struct Blackhole;

impl SinkWriter for Blackhole {
    fn write(&mut self, _: &Batch) -> Result<()> {
        Ok(())
    }
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}
