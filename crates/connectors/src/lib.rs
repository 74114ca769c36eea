//! Connectors: the sources and sinks a `CREATE TABLE ... WITH ('connector' = ...)` names, one
//! file each, behind one registry that validates options and opens readers and writers.

// A panic here is a crash on user input: every `expect` states the invariant that rules it out.
#![warn(clippy::expect_used, clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::expect_used, clippy::unwrap_used))]

#[cfg(feature = "arrow")]
pub mod arrow;
#[cfg(feature = "arrow")]
pub mod arrow_tcp;
pub mod filesystem;
pub mod format;
pub mod generators;
pub mod print;
pub mod records;

use darwin_plan::{ConnectorCatalog, SinkTarget, TableDef};
use darwin_runtime::{ConnectorFactory, Result, RuntimeError, SinkContext, SinkWriter, SourceReader};

/// Names of the built-in connectors, as the `connector` option takes them.
pub const CONNECTORS: &[&str] = &["filesystem", "nexmark", "ysb", "arrow-tcp", "print", "blackhole"];

/// The built-in connectors.
#[derive(Debug, Default, Clone, Copy)]
pub struct Registry;

fn allowed(table: &TableDef, keys: &[&str]) -> std::result::Result<(), String> {
    for k in table.options.keys() {
        if !keys.contains(&k.as_str()) {
            let valid = if keys.is_empty() { "none".to_string() } else { keys.join(", ") };
            return Err(format!("unknown option '{k}' for connector '{}'; valid options: {valid}", table.connector));
        }
    }
    Ok(())
}

impl ConnectorCatalog for Registry {
    fn validate(&self, t: &TableDef) -> std::result::Result<(), String> {
        match t.connector.as_str() {
            "filesystem" => {
                allowed(
                    t,
                    &[
                        "path",
                        "format",
                        "csv.header",
                        "csv.ignore-parse-errors",
                        "json.ignore-parse-errors",
                        "source.split-bytes",
                        "parquet.compression",
                        "parquet.row-group-rows",
                        "sink.rolling-policy.file-size",
                        "sink.rolling-policy.rollover-interval",
                    ],
                )?;
                filesystem::validate(t)
            }
            "nexmark" => {
                allowed(t, &["table", "events", "rate", "base-time"])?;
                generators::validate_nexmark(t)
            }
            "ysb" => {
                allowed(t, &["table", "events", "rate", "seed", "base-time", "layout"])?;
                generators::validate_ysb(t)
            }
            #[cfg(feature = "arrow")]
            "arrow-tcp" => {
                allowed(t, &["hostname", "port", "streams", "scan.watermark.idle-timeout"])?;
                arrow_tcp::validate(t)
            }
            "print" => allowed(t, &["print-identifier"]),
            "blackhole" => allowed(t, &[]),
            other => Err(format!("unknown connector '{other}'; valid connectors: {}", CONNECTORS.join(", "))),
        }
    }

    fn is_bounded(&self, t: &TableDef) -> bool {
        match t.connector.as_str() {
            "filesystem" => true,
            "nexmark" => t.option("events").is_some(),
            "ysb" => t.option("events").is_some() || t.option("table") == Some("campaigns"),
            "arrow-tcp" => t.option("streams").is_some(),
            _ => false,
        }
    }

    fn is_sink(&self, t: &TableDef) -> bool {
        matches!(t.connector.as_str(), "filesystem" | "print" | "blackhole")
    }

    fn finds_columns_by_name(&self, t: &TableDef) -> bool {
        // The generators map each declared column to a generated field by its name, and so
        // does a JSON object.
        matches!(t.connector.as_str(), "nexmark" | "ysb" | "arrow-tcp")
            || (t.connector == "filesystem" && matches!(t.option("format"), Some("json" | "parquet" | "arrow")))
    }

    fn writes_in_parallel(&self, t: &TableDef) -> bool {
        t.connector == "blackhole" || (t.connector == "filesystem" && filesystem::is_directory(t))
    }

    fn skips_by_statistics(&self, t: &TableDef) -> bool {
        t.connector == "filesystem" && t.option("format") == Some("parquet")
    }

    fn reads_by_position(&self, t: &TableDef) -> bool {
        // A partitioned table's files lack the partition columns: it is read unnarrowed.
        t.connector == "filesystem" && t.option("format") == Some("csv") && t.partition_keys.is_empty()
    }

    fn resolve_paths(&self, t: &mut TableDef, base: &std::path::Path) {
        if t.connector == "filesystem" {
            if let Some(p) = t.options.get_mut("path") {
                // A trailing `/` says "a directory" (of part files): it is kept.
                let dir = if p.ends_with('/') { "/" } else { "" };
                *p = format!("{}{dir}", filesystem::absolute(base, p).display());
            }
        }
    }

    fn paths(&self, t: &TableDef) -> Vec<std::path::PathBuf> {
        match (t.connector.as_str(), t.option("path")) {
            ("filesystem", Some(p)) => vec![p.into()],
            _ => Vec::new(),
        }
    }

    fn partitions(&self, t: &TableDef, parallelism: usize) -> usize {
        match t.connector.as_str() {
            "filesystem" => filesystem::partitions(t, parallelism),
            "ysb" if t.option("table") == Some("campaigns") => 1,
            _ => parallelism.max(1),
        }
    }
}

impl ConnectorFactory for Registry {
    fn open_source(&self, t: &TableDef, partitions: usize) -> Result<Box<dyn SourceReader>> {
        match t.connector.as_str() {
            "filesystem" => filesystem::open_source(t, partitions),
            "nexmark" => Ok(Box::new(generators::NexmarkSource::new(t, partitions)?)),
            "ysb" => Ok(Box::new(generators::YsbSource::new(t, partitions)?)),
            #[cfg(feature = "arrow")]
            "arrow-tcp" => Ok(Box::new(arrow_tcp::ArrowTcpSource::open(t, partitions)?)),
            other => Err(RuntimeError::Connector {
                connector: other.into(),
                message: format!("'{other}' cannot be read from (table '{}')", t.name),
            }),
        }
    }

    fn open_sink(&self, target: &SinkTarget, ctx: &SinkContext) -> Result<Box<dyn SinkWriter>> {
        match target {
            SinkTarget::Stdout { schema } => Ok(Box::new(print::StdoutSink::new(schema.clone(), true, None))),
            SinkTarget::Table(t) => match t.connector.as_str() {
                "filesystem" if filesystem::is_directory(t) => Ok(Box::new(filesystem::DirSink::create(t, ctx)?)),
                "filesystem" => Ok(Box::new(filesystem::FileSink::create(t, ctx)?)),
                "print" => Ok(Box::new(print::StdoutSink::new(
                    t.schema.clone(),
                    false,
                    t.option("print-identifier").map(String::from),
                ))),
                "blackhole" => Ok(Box::new(print::Blackhole)),
                other => Err(RuntimeError::Connector {
                    connector: other.into(),
                    message: format!("'{other}' cannot be written to"),
                }),
            },
        }
    }
}
