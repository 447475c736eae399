//! The site as shared state: one bevy_ecs entity per server with its power model, its allocation (what runs
//! on it), its GPUs' power limits and its draw; the site-wide index of those entities and of which servers
//! are up.
//!
//! Parts change this state only through the functions here, which keep the draw consistent with the load,
//! the limits and the availability, and which say what changed as a [`Signal`]. They return the change in IT
//! and GPU power, for the caller to book on the [`crate::ledger::Ledger`] once per action (so that the
//! ledger's peak and minimum see the power after the whole action, as one step).

use bevy_ecs::prelude::*;
use models::placement::{MAX_GPUS_PER_SERVER, ServerLoad};
use models::power::{ServerPower, ServerPowerModel};

use crate::kernel::{Emitter, Signal};

const SLOTS: usize = MAX_GPUS_PER_SERVER as usize;

/// Most sources of GPU power limits in one composition (capping controller, thermal throttling, …).
pub const MAX_LIMIT_SOURCES: usize = 4;

/// A source of GPU power limits, registered when the twin is composed ([`Site::limit_source`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitSource(u8);

/// A reason a server can be down (a breaker, the feed, maintenance, a failure), registered when the twin is
/// composed ([`Site::down_cause`]). A server is up when no cause holds it down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DownCause(u8);

/// A server's availability: the down causes holding it down (a bit each); up when none.
#[derive(Component, Debug, Clone, Copy, Default)]
pub struct Availability {
    down: u8,
}

/// Power limits of a server's GPUs, W (DC): one row per source, and the effective limit (the lowest).
/// A GPU draws `min(demand, effective)`.
#[derive(Component, Debug, Clone, Copy)]
pub struct GpuLimits {
    by_source: [[f64; SLOTS]; MAX_LIMIT_SOURCES],
    effective: [f64; SLOTS],
}

impl Default for GpuLimits {
    fn default() -> Self {
        GpuLimits {
            by_source: [[f64::INFINITY; SLOTS]; MAX_LIMIT_SOURCES],
            effective: [f64::INFINITY; SLOTS],
        }
    }
}

impl GpuLimits {
    /// The effective limit of each GPU slot, W (∞: none).
    pub fn effective(&self) -> &[f64; SLOTS] {
        &self.effective
    }
}

/// The site index: server entities by id, and which servers are up.
#[derive(Resource, Debug)]
pub struct Site {
    entities: Vec<Entity>,
    gpus: Vec<u8>,
    /// Per server: the causes holding it down (a bit each); up when 0.
    down: Vec<u8>,
    servers_up: u64,
    gpus_up: u64,
    sources: u8,
    causes: u8,
    /// Servers with a finite effective limit on some GPU (0: nothing limits any GPU, and parts skip their
    /// speed computations).
    limited: u64,
    /// Per server: its rack, numbered among the racks holding servers in site order (as the capping part
    /// numbers them); the ledger meters each rack's power ([`crate::ledger::RackMeter`]).
    rack_of: Vec<u32>,
}

impl Site {
    /// Spawns one entity per server of `site` (idle, up, unlimited) and returns the index.
    pub fn spawn(
        world: &mut World,
        site: &models::site::SiteModel,
        catalog: &models::catalog::Catalog,
    ) -> Self {
        let mut entities = Vec::with_capacity(site.servers.len());
        for s in &site.servers {
            let gpu = &catalog.gpus[s.gpu_model];
            let model = ServerPowerModel::new(gpu, s.gpus, &s.host, s.cpu_milli);
            let mut load = ServerLoad::new(s);
            load.default_activity_milli = (gpu.activity.compute * 1000.0).round() as u16;
            let power = model.power_w(&load);
            entities.push(
                world
                    .spawn((
                        model,
                        load,
                        GpuLimits::default(),
                        Availability::default(),
                        power,
                    ))
                    .id(),
            );
        }
        let gpus: Vec<u8> = site.servers.iter().map(|s| s.gpus as u8).collect();
        let mut rack_of = Vec::with_capacity(site.servers.len());
        let (mut last, mut k) = (None, 0u32);
        for s in &site.servers {
            if last.is_some_and(|l| l != s.rack) {
                k += 1;
            }
            last = Some(s.rack);
            rack_of.push(k);
        }
        Site {
            rack_of,
            down: vec![0; entities.len()],
            servers_up: entities.len() as u64,
            gpus_up: site.gpus_total(),
            gpus,
            entities,
            sources: 0,
            causes: 0,
            limited: 0,
        }
    }

