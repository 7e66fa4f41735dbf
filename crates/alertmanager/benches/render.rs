//! Render throughput of a typical Slack message template (`bench/render/slack.tmpl`, ten
//! alerts from `bench/render/data.json`) with Klaxon's template engine.
//!
//! `cargo bench -p alertmanager --bench render` prints, as the median of 7 runs of at least
//! one second each:
//! - `notification`: one `execute_text_string` of `{{ template "bench.slack.text" . }}`, as
//!   an integration renders a field (the set is cloned and the text parsed every time);
//! - `in-one-text`: the per-call cost inside one text that calls the template 1000 times,
//!   the figure `bench/render_amtool.sh` measures for Alertmanager 0.25 through amtool.

use std::path::Path;
use std::time::{Duration, Instant};

use alertmanager::template::{Templates, data_from_json};

fn median_rate(mut run: impl FnMut() -> usize) -> f64 {
    let mut rates: Vec<f64> = (0..7)
        .map(|_| {
            let started = Instant::now();
            let mut renders = 0;
            while started.elapsed() < Duration::from_secs(1) {
                renders += run();
            }
            renders as f64 / started.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/render");
    let glob = dir.join("slack.tmpl").display().to_string();
    let templates = Templates::from_globs(&[glob]).expect("slack.tmpl parses");
    let json = std::fs::read_to_string(dir.join("data.json")).expect("read data.json");
    let data = data_from_json(&json).expect("data.json decodes").to_value();
    let one = "{{ template \"bench.slack.text\" . }}";
    let many = one.repeat(1000);
    let size = templates.execute_text_string(one, &data).expect("renders").len();

    let notification = median_rate(|| {
        let out = templates.execute_text_string(one, &data).expect("renders");
        std::hint::black_box(out);
        1
    });
    let in_one_text = median_rate(|| {
        let out = templates.execute_text_string(&many, &data).expect("renders");
        std::hint::black_box(out);
        1000
    });
    println!("message: 10 alerts, {size} bytes");
    println!("notification: {notification:.0} renders/s ({:.1} µs/render)", 1e6 / notification);
    println!("in-one-text: {in_one_text:.0} renders/s ({:.1} µs/render)", 1e6 / in_one_text);
}
