//! Reading `/metrics`: checks the Prometheus text format (0.0.4) while parsing it.

use std::collections::HashSet;

use integration_tests::Host;

/// One sample: metric name, labels, value.
pub(crate) type Sample = (String, Vec<(String, String)>, f64);

/// Parsed exposition: `(name, labels, value)` per sample, after checking the format.
pub(crate) fn scrape(host: &Host) -> Vec<Sample> {
    let answer = host.get("/metrics");
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(
        answer
            .content_type
            .as_deref()
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{answer:?}"
    );
    let mut typed: HashSet<String> = HashSet::new();
    let mut helped: HashSet<String> = HashSet::new();
    let mut samples = Vec::new();
    for line in answer.body.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            helped.insert(rest.split(' ').next().unwrap().to_owned());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let name = parts.next().unwrap().to_owned();
            let kind = parts.next().unwrap();
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            assert!(helped.contains(&name), "TYPE before HELP: {line}");
            typed.insert(name);
        } else {
            let sample = parse_sample(line);
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| sample.0.strip_suffix(s).filter(|f| typed.contains(*f)))
                .unwrap_or(&sample.0)
                .to_owned();
            assert!(typed.contains(&family), "sample without TYPE: {line}");
            samples.push(sample);
        }
    }
    samples
}

/// `name{a="x",b="y"} value`.
fn parse_sample(line: &str) -> Sample {
    let (series, value) = line.rsplit_once(' ').expect("sample has a value");
    let value: f64 = match value {
        "+Inf" => f64::INFINITY,
        v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
    };
    let Some((name, labels)) = series.split_once('{') else {
        return (series.to_owned(), Vec::new(), value);
    };
    let labels = labels.strip_suffix('}').expect("closing brace");
    let labels = labels
        .split("\",")
        .map(|pair| {
            let (k, v) = pair.split_once("=\"").expect("label=\"value\"");
            (k.to_owned(), v.trim_end_matches('"').to_owned())
        })
        .collect();
    (name.to_owned(), labels, value)
}

/// The value of the sample `name` whose labels include all of `want`.
pub(crate) fn value(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(n, labels, _)| {
            n == name
                && want
                    .iter()
                    .all(|(k, v)| labels.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|(_, _, v)| *v)
}
