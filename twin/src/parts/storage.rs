//! The storage part: the shared storage system checkpoints are written to and restarts read from (`storage`
//! in a scenario; docs/models.md §Storage and checkpoint size). It owns the transfers in flight: a job's
//! checkpoint write or load starts with [`Signal::IoStart`], is limited by the job's servers' links and shares
//! the aggregate bandwidth of its direction max-min fair with the other transfers, and ends with
//! [`Signal::IoDone`] (or is cancelled by [`Signal::IoCancel`]). Rates are recomputed whenever a transfer
//! starts, ends or is cancelled. The system draws its power for the whole run, counted in IT power.

use bevy_ecs::world::World;
use models::storage::{StorageConfig, max_min_rates};
use output::{StorageSummary, Summary};
use scenario::LoadedScenario;
use sim::{SimDuration, SimTime};

use crate::kernel::{Code, Ctx, EventCode, FactorId, Interests, IoId, Part, Signal};
use crate::ledger::Ledger;
use crate::work::WorkId;

/// The next transfer ends (if the rates are still those of `generation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Next {
    generation: u32,
}

impl EventCode for Next {
    fn encode(self) -> Code {
        Code {
            tag: 0,
            a: self.generation,
            b: 0,
        }
    }
    fn decode(c: Code) -> Self {
        Next { generation: c.a }
    }
}

/// One transfer in flight.
#[derive(Debug, Clone, Copy)]
struct Flow {
    io: IoId,
    write: bool,
    /// Bytes left, its servers' link limit and its current rate, B/s.
    left: f64,
    cap: f64,
    rate: f64,
    start: SimTime,
    /// A stream (a job's dataset; endless): its job, the rate it needs, and the slowdown last announced.
    stream: Option<Stream>,
}

#[derive(Debug, Clone, Copy)]
struct Stream {
    work: WorkId,
    demand: f64,
    factor: f64,
}

/// Totals of one direction.
#[derive(Debug, Default, Clone, Copy)]
struct Direction {
    bytes: f64,
    transfers: u64,
    transfer_s: f64,
    /// Time with at least one transfer, ns; the largest aggregate rate, B/s.
    busy_ns: u128,
    peak_bps: f64,
}

/// The storage system and its transfers.
pub struct Storage {
    cfg: StorageConfig,
    /// The rate factor this part sets on jobs whose dataset stream gets less than it needs.
    factor: FactorId,
    /// Stream bytes read, and stream-seconds starved (rate below demand).
    stream_bytes: f64,
    starved_s: f64,
    flows: Vec<Flow>,
    generation: u32,
    last: SimTime,
    write: Direction,
    read: Direction,
    most_concurrent: u64,
    // Scratch (no allocation per event once warm).
    caps: Vec<f64>,
    rates: Vec<f64>,
    order: Vec<usize>,
    index: Vec<usize>,
}

/// Bytes short of the end that count as done (rounding of times to nanoseconds).
const DONE_BYTES: f64 = 1.0;

impl Storage {
    /// The storage part of `loaded`, if it has a `storage` section.
    pub fn new(loaded: &LoadedScenario, factor: FactorId) -> Option<Self> {
        loaded.scenario.storage.map(|cfg| Storage {
            cfg,
            factor,
            stream_bytes: 0.0,
            starved_s: 0.0,
            flows: Vec::new(),
            generation: 0,
            last: SimTime::ZERO,
            write: Direction::default(),
            read: Direction::default(),
            most_concurrent: 0,
            caps: Vec::new(),
            rates: Vec::new(),
            order: Vec::new(),
            index: Vec::new(),
        })
    }

