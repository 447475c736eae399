//! The work registry: what runs on which GPUs now (jobs, inference replicas), shared by every part.
//!
//! A workload part opens an entry when work starts on GPUs and closes it when the work stops; other parts
//! read it when a [`crate::kernel::Signal::WorkStarted`] arrives (the network fabric prices running jobs as
//! placed). Ids are slot + generation: a closed id never matches a later entry.

use bevy_ecs::prelude::Resource;
use models::placement::Grant;

use crate::kernel::event::PartId;

/// A work item's id: unique for the whole run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkId {
    slot: u32,
    generation: u32,
}

impl WorkId {
    /// The id as one integer (for keys that outlive a registry lookup, e.g. a storage transfer's).
    pub fn to_bits(self) -> u64 {
        (self.slot as u64) << 32 | self.generation as u64
    }

    /// The id [`WorkId::to_bits`] gave `bits`.
    pub fn from_bits(bits: u64) -> WorkId {
        WorkId {
            slot: (bits >> 32) as u32,
            generation: bits as u32,
        }
    }
}

/// Distinct servers of `grants` (grouped by server, as work items keep them).
pub fn servers_of(grants: &[Grant]) -> u32 {
    let mut n = 0u32;
    let mut last = None;
    for g in grants {
        if last != Some(g.server) {
            n += 1;
            last = Some(g.server);
        }
    }
    n
}

/// What a work item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WorkKind {
    /// A job of the cluster (its key: the job's id, submission order).
    #[default]
    Job,
    /// The GPUs of an inference replica (its key: the replica slot).
    Replica,
}

/// One running work item.
#[derive(Debug, Default)]
pub struct WorkEntry {
    /// The part that runs it.
    pub owner: Option<PartId>,
    pub kind: WorkKind,
    /// The owner's own id for it (a job's id, a replica's slot).
    pub key: u64,
    /// The owner's handle for it (where it keeps the item), for the owner's use.
    pub handle: u32,
    /// The GPU shares it holds, grouped by server in ascending order.
    pub grants: Vec<Grant>,
    generation: u32,
    live: bool,
}

/// The registry.
#[derive(Resource, Default, Debug)]
pub struct Works {
    entries: Vec<WorkEntry>,
    free: Vec<u32>,
    live: usize,
    /// Per server: the slots of the live entries with grants there (each once); kept only when
    /// [`Works::count_on`] is to be asked ([`Works::counting_servers`]): on a large site each start and stop
    /// would otherwise touch one more list per server, a cache miss each (issue #15).
    on_server: Option<Vec<Vec<u32>>>,
}

impl Works {
    /// A registry that keeps the per-server index [`Works::count_on`] reads (for parts that ask it: failures).
    pub fn counting_servers() -> Self {
        Works {
            on_server: Some(Vec::new()),
            ..Works::default()
        }
    }

    /// Registers work of kind `kind` run by `owner` (its id `key`, its handle `handle`) holding `grants`.
    pub fn open(
        &mut self,
        owner: PartId,
        kind: WorkKind,
        key: u64,
        handle: u32,
        grants: &[Grant],
    ) -> WorkId {
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.entries.push(WorkEntry::default());
                (self.entries.len() - 1) as u32
            }
        };
        let e = &mut self.entries[slot as usize];
        e.owner = Some(owner);
        e.kind = kind;
        e.key = key;
        e.handle = handle;
        e.grants.clear();
        e.grants.extend_from_slice(grants);
        e.live = true;
        self.live += 1;
        if let Some(on_server) = &mut self.on_server {
            let mut last = None;
            for g in grants {
                if last == Some(g.server) {
                    continue;
                }
                last = Some(g.server);
                let s = g.server as usize;
                if on_server.len() <= s {
                    on_server.resize(s + 1, Vec::new());
                }
                if !on_server[s].contains(&slot) {
                    on_server[s].push(slot);
                }
            }
        }
        WorkId {
            slot,
            generation: e.generation,
        }
    }

    /// Unregisters `id` (no-op if it is not live).
    pub fn close(&mut self, id: WorkId) {
        if let Some(e) = self.entries.get_mut(id.slot as usize)
            && e.live
            && e.generation == id.generation
        {
            e.live = false;
            e.generation = e.generation.wrapping_add(1);
            self.free.push(id.slot);
            self.live -= 1;
            if let Some(on_server) = &mut self.on_server {
                let mut last = None;
                for g in &e.grants {
                    if last == Some(g.server) {
                        continue;
                    }
                    last = Some(g.server);
                    if let Some(list) = on_server.get_mut(g.server as usize)
                        && let Some(i) = list.iter().position(|&x| x == id.slot)
                    {
                        list.swap_remove(i);
                    }
                }
            }
        }
    }

    /// The entry of `id`, if it is still running.
    pub fn get(&self, id: WorkId) -> Option<&WorkEntry> {
        self.entries
            .get(id.slot as usize)
            .filter(|e| e.live && e.generation == id.generation)
    }

    /// The running work items, in registry-slot order.
    pub fn iter(&self) -> impl Iterator<Item = &WorkEntry> {
        self.entries.iter().filter(|e| e.live)
    }

    /// How many running work items have grants on any of `servers` (each item counted once). Only a registry
    /// made by [`Works::counting_servers`] keeps what this needs.
    pub fn count_on(&self, servers: &[u32]) -> usize {
        let on_server = self
            .on_server
            .as_ref()
            .expect("a registry made by Works::counting_servers");
        match servers {
            [] => 0,
            [s] => on_server.get(*s as usize).map_or(0, Vec::len),
            _ => {
                let mut slots: Vec<u32> = servers
                    .iter()
                    .filter_map(|&s| on_server.get(s as usize))
                    .flatten()
                    .copied()
                    .collect();
                slots.sort_unstable();
                slots.dedup();
                slots.len()
            }
        }
    }

    /// Running work items.
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }
}
