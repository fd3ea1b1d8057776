//! Activation as a loop: discover → plan → execute, then discover again so what the new
//! devices hold (a PV on a freshly assembled array, partitions inside a new LV) is found and
//! activated too, until a round creates nothing (bounded). Shared by `activate` and boot.

use crate::engine::{self, Graph, Inputs, Settings};
use crate::exec::{ExecEnv, ExecOptions, ExecReport, Outcome as StepOutcome};
use crate::plan::build::{build, Selection};
use crate::plan::{Plan, Step};
use crate::source::sysfs;
use std::collections::HashMap;
use std::time::Instant;

/// Upper bound on activation rounds: each round must create something to continue, and a stack
/// deeper than this is refused by discovery anyway.
pub const MAX_ROUNDS: usize = engine::MAX_DEPTH;

/// What `activate`/`deactivate` report.
#[derive(Default)]
pub struct Outcome {
    /// Problems discovery found on the devices (bad copies, broken metadata), for the console
    /// as warnings; once, from the first round.
    pub warnings: Vec<String>,
    /// Lines for the console: what was done, skipped, failed.
    pub lines: Vec<String>,
    /// False when any step failed or a named volume was not found.
    pub ok: bool,
    /// The last plan (for reports).
    pub plan: Plan,
    /// Kernel modules the executed steps needed.
    pub modules: Vec<&'static str>,
    /// The last round's discovery: the system as activation left it (before the plan, for a
    /// dry run).
    pub graph: Graph,
}