    /// Books the bytes moved since the last change.
    fn advance(&mut self, now: SimTime) {
        let dt_ns = (now - self.last).as_nanos();
        if dt_ns == 0 {
            return;
        }
        let dt = dt_ns as f64 * 1e-9;
        let (mut any_w, mut any_r) = (false, false);
        for f in &mut self.flows {
            let moved = (f.rate * dt).min(f.left);
            f.left -= moved;
            if let Some(st) = &f.stream {
                self.stream_bytes += moved;
                if f.rate < st.demand * (1.0 - 1e-9) {
                    self.starved_s += dt;
                }
            }
            if f.write {
                self.write.bytes += moved;
                any_w = true;
            } else {
                self.read.bytes += moved;
                any_r = true;
            }
        }
        if any_w {
            self.write.busy_ns += dt_ns as u128;
        }
        if any_r {
            self.read.busy_ns += dt_ns as u128;
        }
        self.last = now;
    }

    /// Max-min rates of each direction's transfers; schedules the next end.
    fn reprice(&mut self, ctx: &mut Ctx<'_, '_>) {
        for write in [true, false] {
            self.caps.clear();
            self.index.clear();
            for (i, f) in self
                .flows
                .iter()
                .enumerate()
                .filter(|(_, f)| f.write == write)
            {
                self.caps.push(f.cap);
                self.index.push(i);
            }
            let pool = if write {
                self.cfg.write_gbs
            } else {
                self.cfg.read_gbs
            } * 1e9;
            max_min_rates(pool, &self.caps, &mut self.rates, &mut self.order);
            let mut total = 0.0;
            for (k, &i) in self.index.iter().enumerate() {
                self.flows[i].rate = self.rates[k];
                total += self.rates[k];
            }
            let d = if write {
                &mut self.write
            } else {
                &mut self.read
            };
            d.peak_bps = d.peak_bps.max(total);
        }
        let transfers = self.flows.iter().filter(|f| f.stream.is_none()).count() as u64;
        self.most_concurrent = self.most_concurrent.max(transfers);
        // A dataset stream short of what it needs slows its job in proportion.
        for f in &mut self.flows {
            if let Some(st) = &mut f.stream {
                let factor = if f.rate > 0.0 {
                    (st.demand / f.rate).max(1.0)
                } else {
                    f64::MAX
                };
                if factor != st.factor {
                    st.factor = factor;
                    ctx.emit(Signal::RateFactor {
                        work: st.work,
                        factor: self.factor,
                        value: factor,
                    });
                }
            }
        }
        self.generation = self.generation.wrapping_add(1);
        let next = self
            .flows
            .iter()
            .filter(|f| f.rate > 0.0)
            .map(|f| (f.left - DONE_BYTES).max(0.0) / f.rate)
            .fold(f64::INFINITY, f64::min);
        if let Some(d) = SimDuration::from_secs_f64((next * 1e9).ceil() * 1e-9) {
            let now = ctx.now();
            ctx.at(
                now.saturating_add(d),
                Next {
                    generation: self.generation,
                },
            );
        }
    }

    /// Ends every transfer that is done, announcing each.
    fn finish_done(&mut self, ctx: &mut Ctx<'_, '_>) {
        let now = ctx.now();
        let mut i = 0;
        while i < self.flows.len() {
            if self.flows[i].left <= DONE_BYTES {
                let f = self.flows.remove(i);
                let d = if f.write {
                    &mut self.write
                } else {
                    &mut self.read
                };
                d.transfers += 1;
                d.transfer_s += (now - f.start).as_secs_f64();
                d.bytes += f.left; // the last byte or so, within the rounding of the end time
                ctx.emit(Signal::IoDone { io: f.io });
            } else {
                i += 1;
            }
        }
    }

    fn start(&mut self, ctx: &mut Ctx<'_, '_>, io: IoId, bytes: f64, write: bool, servers: u32) {
        let now = ctx.now();
        self.advance(now);
        self.flows.push(Flow {
            io,
            write,
            left: bytes.max(0.0),
            cap: servers.max(1) as f64 * self.cfg.server_link_gbs * 1e9,
            rate: 0.0,
            start: now,
            stream: None,
        });
        self.finish_done(ctx);
        self.reprice(ctx);
    }

