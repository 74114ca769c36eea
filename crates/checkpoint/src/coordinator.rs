//! The checkpoint coordinator: starts epochs, collects operator state and staged sink output
//! as workers pass barriers, writes each complete checkpoint and then commits its output. Runs
//! on the driver thread, beside the workers (so writing never stops processing).

use crate::error::{CheckpointError, Result};
use crate::lock::PathLock;
use crate::store::{self, Manifest, Previous, SinkCommit, StateBytes, WorkerStates};
use crate::{commit, crash_point, CheckpointConfig, Event, StagedFile};
use darwin_columnar::codec::Encoded;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// What a run resumes from.
#[derive(Debug)]
pub struct Restore {
    /// The epoch of the checkpoint resumed from.
    pub epoch: u64,
    /// The checkpoint's directory.
    pub path: PathBuf,
    /// Whether the checkpoint was taken after every pipeline had ended (the query already ran to completion).
    pub finished: bool,
    /// Per worker, its operators' states by operator id.
    pub workers: Vec<WorkerStates>,
}

/// Checkpointing figures of a run, for the summary and the benchmarks.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct CheckpointStats {
    /// Checkpoints written, the final one included.
    pub taken: u64,
    /// Checkpoints whose writing failed (the previous one stayed valid).
    pub failed: u64,
    /// The epoch of the checkpoint the run resumed from; `None` for a fresh start.
    pub restored_from: Option<u64>,
    /// Time to read, verify and recover the restored checkpoint (before workers start).
    pub restore_time: Duration,
    /// From the start of the run until every worker has restored its operators and runs.
    pub resume_time: Duration,
    /// The epoch of the last checkpoint written; `None` if none was.
    pub last_epoch: Option<u64>,
    /// Bytes of operator state in the last checkpoint written.
    pub last_state_bytes: u64,
    /// From the barrier request to the checkpoint being durable, and the write alone.
    pub max_duration: Duration,
    /// The sum over all checkpoints written of the time from barrier request to durable checkpoint.
    pub total_duration: Duration,
    /// The longest time spent writing one checkpoint's files (state files, manifest, rename).
    pub max_write: Duration,
    /// The longest a worker paused to capture its operators' state for one checkpoint.
    pub max_capture: Duration,
    /// State bytes written over the run, and how many of them were copied unchanged from the
    /// previous checkpoint instead of being captured again.
    pub written_bytes: u64,
    /// Of `written_bytes`, those copied unchanged from the previous checkpoint.
    pub reused_bytes: u64,
}

/// The checkpoint coordinator of a run (see the module docs): the driver feeds it workers' [`Event`]s
/// and calls [`Coordinator::tick`] periodically, then [`Coordinator::finish`] once every pipeline has ended.
pub struct Coordinator {
    cfg: CheckpointConfig,
    fingerprint: String,
    workers: usize,
    pipelines: usize,
    /// The epoch sources are asked to start; they read it between batches.
    pub epochs: Arc<AtomicU64>,
    /// The last complete checkpoint (0: none), whose bytes operators may refer to instead of
    /// encoding unchanged state again, and its states, mapped from its files.
    pub durable: Arc<AtomicU64>,
    prev: Option<Previous>,
    next_epoch: u64,
    in_flight: Option<(u64, Instant)>,
    last: Instant,
    /// States sent at barriers, kept as sent until their checkpoint is written: finishing
    /// their deferred encoding then, once every worker has captured, keeps it from competing
    /// with captures still going on for cores.
    states: BTreeMap<u64, BTreeMap<(usize, usize), Encoded>>,
    /// Capture time per epoch and worker (summed over its operators).
    captures: BTreeMap<u64, BTreeMap<usize, Duration>>,
    finals: BTreeMap<(usize, usize), StateBytes>,
    done: BTreeSet<(usize, usize)>,
    passed: BTreeMap<u64, BTreeSet<(usize, usize)>>,
    /// Staged output not yet committed, tagged with the first epoch whose checkpoint holds it.
    staged: Vec<(u64, StagedFile)>,
    /// Output files and their committed lengths.
    outputs: BTreeMap<PathBuf, u64>,
    /// Checkpointing figures so far.
    pub stats: CheckpointStats,
    /// What the user should hear about (a damaged checkpoint skipped, a checkpoint that
    /// failed), taken by the driver, which reports it: this crate prints nothing.
    notices: Vec<String>,
    /// Outputs registered by this run that no checkpoint has committed to yet.
    fresh: BTreeSet<PathBuf>,
    /// This run owns the directory while the coordinator lives.
    _lock: PathLock,
}

