//! Shards of a sweep (`--shard I/N`, or from a Slurm array task or a Kubernetes Indexed Job) and
//! resuming a shard from its file.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Read as _;
use std::path::Path;

use scenario::{InputError, Location};

use crate::error::Error;
use crate::record::{Manifest, check_record, parse_record};

/// `--shard I/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("`--shard {s}`: expected I/N with 0 ≤ I < N, e.g. `--shard 0/4`");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse::<u64>().map_err(|_| bad())?,
            n.trim().parse::<u64>().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// The shard of a Slurm array task (`SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN` of
    /// `SLURM_ARRAY_TASK_COUNT`, or of `shards`) or of a Kubernetes Indexed Job pod
    /// (`JOB_COMPLETION_INDEX` of `shards`).
    pub fn from_env(
        shards: Option<u64>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Shard, String> {
        let num = |name: &str| -> Result<Option<u64>, String> {
            env(name)
                .map(|v| {
                    v.trim().parse::<u64>().map_err(|_| {
                        format!("environment variable {name}=`{v}` is not a whole number")
                    })
                })
                .transpose()
        };
        let (index, count) = if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
            let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let index = id.checked_sub(min).ok_or_else(|| {
                format!("SLURM_ARRAY_TASK_ID {id} is below SLURM_ARRAY_TASK_MIN {min}")
            })?;
            let count = match shards {
                Some(n) => n,
                None => num("SLURM_ARRAY_TASK_COUNT")?.ok_or(
                    "SLURM_ARRAY_TASK_COUNT is not set: give the number of shards with --shards N",
                )?,
            };
            (index, count)
        } else if let Some(index) = num("JOB_COMPLETION_INDEX")? {
            let count = shards.ok_or(
                "JOB_COMPLETION_INDEX is set but Kubernetes does not export the completion count: \
                 give the number of shards with --shards N (the Job's `completions`)",
            )?;
            (index, count)
        } else {
            return Err(
                "--shard-from-env: neither SLURM_ARRAY_TASK_ID (Slurm job array) nor \
                 JOB_COMPLETION_INDEX (Kubernetes Indexed Job) is set"
                    .into(),
            );
        };
        if count == 0 || index >= count {
            return Err(format!(
                "shard index {index} is not below the shard count {count}"
            ));
        }
        Ok(Shard { index, count })
    }

    pub fn file_name(&self) -> String {
        format!("shard-{}-of-{}.jsonl", self.index, self.count)
    }
}

/// Reads an existing shard file: the `k`s already done (with their line numbers). A partial or
/// unreadable *last* line (a kill mid-write) is cut off; any other bad line, or a record of a
/// different sweep, is an input error.
pub(crate) fn resume(path: &Path, manifest: &Manifest) -> Result<BTreeMap<u64, usize>, Error> {
    let mut done = BTreeMap::new();
    let text = match File::open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(done),
        Err(e) => return Err(InputError::file(path, format!("cannot read: {e}")).into()),
        Ok(mut f) => {
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes)
                .map_err(|e| InputError::file(path, format!("cannot read: {e}")))?;
            String::from_utf8_lossy(&bytes).into_owned()
        }
    };
    let mut good_end = 0usize;
    let mut pos = 0usize;
    let mut line_no = 0usize;
    while pos < text.len() {
        line_no += 1;
        let (line, next, complete) = match text[pos..].find('\n') {
            Some(i) => (&text[pos..pos + i], pos + i + 1, true),
            None => (&text[pos..], text.len(), false),
        };
        let is_last = next >= text.len();
        let err = |m: String| Error::At(InputError::new(path, Location::Line(line_no), m));
        match parse_record(line) {
            Ok(rec) if complete => {
                check_record(&rec, manifest).map_err(err)?;
                if done.insert(rec.k, line_no).is_some() {
                    return Err(err(format!("run k={} appears twice", rec.k)));
                }
                good_end = next;
            }
            _ if is_last => break,
            Ok(_) => unreachable!("only the last line can lack its newline"),
            Err(m) => {
                return Err(err(format!(
                    "not a sweep record ({m}); only a partial last line is repaired"
                )));
            }
        }
        pos = next;
    }
    if good_end < text.len() {
        let f = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| Error::Internal(format!("opening {}: {e}", path.display())))?;
        f.set_len(good_end as u64)
            .map_err(|e| Error::Internal(format!("truncating {}: {e}", path.display())))?;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_come_from_the_environment() {
        assert_eq!(Shard::parse("1/3"), Ok(Shard { index: 1, count: 3 }));
        assert!(Shard::parse("3/3").is_err() && Shard::parse("x").is_err());
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |n: &str| {
                vars.iter()
                    .find(|(k, _)| *k == n)
                    .map(|(_, v)| v.to_string())
            }
        };
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "12"),
            ("SLURM_ARRAY_TASK_MIN", "10"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(
            Shard::from_env(None, &slurm),
            Ok(Shard { index: 2, count: 4 })
        );
        let k8s = env(&[("JOB_COMPLETION_INDEX", "3")]);
        assert_eq!(
            Shard::from_env(Some(5), &k8s),
            Ok(Shard { index: 3, count: 5 })
        );
        assert!(Shard::from_env(None, &k8s).is_err());
        assert!(Shard::from_env(Some(3), &k8s).is_err());
        assert!(Shard::from_env(Some(3), &env(&[])).is_err());
    }
}