    fn start_stream(
        &mut self,
        ctx: &mut Ctx<'_, '_>,
        io: IoId,
        work: WorkId,
        demand: f64,
        servers: u32,
    ) {
        let now = ctx.now();
        self.advance(now);
        let link = servers.max(1) as f64 * self.cfg.server_link_gbs * 1e9;
        self.flows.push(Flow {
            io,
            write: false,
            left: f64::INFINITY,
            cap: link.min(demand),
            rate: 0.0,
            start: now,
            stream: Some(Stream {
                work,
                demand,
                factor: 1.0,
            }),
        });
        self.reprice(ctx);
    }
}

impl Part for Storage {
    fn name(&self) -> &'static str {
        "storage"
    }

    fn start(&mut self, ctx: &mut Ctx<'_, '_>) {
        let now = ctx.now();
        if self.cfg.power_w > 0.0 {
            ctx.world
                .resource_mut::<Ledger>()
                .add_other(now, self.cfg.power_w);
        }
    }

    fn interests(&self) -> Interests {
        Interests::IO_START
            .with(Interests::IO_CANCEL)
            .with(Interests::STREAM_START)
    }

    fn handle(&mut self, ctx: &mut Ctx<'_, '_>, code: Code) {
        if Next::decode(code).generation != self.generation {
            return; // repriced since
        }
        let now = ctx.now();
        self.advance(now);
        self.finish_done(ctx);
        self.reprice(ctx);
    }

    fn react(&mut self, ctx: &mut Ctx<'_, '_>, signal: &Signal) {
        match *signal {
            Signal::IoStart {
                io,
                bytes,
                write,
                servers,
            } => self.start(ctx, io, bytes, write, servers),
            Signal::StreamStart {
                io,
                work,
                bytes_per_s,
                servers,
            } => self.start_stream(ctx, io, work, bytes_per_s, servers),
            Signal::IoCancel { io } => {
                if let Some(i) = self.flows.iter().position(|f| f.io == io) {
                    let now = ctx.now();
                    self.advance(now);
                    let f = self.flows.remove(i);
                    // A stream that slowed its job lets it go at full speed again.
                    if let Some(st) = f.stream
                        && st.factor != 1.0
                    {
                        ctx.emit(Signal::RateFactor {
                            work: st.work,
                            factor: self.factor,
                            value: 1.0,
                        });
                    }
                    self.reprice(ctx);
                }
            }
            _ => {}
        }
    }

    fn summarize(&mut self, _world: &mut World, horizon: SimTime, out: &mut Summary) {
        self.advance(horizon);
        let h = horizon.as_secs_f64();
        let util = |d: &Direction, gbs: f64| {
            if h > 0.0 {
                d.bytes / (gbs * 1e9 * h)
            } else {
                0.0
            }
        };
        let mean = |d: &Direction| {
            if d.transfers > 0 {
                d.transfer_s / d.transfers as f64
            } else {
                0.0
            }
        };
        out.storage = Some(StorageSummary {
            write_gbs: self.cfg.write_gbs,
            read_gbs: self.cfg.read_gbs,
            server_link_gbs: self.cfg.server_link_gbs,
            power_w: self.cfg.power_w,
            energy_j: self.cfg.power_w * h,
            bytes_written: self.write.bytes,
            bytes_read: self.read.bytes,
            writes: self.write.transfers,
            reads: self.read.transfers,
            write_mean_s: mean(&self.write),
            read_mean_s: mean(&self.read),
            write_utilization: util(&self.write, self.cfg.write_gbs),
            read_utilization: util(&self.read, self.cfg.read_gbs),
            write_busy_s: self.write.busy_ns as f64 * 1e-9,
            read_busy_s: self.read.busy_ns as f64 * 1e-9,
            write_peak_gbs: self.write.peak_bps * 1e-9,
            read_peak_gbs: self.read.peak_bps * 1e-9,
            most_concurrent: self.most_concurrent,
            dataset_bytes_read: self.stream_bytes,
            dataset_starved_s: self.starved_s,
        });
    }
}
