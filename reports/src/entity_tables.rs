//! The per-entity tables of a run (docs/outputs.md): `jobs.csv`, `requests.csv` and `racks.csv`, written from
//! [`output::Tables`]. Same number format as `timeseries.csv`; an absent value is an empty field.

use output::{JobRow, RackRow, RequestTable};

use crate::csvtext::CsvText;

/// File name of the per-job table (runs with jobs).
pub const JOBS_CSV: &str = "jobs.csv";
/// File name of the per-request table (serving runs; sampled above `reporting.requests_csv_max`).
pub const REQUESTS_CSV: &str = "requests.csv";
/// File name of the per-rack table.
pub const RACKS_CSV: &str = "racks.csv";

/// The columns of `jobs.csv`.
pub const JOBS_HEADER: &[&str] = &[
    "id",
    "name",
    "submit_s",
    "start_s",
    "finish_s",
    "wait_s",
    "gpus",
    "servers",
    "gpu_energy_j",
    "preemptions",
    "interruptions",
    "state",
];

/// The columns of `requests.csv`.
pub const REQUESTS_HEADER: &[&str] = &[
    "id",
    "window",
    "arrival_s",
    "ttft_s",
    "tpot_s",
    "e2e_s",
    "queue_wait_s",
    "prompt_tokens",
    "output_tokens",
    "replica",
    "outcome",
];

/// The columns of `racks.csv`.
pub const RACKS_HEADER: &[&str] = &[
    "hall",
    "row",
    "rack",
    "servers",
    "gpus",
    "it_peak_w",
    "it_mean_w",
    "it_energy_j",
    "inlet_peak_c",
    "breaker_trips",
];

/// `jobs.csv`: [`JOBS_HEADER`], then one row per job in submission order.
pub fn jobs_csv(jobs: &[JobRow]) -> String {
    let mut csv = CsvText::new();
    csv.record(JOBS_HEADER);
    for j in jobs {
        csv.num(j.id);
        csv.field(&j.name);
        csv.num(j.submit_s);
        csv.opt(j.start_s);
        csv.opt(j.finish_s);
        csv.opt(j.wait_s);
        csv.num(j.gpus);
        csv.num(j.servers);
        csv.opt(j.gpu_energy_j);
        csv.num(j.preemptions);
        csv.num(j.interruptions);
        csv.field(j.state.map_or("", |s| s.as_str()));
        csv.end();
    }
    csv.finish()
}

/// `requests.csv`: [`REQUESTS_HEADER`], then one row per request kept, in arrival order (long-horizon: window
/// after window).
pub fn requests_csv(t: &RequestTable) -> String {
    let mut csv = CsvText::new();
    csv.record(REQUESTS_HEADER);
    for r in &t.rows {
        csv.num(r.id);
        csv.opt(r.window);
        csv.num(r.arrival_s);
        csv.opt(r.ttft_s);
        csv.opt(r.tpot_s);
        csv.opt(r.e2e_s);
        csv.opt(r.queue_wait_s);
        csv.num(r.prompt_tokens);
        csv.num(r.output_tokens);
        csv.opt(r.replica);
        csv.field(r.outcome.as_str());
        csv.end();
    }
    csv.finish()
}

/// `racks.csv`: [`RACKS_HEADER`], then one row per rack in site order.
pub fn racks_csv(racks: &[RackRow]) -> String {
    let mut csv = CsvText::new();
    csv.record(RACKS_HEADER);
    for r in racks {
        csv.num(r.hall);
        csv.num(r.row);
        csv.num(r.rack);
        csv.num(r.servers);
        csv.num(r.gpus);
        csv.num(r.it_peak_w);
        csv.num(r.it_mean_w);
        csv.num(r.it_energy_j);
        csv.opt(r.inlet_peak_c);
        csv.num(r.breaker_trips);
        csv.end();
    }
    csv.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use output::{JobState, RequestOutcome, RequestRow};

    /// Every row as long as the header; absent values empty; a name with a comma quoted.
    #[test]
    fn tables_have_their_columns() {
        let jobs = [
            JobRow {
                id: 0,
                name: "a,b".into(),
                submit_s: 1.5,
                start_s: Some(2.0),
                finish_s: None,
                wait_s: Some(0.5),
                gpus: 0.5,
                servers: 1,
                state: Some(JobState::Running),
                ..JobRow::default()
            },
            JobRow {
                id: 1,
                state: Some(JobState::Queued),
                ..JobRow::default()
            },
        ];
        assert_eq!(
            jobs_csv(&jobs),
            "id,name,submit_s,start_s,finish_s,wait_s,gpus,servers,gpu_energy_j,preemptions,interruptions,state\n\
             0,\"a,b\",1.5,2,,0.5,0.5,1,,0,0,running\n\
             1,,0,,,,0,0,,0,0,queued\n"
        );
        let t = RequestTable {
            total: 10,
            max: 1,
            rows: vec![RequestRow {
                id: 0,
                window: None,
                arrival_s: 0.25,
                ttft_s: Some(0.1),
                tpot_s: Some(0.02),
                e2e_s: Some(1.0),
                queue_wait_s: Some(0.0),
                prompt_tokens: 100,
                output_tokens: 46,
                replica: Some(3),
                outcome: RequestOutcome::Completed,
            }],
        };
        assert_eq!(
            requests_csv(&t),
            "id,window,arrival_s,ttft_s,tpot_s,e2e_s,queue_wait_s,prompt_tokens,output_tokens,replica,outcome\n\
             0,,0.25,0.1,0.02,1,0,100,46,3,completed\n"
        );
        let racks = [RackRow {
            hall: 0,
            row: 1,
            rack: 2,
            servers: 4,
            gpus: 32,
            it_peak_w: 1000.5,
            it_mean_w: 800.0,
            it_energy_j: 8000.0,
            inlet_peak_c: None,
            breaker_trips: 0,
        }];
        assert_eq!(
            racks_csv(&racks),
            "hall,row,rack,servers,gpus,it_peak_w,it_mean_w,it_energy_j,inlet_peak_c,breaker_trips\n\
             0,1,2,4,32,1000.5,800,8000,,0\n"
        );
    }

    /// Sampling keeps min(total, max) rows, evenly spread, in order, the first one first.
    #[test]
    fn sample_indices_keep_at_most_max() {
        let all: Vec<u64> = output::sample_indices(5, 10).collect();
        assert_eq!(all, [0, 1, 2, 3, 4]);
        let some: Vec<u64> = output::sample_indices(10, 4).collect();
        assert_eq!(some, [0, 2, 5, 7]);
        assert_eq!(output::sample_indices(7, 0).count(), 0);
        let big: Vec<u64> = output::sample_indices(1_000_003, 100_000).collect();
        assert_eq!(big.len(), 100_000);
        assert!(big.windows(2).all(|w| w[0] < w[1]) && *big.last().unwrap() < 1_000_003);
    }
}
