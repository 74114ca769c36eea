//! `darwin bench` on either executor: plans the benchmark's queries here (the planner is not
//! part of the harness), then runs the harness of `darwin_bench` in this process (interpreted)
//! or inside the compiled benchmark's process.

use crate::{compile, prepare, DarwinError, Mode, Options};
use darwin_bench::child::BenchJob;
use darwin_bench::{check_sql, setup, BenchPlans, BenchReport, Benchmark};
use darwin_codegen::Harness;

pub use darwin_bench::{machine, queries, BenchArgs};

/// Plans a benchmark's queries and runs the harness on `mode`: compiled binaries are cached under `cache`,
/// and `auto` falls back to the interpreter without a toolchain.
pub fn run_bench(args: &BenchArgs, mode: Mode, cache: &std::path::Path) -> Result<BenchReport, DarwinError> {
    let s = setup(args).map_err(DarwinError::Setting)?;
    let opts = Options {
        parallelism: Some(args.parallelism),
        batch_size: args.batch_size,
        executor: mode,
        idle: Some(args.idle),
    };
    let main = compile(&s.sql.replace("${EVENTS}", &args.events.to_string()), &opts)?.physical;
    let check = if args.benchmark == Benchmark::Nexmark {
        let sql = check_sql(&s);
        let parallel = compile(&sql, &opts)?.physical;
        let single = compile(&sql, &Options { parallelism: Some(1), ..opts.clone() })?.physical;
        Some((parallel, single))
    } else {
        None
    };
    let plans = BenchPlans { main, check };
    let mut all = vec![&plans.main];
    if let Some((a, b)) = &plans.check {
        all.extend([a, b]);
    }
    let binary = prepare(&all, Harness::Bench, mode, cache, &mut |m| eprintln!("darwin: {m}"))?;
    let mut args = args.clone();
    let Some(binary) = binary else {
        args.mode = Mode::Interpreted;
        return Ok(darwin_bench::run_bench(&args, &plans, &Default::default())?);
    };
    args.mode = Mode::Compiled;
    let outcome = darwin_exec::child::spawn(&binary, &BenchJob { args, plans: Box::new(plans) }, &mut || None);
    outcome.map_err(DarwinError::Compiled)?.map_err(DarwinError::Compiled)
}