    /// Registers a source of GPU power limits (at composition).
    pub fn limit_source(&mut self) -> LimitSource {
        assert!(
            (self.sources as usize) < MAX_LIMIT_SOURCES,
            "too many limit sources"
        );
        self.sources += 1;
        LimitSource(self.sources - 1)
    }

    /// Registers a reason servers go down (at composition).
    pub fn down_cause(&mut self) -> DownCause {
        assert!(self.causes < 8, "too many down causes");
        self.causes += 1;
        DownCause(self.causes - 1)
    }

    /// Servers in the site.
    pub fn len(&self) -> usize {
        self.entities.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }

    /// The entity of server `id`.
    pub fn entity(&self, id: u32) -> Entity {
        self.entities[id as usize]
    }

    /// Server entities in site order.
    pub fn entities(&self) -> &[Entity] {
        &self.entities
    }

    /// Whether server `id` is up.
    pub fn is_up(&self, id: u32) -> bool {
        self.down[id as usize] == 0
    }

    /// Whether any GPU of the site has a finite power limit now.
    pub fn any_limits(&self) -> bool {
        self.limited > 0
    }

    /// GPUs installed in server `id`.
    pub fn gpus(&self, id: u32) -> u8 {
        self.gpus[id as usize]
    }

    /// Servers up now.
    pub fn servers_up(&self) -> u64 {
        self.servers_up
    }

    /// GPUs in servers up now.
    pub fn gpus_up(&self) -> u64 {
        self.gpus_up
    }

    /// The rack of server `id` (numbered among the racks holding servers, in site order).
    pub fn rack_of(&self, id: u32) -> u32 {
        self.rack_of[id as usize]
    }

    /// Racks holding servers.
    pub fn racks(&self) -> usize {
        self.rack_of.last().map_or(0, |&r| r as usize + 1)
    }
}

/// Notes server `rack`'s change of draw on the ledger (when there is one: parts set servers up before it exists).
fn note_rack(world: &mut World, rack: u32, d_it_w: f64) {
    if d_it_w != 0.0
        && let Some(mut ledger) = world.get_resource_mut::<crate::ledger::Ledger>()
    {
        ledger.bypass_change_detection().note_rack(rack, d_it_w);
    }
}

/// Server `id`'s draw recomputed from its load and effective limits (nothing while it is down); returns
/// (ΔIT, ΔGPU), W.
pub fn refresh_power(world: &mut World, id: u32) -> (f64, f64) {
    let site = world.resource::<Site>();
    let (e, rack) = (site.entity(id), site.rack_of(id));
    let d = refresh_entity(&mut world.entity_mut(e));
    note_rack(world, rack, d.0);
    d
}

/// [`refresh_power`] on a server entity at hand (the hot path: a caller that has just changed its load).
pub fn refresh_entity(em: &mut EntityWorldMut<'_>) -> (f64, f64) {
    let up = em.get::<Availability>().expect("server entity").down == 0;
    let new = if up {
        let model = em.get::<ServerPowerModel>().expect("server entity");
        let load = em.get::<ServerLoad>().expect("server entity");
        let limits = em.get::<GpuLimits>().expect("server entity");
        model.power_capped_w(load, &limits.effective)
    } else {
        ServerPower::default()
    };
    let mut p = em.get_mut::<ServerPower>().expect("server entity");
    let d = (new.input_w - p.input_w, new.gpu_w - p.gpu_w);
    *p = new;
    d
}

/// Fast access to servers for the parts that change their load at every event (the cluster's job starts and
/// finishes, every inference iteration): a cached bevy `QueryState` over the components a server's draw
/// depends on, so a change costs one entity lookup and no type lookups.
pub struct ServerAccess {
    state: QueryState<(
        &'static mut ServerLoad,
        &'static mut ServerPower,
        &'static ServerPowerModel,
        &'static GpuLimits,
        &'static Availability,
    )>,
    models: ModelTable,
    /// Per entity index: its server's rack ([`Site::rack_of`]).
    rack_of_entity: Vec<u32>,
    /// The racks' changes of draw since [`Self::book_racks`]: (rack, ΔIT W). Kept here, not noted on the ledger at
    /// each update, so that the hot path pays one ledger lookup per action, not one per server.
    pending: Vec<(u32, f64)>,
}

