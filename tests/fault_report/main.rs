//! Fault-injection report (not a test): runs the Order Service through dependency faults, a
//! Redis outage and a locked database under a steady stream of orders, then three nodes on
//! libSQL through a node, sqld and Redis going away, and audits what was lost. Prints a
//! Markdown table for the README; exits 1 if any loss column is non-zero.
//!
//! Usage: `cargo run --release -p integration-tests --bin fault-report --
//! [--orders-per-scenario 30] [--only <name substring>]` (after `bash scripts/test.sh`, which
//! builds the host and the `.wasm` files). Host logs go to stderr, the report to stdout.

mod audit;
mod multinode;
mod scenario;
mod traffic;

use std::time::Instant;

struct Args {
    orders: usize,
    only: Option<String>,
}

fn args() -> Args {
    let mut args = Args {
        orders: 30,
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match (flag.as_str(), it.next()) {
            ("--orders-per-scenario", Some(v)) if v.parse::<usize>().is_ok_and(|n| n >= 5) => {
                args.orders = v.parse().unwrap_or(30);
            }
            ("--only", Some(v)) => args.only = Some(v),
            _ => {
                eprintln!("usage: fault-report [--orders-per-scenario N (≥ 5)] [--only NAME]");
                std::process::exit(2);
            }
        }
    }
    args
}

fn main() {
    let args = args();
    let started = Instant::now();
    let scenarios: Vec<_> = scenario::all()
        .into_iter()
        .filter(|s| {
            args.only
                .as_ref()
                .is_none_or(|only| s.name.contains(only.as_str()))
        })
        .collect();
    let mut rows = Vec::new();
    let mut losses = Vec::new();
    let mut notes = Vec::new();
    for (index, scenario) in scenarios.iter().enumerate() {
        eprintln!(
            "fault-report: scenario {}/{}: {}",
            index + 1,
            scenarios.len(),
            scenario.name
        );
        let run = scenario::run(scenario, args.orders, index);
        let a = &run.audit;
        let pending = match (a.events_pending, a.events_dead) {
            (0, 0) => "0".to_owned(),
            (p, 0) => format!("{p} pending"),
            (p, d) => format!("{p} pending, {d} dead"),
        };
        rows.push(format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} |",
            scenario.name,
            run.answers,
            a.orders_lost,
            a.events_lost,
            a.double_charges,
            a.kept_money,
            a.stock_held,
            pending,
            run.transitions,
            run.elapsed.as_secs_f64(),
        ));
        if a.orders_lost + a.events_lost + a.double_charges + a.kept_money + a.stock_held > 0 {
            losses.push((scenario.name.clone(), a.details.clone()));
        }
        for note in run.notes {
            notes.push(format!("{}: {note}", scenario.name));
        }
    }

    println!(
        "| scenario | answers by status | orders lost | events lost | double charges | charged, not paid | stock held, not paid | events not yet out | breaker transitions | s |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---|---|---:|");
    for row in &rows {
        println!("{row}");
    }
    println!();
    println!(
        "{} orders per scenario, {} at a time, 503/timeouts retried twice with the same key; {:.0} s in all.",
        args.orders,
        traffic::CONCURRENCY,
        started.elapsed().as_secs_f64()
    );
    notes.dedup();
    for note in &notes {
        println!("- note: {note}");
    }
    if losses.is_empty() {
        return;
    }
    println!();
    println!("## !!! LOSSES FOUND — each is a bug to file !!!");
    for (scenario, details) in &losses {
        println!();
        println!("### {scenario}");
        for detail in details {
            println!("- {detail}");
        }
    }
    std::process::exit(1);
}