fn plan_change(old: &str, new: &str) -> String {
    let (o, n): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    let k = o.iter().zip(&n).take_while(|(a, b)| a == b).count();
    match (o.get(k), n.get(k)) {
        (None, None) => "the plans read the same but differ in detail".to_string(),
        (a, b) => format!(
            "first difference at plan line {}:\n  was: {}\n  now: {}",
            k + 1,
            a.map_or("(nothing)", |s| s.trim()),
            b.map_or("(nothing)", |s| s.trim())
        ),
    }
}

impl Coordinator {
    /// Opens the checkpoint directory: starts over (`fresh`), or finds the newest valid
    /// checkpoint, checks that it belongs to this plan and brings the sinks' output files to
    /// its committed state.
    pub fn start(
        cfg: CheckpointConfig,
        fingerprint: u64,
        workers: usize,
        pipelines: usize,
    ) -> Result<(Coordinator, Option<Restore>)> {
        let t0 = Instant::now();
        let dir = cfg.dir.clone();
        let mut notices = Vec::new();
        if !dir.exists() {
            notices.push(format!(
                "the checkpoint directory {} does not exist: created it, and the query runs from the start",
                dir.display()
            ));
        }
        std::fs::create_dir_all(&dir).map_err(|e| store::io_err(&dir, e))?;
        let what = format!("the checkpoint directory {}", dir.display());
        let lock = PathLock::acquire(&dir.join(store::LOCK_FILE), &what)?;
        for name in store::scan(&dir)?.1 {
            notices.push(format!("warning: ignoring {name} in {}: not a checkpoint Darwin wrote", dir.display()));
        }
        let fingerprint = format!("{fingerprint:016x}");
        let mut outputs = BTreeMap::new();
        let mut restore = None;
        let mut prev = None;
        if cfg.fresh {
            store::wipe(&dir)?;
        } else {
            let (loaded, warnings) = store::latest(&dir)?;
            for w in warnings {
                notices.push(format!("warning: {w}; falling back to an older checkpoint"));
            }
            if let Some(l) = loaded {
                let m = &l.manifest;
                let name = l.path.display();
                if m.parallelism != workers {
                    return Err(CheckpointError::Parallelism {
                        path: name.to_string(),
                        taken: m.parallelism,
                        now: workers,
                    });
                }
                if m.fingerprint != fingerprint {
                    return Err(CheckpointError::PlanChanged {
                        path: name.to_string(),
                        then: m.fingerprint.clone(),
                        now: fingerprint,
                        change: plan_change(&m.plan, &cfg.plan_text),
                    });
                }
                commit::recover(&m.sinks)?;
                // Newer checkpoints failed verification: remove them, or they would shadow (and,
                // counted by retention, push out) the ones this run writes under the same epochs.
                for (epoch, path) in store::list(&dir)? {
                    if epoch > m.epoch {
                        std::fs::remove_dir_all(&path).map_err(|e| store::io_err(&path, e))?;
                    }
                }
                for s in &m.sinks {
                    outputs.insert(s.target.clone(), s.committed + s.pending.iter().map(|p| p.bytes).sum::<u64>());
                }
                prev = Some(Previous { epoch: m.epoch, workers: l.workers.clone() });
                restore =
                    Some(Restore { epoch: m.epoch, path: l.path.clone(), finished: m.finished, workers: l.workers });
            }
        }
        if let Some(w) = cfg.workdir.as_ref().filter(|_| cfg.fresh || store::recorded_workdir(&dir).is_none()) {
            store::record_workdir(&dir, w)?;
        }
        store::remove_partial(&dir)?;
        let staging = store::staging_dir(&dir);
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(|e| store::io_err(&staging, e))?;
        }
        std::fs::create_dir_all(&staging).map_err(|e| store::io_err(&staging, e))?;
        let start = restore.as_ref().map_or(0, |r| r.epoch);
        // An operator that reports nothing in this run (never pulled again because its consumer
        // had ended) keeps the state it was restored with.
        let mut finals = BTreeMap::new();
        for (w, states) in restore.iter().flat_map(|r| r.workers.iter().enumerate()) {
            for (op, bytes) in states {
                finals.insert((w, *op), bytes.clone());
            }
        }
        let stats = CheckpointStats {
            restored_from: restore.as_ref().map(|r| r.epoch),
            restore_time: t0.elapsed(),
            ..Default::default()
        };
        let c = Coordinator {
            cfg,
            fingerprint,
            workers,
            pipelines,
            epochs: Arc::new(AtomicU64::new(start)),
            durable: Arc::new(AtomicU64::new(start)),
            prev,
            next_epoch: start + 1,
            in_flight: None,
            last: Instant::now(),
            states: BTreeMap::new(),
            captures: BTreeMap::new(),
            finals,
            done: BTreeSet::new(),
            passed: BTreeMap::new(),
            staged: Vec::new(),
            outputs,
            stats,
            notices,
            fresh: BTreeSet::new(),
            _lock: lock,
        };
        Ok((c, restore))
    }

    /// The notices since the last call (see `notices`).
    pub fn take_notices(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notices)
    }

    /// The first epoch of this run (sinks name their staged files by epoch).
    pub fn first_epoch(&self) -> u64 {
        self.next_epoch
    }

    /// The directory where sinks stage their output until its checkpoint commits it.
    pub fn staging_dir(&self) -> PathBuf {
        store::staging_dir(&self.cfg.dir)
    }

    /// Registers a sink's output file. One not committed to by the restored checkpoint holds
    /// no committed output: it is emptied just before the first checkpoint that commits to it,
    /// so a run that fails before that leaves the previous output as it was.
    fn register_output(&mut self, target: PathBuf) -> Result<()> {
        if let std::collections::btree_map::Entry::Vacant(v) = self.outputs.entry(target.clone()) {
            v.insert(0);
            self.fresh.insert(target);
        }
        Ok(())
    }

    /// Empties the outputs no checkpoint has committed to yet (before a manifest records them
    /// with nothing committed, which a recovery would otherwise apply to the old content).
    fn empty_fresh_outputs(&mut self) -> Result<()> {
        while let Some(target) = self.fresh.first().cloned() {
            // A directory sink adds part files: what is there stays (as in Flink).
            if target.is_dir() {
                self.fresh.remove(&target);
                continue;
            }
            let f = std::fs::File::create(&target).map_err(|e| store::io_err(&target, e))?;
            f.sync_all().map_err(|e| store::io_err(&target, e))?;
            self.fresh.remove(&target);
        }
        Ok(())
    }

    /// Records what a worker reported.
    pub fn handle(&mut self, ev: Event) -> Result<()> {
        match ev {
            Event::Output { target } => self.register_output(target)?,
            Event::State { worker, op, epoch: Some(e), bytes, capture } => {
                self.states.entry(e).or_default().insert((worker, op), bytes);
                *self.captures.entry(e).or_default().entry(worker).or_default() += capture;
            }
            Event::State { worker, op, epoch: None, bytes, .. } => {
                self.finals.insert((worker, op), bytes.into());
            }
            Event::Barrier { worker, pipeline, epoch, staged } => {
                self.passed.entry(epoch).or_default().insert((worker, pipeline));
                self.staged.extend(staged.into_iter().map(|s| (epoch, s)));
            }
            Event::Done { worker, pipeline, epoch, staged } => {
                self.done.insert((worker, pipeline));
                self.staged.extend(staged.into_iter().map(|s| (epoch, s)));
            }
        }
        Ok(())
    }

    fn complete(&self, epoch: u64) -> bool {
        let passed = self.passed.get(&epoch);
        (0..self.workers).all(|w| {
            (0..self.pipelines).all(|p| self.done.contains(&(w, p)) || passed.is_some_and(|s| s.contains(&(w, p))))
        })
    }

    /// Starts the next epoch when the interval has passed, and writes a checkpoint once all
    /// workers have passed its barrier.
    pub fn tick(&mut self) -> Result<()> {
        if let Some((e, started)) = self.in_flight {
            if self.complete(e) {
                self.in_flight = None;
                self.take(e, false, started)?;
                self.last = Instant::now();
            }
        } else if self.last.elapsed() >= self.cfg.interval {
            let e = self.next_epoch;
            self.next_epoch += 1;
            self.epochs.store(e, Ordering::Relaxed);
            self.in_flight = Some((e, Instant::now()));
        }
        Ok(())
    }

    /// Starts a checkpoint at once, whatever the interval (the final checkpoint of a stop), and
    /// returns its epoch; if one is already under way, that one.
    pub fn checkpoint_now(&mut self) -> u64 {
        if let Some((e, _)) = self.in_flight {
            return e;
        }
        let e = self.next_epoch;
        self.next_epoch += 1;
        self.epochs.store(e, Ordering::Relaxed);
        self.in_flight = Some((e, Instant::now()));
        e
    }

    /// Whether checkpoint `epoch` has been written (`Some(true)`), failed to be (`Some(false)`:
    /// the previous one stays valid), or is still under way (`None`).
    pub fn settled(&self, epoch: u64) -> Option<bool> {
        if self.in_flight.is_some_and(|(e, _)| e <= epoch) {
            return None;
        }
        Some(self.stats.last_epoch.is_some_and(|last| last >= epoch))
    }

    /// The newest complete checkpoint (this run's or the one it resumed from), if any.
    pub fn durable_epoch(&self) -> Option<u64> {
        self.stats.last_epoch.or(self.stats.restored_from)
    }

    /// Every pipeline has ended: the last checkpoint, which commits the remaining output.
    pub fn finish(&mut self) -> Result<()> {
        let (e, started) = self.in_flight.take().unwrap_or((self.next_epoch, Instant::now()));
        self.take(e, true, started)
    }

    fn take(&mut self, epoch: u64, finished: bool, started: Instant) -> Result<()> {
        let mut now: BTreeMap<(usize, usize), StateBytes> =
            self.states.remove(&epoch).unwrap_or_default().into_iter().map(|(k, v)| (k, v.into())).collect();
        self.states.retain(|e, _| *e > epoch);
        let capture = self.captures.remove(&epoch).and_then(|w| w.into_values().max()).unwrap_or_default();
        self.captures.retain(|e, _| *e > epoch);
        self.passed.retain(|e, _| *e > epoch);
        for (k, v) in &self.finals {
            now.entry(*k).or_insert_with(|| v.clone());
        }
        let mut workers = vec![WorkerStates::new(); self.workers];
        for ((w, op), bytes) in now {
            workers[w].insert(op, bytes);
        }
        let (pending, later): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.staged).into_iter().partition(|(t, _)| *t <= epoch);
        self.staged = later;
        let pending: Vec<StagedFile> = pending.into_iter().map(|(_, s)| s).collect();
        let sinks = self
            .outputs
            .iter()
            .map(|(target, committed)| SinkCommit {
                target: target.clone(),
                committed: *committed,
                pending: pending.iter().filter(|s| s.output() == target.as_path()).cloned().collect(),
            })
            .collect();
        let manifest = Manifest {
            format: store::FORMAT_VERSION,
            darwin_version: env!("CARGO_PKG_VERSION").to_string(),
            epoch,
            fingerprint: self.fingerprint.clone(),
            plan: self.cfg.plan_text.clone(),
            parallelism: self.workers,
            finished,
            created_unix_ms: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            state_bytes: 0,
            files: vec![],
            sinks,
        };
        let t = Instant::now();
        let written = self
            .empty_fresh_outputs()
            .and_then(|()| store::write(&self.cfg.dir, manifest, &workers, self.prev.as_ref()));
        match written {
            Ok(path) => {
                let write = t.elapsed();
                crash_point("before-commit");
                commit::commit(&pending)?;
                for s in &pending {
                    *self.outputs.entry(s.output().to_path_buf()).or_insert(0) += s.bytes;
                }
                // Mapped before older checkpoints go: the next one may copy from this one. If
                // it cannot be mapped, operators go on referring to the previous one (still
                // mapped, even once deleted), or encode everything again.
                match store::map_written(&path, epoch, self.workers) {
                    Ok(p) => {
                        self.prev = Some(p);
                        self.durable.store(epoch, Ordering::Release);
                    }
                    Err(e) => self.notices.push(format!("warning: checkpoint {epoch} written but not mapped ({e})")),
                }
                store::retain(&self.cfg.dir, self.cfg.retained)?;
                let st = &mut self.stats;
                st.taken += 1;
                st.last_epoch = Some(epoch);
                st.last_state_bytes = workers.iter().flat_map(|w| w.values()).map(StateBytes::len).sum();
                st.written_bytes += st.last_state_bytes;
                st.reused_bytes += workers.iter().flat_map(|w| w.values()).map(StateBytes::reused).sum::<u64>();
                st.max_write = st.max_write.max(write);
                st.max_capture = st.max_capture.max(capture);
                st.max_duration = st.max_duration.max(started.elapsed());
                st.total_duration += started.elapsed();
                Ok(())
            }
            Err(e) => {
                self.stats.failed += 1;
                let _ = store::remove_partial(&self.cfg.dir);
                // The output stays staged; the next checkpoint commits it.
                let mut back: Vec<(u64, StagedFile)> = pending.into_iter().map(|s| (epoch, s)).collect();
                back.append(&mut self.staged);
                self.staged = back;
                if finished {
                    return Err(CheckpointError::FinalNotWritten { cause: Box::new(e) });
                }
                self.notices
                    .push(format!("warning: checkpoint {epoch} failed ({e}); the previous checkpoint stays valid"));
                Ok(())
            }
        }
    }
}
