//! `darwin bench` on either executor: plans the benchmark's queries here (the planner lives in
//! this crate), then runs the harness of `darwin_exec::bench` in this process (interpreted) or in
//! the compiled query's process.

use crate::{compile, prepare, DarwinError, Mode, Options};
use darwin_exec::bench::{check_sql, setup, BenchPlans, BenchReport};
use darwin_exec::child::{spawn, Job, Outcome};

pub use darwin_exec::bench::{machine, queries, BenchArgs};

pub fn run_bench(args: &BenchArgs, mode: Mode, cache: &std::path::Path) -> Result<BenchReport, DarwinError> {
    let s = setup(args).map_err(DarwinError::Setting)?;
    let opts = Options { parallelism: Some(args.parallelism), batch_size: args.batch_size, executor: mode, idle: None };
    let main = compile(&s.sql.replace("${EVENTS}", &args.events.to_string()), &opts)?.physical;
    let check = if args.benchmark == "nexmark" {
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
    let binary = prepare(&all, mode, cache, &mut |m| eprintln!("darwin: {m}"))?;
    let mut args = args.clone();
    let Some(binary) = binary else {
        args.mode = "interpreted".into();
        return Ok(darwin_exec::bench::run_bench(&args, &plans, &Default::default())?);
    };
    args.mode = "compiled".into();
    match spawn(&binary, &Job::Bench { args, plans: Box::new(plans) }).map_err(DarwinError::Compiled)? {
        Outcome::Bench(r) => Ok(*r),
        Outcome::Failed(m) => Err(DarwinError::Compiled(m)),
        Outcome::Run(_) => Err(DarwinError::Compiled("the compiled query answered a benchmark with a run".into())),
    }
}
