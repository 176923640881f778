//! The console with 100,000 keys: frame render time while scrolling (120×40 on
//! `TestBackend`), filter time per keystroke, sort time, and memory (RSS).
//!
//! `cargo bench -p keygate-tui --bench render` (release). A plain `main`: it prints a table.
// A benchmark's output is its result.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use keygate_tui::app::{Action, Model, update};
use keygate_tui::fixtures::{self, NOW};
use keygate_tui::screens::keys;
use keygate_tui::theme::Theme;
use keygate_tui::view::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

const PROVIDERS: [&str; 4] = ["local", "aws-prod", "azure-vault", "gcp-ring"];
const KEYS_PER_PROVIDER: usize = 25_000;
const FRAMES: usize = 600;

/// Resident memory in MiB, from /proc/self/statm (pages of 4 KiB).
fn rss_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / (1024.0 * 1024.0)
}

fn stats(mut samples: Vec<Duration>) -> (f64, f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mean = samples.iter().map(|d| ms(*d)).sum::<f64>() / samples.len().max(1) as f64;
    let p99 = samples
        .get(samples.len() * 99 / 100)
        .map_or(0.0, |d| ms(*d));
    let max = samples.last().map_or(0.0, |d| ms(*d));
    (mean, p99, max)
}

fn key(m: &mut Model, code: KeyCode) {
    update(m, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn main() {
    let rss_before = rss_mib();
    let mut model = Model::new(false, Theme::colored(), NOW);
    update(&mut model, Action::Resize(120, 40));
    let ctx = model.ctx();
    let data: Vec<_> = PROVIDERS
        .iter()
        .map(|p| (*p, fixtures::many_keys(p, KEYS_PER_PROVIDER)))
        .collect();
    let started = Instant::now();
    fixtures::load_keys(
        &mut model.keys,
        &ctx,
        &PROVIDERS,
        data.into_iter().map(|(p, k)| (p, Ok(k))).collect(),
    );
    let load = started.elapsed();
    let rss_after = rss_mib();
    assert_eq!(model.keys.len(), PROVIDERS.len() * KEYS_PER_PROVIDER);

    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let mut frames = Vec::with_capacity(FRAMES);
    for i in 0..FRAMES {
        // Scroll: mostly line by line, a page now and then, as a user would.
        key(
            &mut model,
            if i % 10 == 9 {
                KeyCode::PageDown
            } else {
                KeyCode::Down
            },
        );
        let t = Instant::now();
        terminal.draw(|f| view(&model, f)).unwrap();
        frames.push(t.elapsed());
    }
    let (f_mean, f_p99, f_max) = stats(frames);

    println!(
        "keygate console, {} keys across {} providers",
        model.keys.len(),
        PROVIDERS.len()
    );
    println!();
    println!(
        "{:<52} {:>10} {:>10} {:>10}",
        "measure", "mean ms", "p99 ms", "max ms"
    );
    println!(
        "{:<52} {:>10.3} {:>10.3} {:>10.3}",
        format!("render 120x40 frame, scrolling ({FRAMES} frames)"),
        f_mean,
        f_p99,
        f_max
    );

    for filter in [
        "aws-prod-key-0123",
        "state:disabled",
        "label:team=ops spec:rsa",
        "provider:gcp usage:sign",
    ] {
        update(&mut model, Action::Keys(keys::Msg::FilterClear));
        update(&mut model, Action::Keys(keys::Msg::FilterStart));
        let mut per_key = Vec::new();
        for c in filter.chars() {
            let t = Instant::now();
            update(&mut model, Action::Keys(keys::Msg::FilterChar(c)));
            per_key.push(t.elapsed());
        }
        let (mean, p99, max) = stats(per_key);
        println!(
            "{:<52} {:>10.3} {:>10.3} {:>10.3}",
            format!(
                "filter keystroke `{filter}` ({} hits)",
                model.keys.visible_len()
            ),
            mean,
            p99,
            max
        );
    }
    update(&mut model, Action::Keys(keys::Msg::FilterClear));
    let t = Instant::now();
    update(&mut model, Action::Keys(keys::Msg::SortNext));
    let sort = t.elapsed().as_secs_f64() * 1000.0;
    println!("{:<52} {:>10.3}", "sort by the next column (once)", sort);
    println!(
        "{:<52} {:>10.3}",
        "load 4 providers (rows, sort, filter)",
        load.as_secs_f64() * 1000.0
    );
    println!();
    println!(
        "memory: RSS {rss_before:.1} MiB before loading, {rss_after:.1} MiB after ({:.1} MiB for the keys, generated data included)",
        rss_after - rss_before
    );
}
