//! Scoring throughput, in memory: PHQ-9, SOCRATES-8A, GCQ-S, a mixed batch over the whole catalog,
//! one JSON request end to end, and group statistics for a 12-member poll. `cargo xtask bench` runs
//! these and turns criterion's estimates into the README table.

use std::hint::black_box;
use std::time::Duration;

use attune_core::{score_json, Catalog, Group, Instrument};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::{Map, Value};

/// Deterministic pseudo-random numbers (xorshift), so every run scores the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as usize
    }
}

/// `count` answer sets for `inst`: every item answered with a random option value, and about one
/// set in ten with one item left out, so missing-data rules run too.
fn answer_sets(inst: &Instrument, count: usize, rng: &mut Rng) -> Vec<Map<String, Value>> {
    (0..count)
        .map(|_| {
            let mut m = Map::new();
            let skip = if rng.next() % 10 == 0 { rng.next() % inst.definition().items.len() } else { usize::MAX };
            for (i, item) in inst.definition().items.iter().enumerate() {
                if i != skip {
                    let values = inst.option_values(i);
                    m.insert(item.id.to_string(), Value::from(values[rng.next() % values.len()]));
                }
            }
            m
        })
        .collect()
}

const BATCH: usize = 1024;

fn per_instrument(c: &mut Criterion) {
    let catalog = Catalog::embedded();
    let mut rng = Rng(0x5eed);
    let mut g = c.benchmark_group("score");
    g.throughput(Throughput::Elements(BATCH as u64));
    for id in ["phq9", "socrates8a", "gcqs"] {
        let inst = catalog.get(id).expect("in the catalog");
        let sets = answer_sets(inst, BATCH, &mut rng);
        g.bench_function(id, |b| {
            b.iter(|| {
                for s in &sets {
                    black_box(inst.score(black_box(s), None).expect("valid answers"));
                }
            })
        });
    }
    // Mixed: the batch cycles through every instrument of the catalog.
    let mixed: Vec<(&Instrument, Map<String, Value>)> = (0..BATCH)
        .map(|k| {
            let inst = &catalog.instruments()[k % catalog.instruments().len()];
            (inst, answer_sets(inst, 1, &mut rng).remove(0))
        })
        .collect();
    g.bench_function("mixed", |b| {
        b.iter(|| {
            for (inst, s) in &mixed {
                black_box(inst.score(black_box(s), None).expect("valid answers"));
            }
        })
    });
    // One JSON Lines request end to end: parse, score, serialise.
    let lines: Vec<String> = answer_sets(catalog.get("phq9").expect("phq9"), BATCH, &mut rng)
        .into_iter()
        .map(|a| serde_json::json!({"instrument": "phq9", "answers": a}).to_string())
        .collect();
    let mut out = Vec::with_capacity(256);
    g.bench_function("phq9_json", |b| {
        b.iter(|| {
            for line in &lines {
                out.clear();
                serde_json::to_writer(&mut out, &score_json(catalog, black_box(line))).expect("serialises");
                black_box(&out);
            }
        })
    });
    g.finish();
}

fn group_stats(c: &mut Criterion) {
    let gcqs = Catalog::embedded().get("gcqs").expect("gcqs");
    let members = answer_sets(gcqs, 12, &mut Rng(0xc0ffee));
    let mut g = c.benchmark_group("group");
    g.throughput(Throughput::Elements(1));
    g.bench_function("gcqs_12_members", |b| {
        b.iter(|| {
            let mut group = Group::new(gcqs, 3).expect("min_n 3");
            for m in &members {
                group.add_json(black_box(m)).expect("valid member");
            }
            black_box(group.finish())
        })
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3)).sample_size(30)
}

criterion_group! { name = benches; config = config(); targets = per_instrument, group_stats }
criterion_main!(benches);