/// The servers' power models, deduplicated. A site built from a few server templates has a few distinct
/// models, which stay in cache, where reading each server's own component is one more cache miss per update
/// on a large site (issue #15). Models are never changed after the servers are spawned, so the copies are
/// exact; a server outside the table (a site of more than [`ModelTable::MAX`] distinct models) reads its own.
struct ModelTable {
    distinct: Vec<ServerPowerModel>,
    /// Per entity index: its model's place in `distinct` (`u16::MAX`: read the component).
    of_entity: Vec<u16>,
}

impl ModelTable {
    const MAX: usize = 64;

    fn new(world: &mut World) -> Self {
        let mut table = ModelTable {
            distinct: Vec::new(),
            of_entity: Vec::new(),
        };
        for (e, model) in world.query::<(Entity, &ServerPowerModel)>().iter(world) {
            let class = match table.distinct.iter().position(|m| m == model) {
                Some(k) => k as u16,
                None if table.distinct.len() < Self::MAX => {
                    table.distinct.push(model.clone());
                    (table.distinct.len() - 1) as u16
                }
                None => u16::MAX,
            };
            let i = e.index_u32() as usize;
            if table.of_entity.len() <= i {
                table.of_entity.resize(i + 1, u16::MAX);
            }
            table.of_entity[i] = class;
        }
        table
    }

    /// The shared copy of entity `e`'s model, if it has one.
    fn get(&self, e: Entity) -> Option<&ServerPowerModel> {
        let class = *self.of_entity.get(e.index_u32() as usize)?;
        self.distinct.get(class as usize)
    }
}

impl ServerAccess {
    /// Access to the servers spawned so far (all of them: parts are made after [`Site::spawn`]).
    pub fn new(world: &mut World) -> Self {
        let site = world.resource::<Site>();
        let mut rack_of_entity = Vec::new();
        for (id, e) in site.entities().iter().enumerate() {
            let i = e.index_u32() as usize;
            if rack_of_entity.len() <= i {
                rack_of_entity.resize(i + 1, 0);
            }
            rack_of_entity[i] = site.rack_of(id as u32);
        }
        ServerAccess {
            state: world.query(),
            models: ModelTable::new(world),
            rack_of_entity,
            pending: Vec::new(),
        }
    }

    /// Hands the racks' changes of draw made through [`Self::update`] to the ledger, for the action's
    /// [`crate::ledger::Ledger::add`] to book: every caller of `update` calls this before that `add`.
    pub fn book_racks(&mut self, ledger: &mut crate::ledger::Ledger) {
        for &(rack, d) in &self.pending {
            ledger.note_rack(rack, d);
        }
        self.pending.clear();
    }

    /// Applies `change` to server `e`'s load and recomputes its draw (nothing while it is down); returns
    /// `change`'s result and (ΔIT, ΔGPU), W. The rack's change waits for [`Self::book_racks`].
    ///
    /// On a large site every server touched is a cache miss per component read, so this reads only what the
    /// draw needs: the power model from the shared copies, the GPU limits only when some GPU of the site has
    /// one (∞ caps change nothing), and it writes no change ticks (nothing reads change detection of server
    /// components).
    pub fn update<R>(
        &mut self,
        world: &mut World,
        e: Entity,
        change: impl FnOnce(&mut ServerLoad) -> R,
    ) -> (R, (f64, f64)) {
        let limited = world.resource::<Site>().any_limits();
        let (mut load, mut power, own_model, limits, availability) =
            self.state.get_mut(world, e).expect("server entity");
        let model = self.models.get(e).unwrap_or(own_model);
        let load = load.bypass_change_detection();
        let r = change(load);
        let new = if availability.down != 0 {
            ServerPower::default()
        } else if limited {
            model.power_capped_w(load, &limits.effective)
        } else {
            model.power_w(load)
        };
        let power = power.bypass_change_detection();
        let d = (new.input_w - power.input_w, new.gpu_w - power.gpu_w);
        *power = new;
        if d.0 != 0.0 {
            self.pending
                .push((self.rack_of_entity[e.index_u32() as usize], d.0));
        }
        (r, d)
    }
}

