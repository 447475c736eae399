//! Dataset reads of training jobs (docs/models.md §Storage and checkpoint size): while a training job trains it
//! reads its data from the storage system at `tokens/s × dataset_bytes_per_token`, a stream that shares the
//! read bandwidth with checkpoint loads and model loads; the storage part slows the job when the stream gets
//! less than it needs. The stream is open only while the job trains (not while it restarts, loads, writes a
//! checkpoint or waits).

use super::state::Jobs;
use crate::kernel::{Ctx, IoId, Signal};

/// The key bit that tells a job's stream from its checkpoint transfers (both keyed by its work item).
const STREAM_BIT: u64 = 1 << 63;

impl Jobs {
    /// Opens running job `slot`'s dataset stream, if it reads one.
    pub(crate) fn start_stream(&mut self, ctx: &mut Ctx<'_, '_>, slot: u32) {
        let job = self.jobs.get(slot);
        let (Some(bps), Some(work)) = (self.checkpoints.stream(job.id), job.work) else {
            return;
        };
        if job.streaming {
            return;
        }
        let servers = crate::work::servers_of(&job.grants);
        let io = IoId {
            part: ctx.part(),
            key: work.to_bits() | STREAM_BIT,
        };
        self.jobs.get_mut(slot).streaming = true;
        ctx.emit(Signal::StreamStart {
            io,
            work,
            bytes_per_s: bps,
            servers,
        });
    }

    /// Closes running job `slot`'s dataset stream, if open.
    pub(crate) fn stop_stream(&mut self, ctx: &mut Ctx<'_, '_>, slot: u32) {
        let job = self.jobs.get_mut(slot);
        if !job.streaming {
            return;
        }
        job.streaming = false;
        if let Some(work) = job.work {
            ctx.emit(Signal::IoCancel {
                io: IoId {
                    part: ctx.part(),
                    key: work.to_bits() | STREAM_BIT,
                },
            });
        }
    }
}
