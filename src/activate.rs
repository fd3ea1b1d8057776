//! Activation as a loop: discover → plan → execute, then discover again so what the new
//! devices hold (a PV on a freshly assembled array, partitions inside a new LV) is found and
//! activated too, until a round creates nothing (bounded). Shared by `activate` and boot.

use crate::engine::{self, Inputs, Settings};
use crate::exec::{ExecEnv, ExecOptions};
use crate::plan::build::{build, Selection};
use crate::plan::Plan;

/// Upper bound on activation rounds: each round must create something to continue, and a stack
/// deeper than this is refused by discovery anyway.
pub const MAX_ROUNDS: usize = engine::MAX_DEPTH;

/// What `activate`/`deactivate` report.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Lines for the console: what was done, skipped, failed.
    pub lines: Vec<String>,
    /// False when any step failed or a named volume was not found.
    pub ok: bool,
    /// The last plan (for reports).
    pub plan: Plan,
    /// Kernel modules the executed steps needed.
    pub modules: Vec<&'static str>,
}

/// Runs the loop.
pub fn run(
    inputs: &Inputs,
    settings: &Settings,
    sel: &Selection,
    env: &ExecEnv,
    opts: &ExecOptions,
) -> Outcome {
    let mut out = Outcome {
        ok: true,
        ..Outcome::default()
    };
    let mut done_keys: Vec<String> = Vec::new();
    for round in 0..MAX_ROUNDS {
        let g = engine::discover(inputs, settings.clone());
        let (problems, warnings) = crate::report::problem_lines(&g);
        if round == 0 {
            out.lines.extend(
                problems
                    .iter()
                    .chain(warnings.iter())
                    .map(|w| format!("warning: {w}")),
            );
        }
        let plan = build(&g, sel);
        // Steps we already ran (a dry run creates nothing, so the next round would repeat them).
        let fresh: Vec<_> = plan
            .steps
            .iter()
            .filter(|s| !done_keys.iter().any(|k| k == s.key()))
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
            for s in &plan.skipped {
                out.lines
                    .push(format!("skipped {}: {}", s.volume, s.reason));
            }
            for a in &plan.active {
                out.lines.push(format!("active: {a}"));
            }
            out.plan = plan;
            return out;
        }
        let step_plan = Plan {
            steps: fresh.clone(),
            skipped: vec![],
            active: vec![],
        };
        for m in step_plan.modules() {
            if !out.modules.contains(&m) {
                out.modules.push(m);
            }
        }
        let report = crate::exec::execute(&step_plan, env, opts);
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
            return out;
        }
        if report.created().count() == 0 {
            out.plan = plan;
            return out;
        }
    }
    out.lines
        .push(format!("stopped after {MAX_ROUNDS} activation rounds"));
    out.ok = false;
    out
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