/// Runs the loop. `first` is the caller's discovery of `inputs` (it found root in it already),
/// used as the first round instead of reading everything again. Before each round's steps run,
/// `load` is handed the kernel modules they need that no earlier round asked for (every
/// step's list: a later round's steps, on devices an earlier round made, may need others);
/// not called in a dry run.
pub fn run(
    inputs: &Inputs,
    settings: &Settings,
    first: Graph,
    sel: &Selection,
    env: &ExecEnv,
    opts: &ExecOptions,
    load: &mut dyn FnMut(&[&'static str]),
) -> Outcome {
    let mut out = Outcome {
        ok: true,
        ..Outcome::default()
    };
    let (problems, warnings) = crate::report::problem_lines(&first);
    out.warnings = problems.into_iter().chain(warnings).collect();
    let mut next = Some(first);
    let mut prev: Option<Graph> = None;
    // Keys of the steps run so far (a set: a round may plan thousands of LVs).
    let mut done_keys: std::collections::HashSet<String> = Default::default();
    // The DM devices made so far, by kernel name: the next discovery need not ask sysfs
    // what the executor already knows of them.
    let mut made: HashMap<String, sysfs::Known> = HashMap::new();
    for round in 0..MAX_ROUNDS {
        let t0 = Instant::now();
        let g = match (next.take(), prev.take()) {
            (Some(g), _) => g,
            (None, Some(p)) => engine::discover_again(inputs, settings.clone(), p, &made),
            (None, None) => engine::discover(inputs, settings.clone()),
        };
        let t1 = Instant::now();
        let plan = build(&g, sel);
        let t2 = Instant::now();
        // Steps we already ran (a dry run creates nothing, so the next round would repeat them).
        let fresh: Vec<_> = plan
            .steps
            .iter()
            .filter(|s| !done_keys.contains(s.key()))
            .cloned()
            .collect();
        if round == 0 {
            for s in &plan.skipped {
                if s.reason.starts_with("no such volume") {
                    out.ok = false;
                }
            }
        }
        if fresh.is_empty() {
            log::debug!(
                "round {round}: discover={:.6} plan={:.6} nothing new",
                (t1 - t0).as_secs_f64(),
                (t2 - t1).as_secs_f64()
            );
            for s in &plan.skipped {
                out.lines
                    .push(format!("skipped {}: {}", s.volume, s.reason));
            }
            for a in &plan.active {
                out.lines.push(format!("active: {a}"));
            }
            out.plan = plan;
            out.graph = g;
            return out;
        }
        let step_plan = Plan {
            steps: fresh.clone(),
            skipped: vec![],
            active: vec![],
        };
        let wanted: Vec<&'static str> = step_plan
            .modules()
            .into_iter()
            .filter(|m| !out.modules.contains(m))
            .collect();
        out.modules.extend(&wanted);
        if !opts.dry_run && !wanted.is_empty() {
            load(&wanted);
        }
        let report = crate::exec::execute(&step_plan, env, opts);
        made.extend(made_dm(&step_plan, &report));
        // For the benchmark: where a round's time goes (the first round's discovery is the
        // caller's, not timed here).
        log::debug!(
            "round {round}: discover={:.6} plan={:.6} execute={:.6} steps={}",
            (t1 - t0).as_secs_f64(),
            (t2 - t1).as_secs_f64(),
            t2.elapsed().as_secs_f64(),
            step_plan.steps.len()
        );
        out.lines
            .extend(report.to_string().lines().map(str::to_string));
        if !report.ok() {
            out.ok = false;
        }
        done_keys.extend(fresh.iter().map(|s| s.key().to_string()));
        if opts.dry_run {
            // Nothing changed in the kernel; what stacks on planned devices is already in this
            // plan (discovery read through them in user space).
            out.plan = plan;
            out.graph = g;
            return out;
        }
        if report.created().count() == 0 {
            out.plan = plan;
            out.graph = g;
            return out;
        }
        prev = Some(g);
    }
    out.lines
        .push(format!("stopped after {MAX_ROUNDS} activation rounds"));
    out.ok = false;
    out.graph = engine::discover(inputs, settings.clone());
    out
}

/// The DM devices `report` says were created by `plan`'s steps, as sysfs would describe them:
/// the table's length is the device's size, the step's name and UUID are the kernel's.
fn made_dm<'a>(
    plan: &'a Plan,
    report: &'a ExecReport,
) -> impl Iterator<Item = (String, sysfs::Known)> + 'a {
    plan.steps
        .iter()
        .zip(&report.steps)
        .filter_map(|(step, r)| {
            let (Step::CreateDm(d), StepOutcome::Created { kernel, devno }) = (step, &r.outcome)
            else {
                return None;
            };
            let sectors = d
                .table
                .iter()
                .map(|t| t.start.saturating_add(t.len))
                .max()
                .unwrap_or(0);
            Some((
                kernel.clone(),
                sysfs::Known {
                    devno: *devno,
                    size: sectors.saturating_mul(512),
                    dm_name: Some(d.name.clone()),
                    dm_uuid: Some(d.uuid.clone()).filter(|u| !u.is_empty()),
                },
            ))
        })
}

/// Deactivates the named volumes (a VG means all its LVs) with everything built on them,
/// top-down; with no names, every DM device and array we manage (LVM-/kpartx UUIDs, md).
pub fn deactivate(
    inputs: &Inputs,
    settings: &Settings,
    env: &ExecEnv,
    volumes: &[String],
) -> Outcome {
    let opts = ExecOptions::default();
    let mut lines = Vec::new();
    let mut ok = true;
    let report = if volumes.is_empty() {
        crate::exec::deactivate_all_ours(env, &opts)
    } else {
        let g = engine::discover(inputs, settings.clone());
        let mut names: Vec<String> = Vec::new();
        for w in volumes {
            let found = crate::plan::build::resolve(&g, w);
            let active: Vec<String> = found
                .iter()
                .filter_map(|&i| g.node(i).kernel.as_ref().map(|k| k.name.clone()))
                .collect();
            if active.is_empty() {
                lines.push(format!("{w}: no such active volume"));
                ok = false;
            }
            names.extend(active);
        }
        crate::exec::deactivate(&names, env, &opts)
    };
    lines.extend(report.to_string().lines().map(str::to_string));
    Outcome {
        lines,
        ok: ok && report.ok(),
        ..Outcome::default()
    }
}