/// Sets source `source`'s limits on server `id`'s GPUs (`caps_w[k]` for slot `k`; ∞: none); when the effective
/// limits change, refreshes the draw and emits [`Signal::LimitsChanged`]. Returns (ΔIT, ΔGPU), W.
pub fn set_limits(
    world: &mut World,
    signals: &mut Emitter<'_>,
    id: u32,
    source: LimitSource,
    caps_w: &[f64],
) -> (f64, f64) {
    let e = world.resource::<Site>().entity(id);
    let mut limits = world.get_mut::<GpuLimits>(e).expect("server entity");
    let row = &mut limits.by_source[source.0 as usize];
    row[..caps_w.len()].copy_from_slice(caps_w);
    let mut effective = [f64::INFINITY; SLOTS];
    for src in &limits.by_source {
        for (x, &c) in effective.iter_mut().zip(src) {
            *x = x.min(c);
        }
    }
    if effective == limits.effective {
        return (0.0, 0.0);
    }
    let finite = |x: &[f64; SLOTS]| x.iter().any(|c| c.is_finite());
    let (was, is) = (finite(&limits.effective), finite(&effective));
    limits.effective = effective;
    if was != is {
        let mut site = world.resource_mut::<Site>();
        if is {
            site.limited += 1;
        } else {
            site.limited -= 1;
        }
    }
    signals.emit(Signal::LimitsChanged { server: id });
    refresh_power(world, id)
}

/// Cause `cause` takes server `id` down: it draws nothing from then on, and [`Signal::ServerDown`] tells the
/// parts to stop their work there (when it was up). Returns (ΔIT, ΔGPU), W.
pub fn take_down(
    world: &mut World,
    signals: &mut Emitter<'_>,
    id: u32,
    cause: DownCause,
) -> (f64, f64) {
    let mut site = world.resource_mut::<Site>();
    let was_up = site.down[id as usize] == 0;
    site.down[id as usize] |= 1 << cause.0;
    let (e, down) = (site.entity(id), site.down[id as usize]);
    world
        .get_mut::<Availability>(e)
        .expect("server entity")
        .down = down;
    if !was_up {
        return (0.0, 0.0);
    }
    let mut site = world.resource_mut::<Site>();
    site.servers_up -= 1;
    site.gpus_up -= site.gpus[id as usize] as u64;
    signals.emit(Signal::ServerDown { server: id });
    refresh_power(world, id)
}

/// Cause `cause` no longer holds server `id` down; when no other cause does, it is back up (drawing what its
/// load implies, normally idle power) and [`Signal::ServerUp`] says so. Returns (ΔIT, ΔGPU), W.
pub fn bring_up(
    world: &mut World,
    signals: &mut Emitter<'_>,
    id: u32,
    cause: DownCause,
) -> (f64, f64) {
    let mut site = world.resource_mut::<Site>();
    if site.down[id as usize] & (1 << cause.0) == 0 {
        return (0.0, 0.0);
    }
    site.down[id as usize] &= !(1 << cause.0);
    let (e, down) = (site.entity(id), site.down[id as usize]);
    world
        .get_mut::<Availability>(e)
        .expect("server entity")
        .down = down;
    if down != 0 {
        return (0.0, 0.0);
    }
    let mut site = world.resource_mut::<Site>();
    site.servers_up += 1;
    site.gpus_up += site.gpus[id as usize] as u64;
    signals.emit(Signal::ServerUp { server: id });
    refresh_power(world, id)
}

/// What the telemetry system recomputes from the server components at each sample (an independent check of
/// the ledger's incrementally kept power).
#[derive(Resource, Debug, Default, Clone, Copy, PartialEq)]
pub struct Telemetry {
    /// Σ server draw at the inlets, W.
    pub server_it_w: f64,
    /// Σ GPU draw, W.
    pub gpu_w: f64,
}

/// The telemetry system: sums every server's draw.
pub fn telemetry_system(servers: Query<&ServerPower>, mut t: ResMut<Telemetry>) {
    let mut acc = Telemetry::default();
    for p in &servers {
        acc.server_it_w += p.input_w;
        acc.gpu_w += p.gpu_w;
    }
    *t = acc;
}
