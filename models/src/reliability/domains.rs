//! Failure domains from the site's own structure: which servers one failed unit takes down. A GPU, HBM or
//! link unit takes its server; a host its server; a leaf switch every server with a GPU attached to it (with
//! a fabric, its topology's leaf mapping; without, one top-of-rack leaf per rack); a PDU or power shelf its
//! rack. Correlation between servers comes only from these shared units.

use crate::site::SiteModel;

use super::config::Scope;

/// Units of each scope and the servers each unit's failure takes down.
#[derive(Debug, Clone)]
pub struct Domains {
    /// `0..servers`: the one-server domains are slices of it.
    ids: Vec<u32>,
    /// Per GPU (site order): its server.
    gpu_server: Vec<u32>,
    /// Per leaf and per rack: its servers, ascending.
    leaves: Vec<Vec<u32>>,
    racks: Vec<Vec<u32>>,
    /// Spine switches of the fabric (0 without one).
    spines: u32,
}

impl Domains {
    /// The domains of `site`; `leaf_of_gpu` is the fabric's leaf of every GPU in site order (None: a leaf per
    /// rack); `spines` the fabric's spine switches (0 without a fabric).
    pub fn new(site: &SiteModel, leaf_of_gpu: Option<&[u32]>, spines: u32) -> Domains {
        let n = site.servers.len();
        let mut gpu_server = Vec::with_capacity(site.gpus_total() as usize);
        for (s, spec) in site.servers.iter().enumerate() {
            gpu_server.extend(std::iter::repeat_n(s as u32, spec.gpus as usize));
        }
        let mut racks = vec![Vec::new(); site.racks as usize];
        for (s, spec) in site.servers.iter().enumerate() {
            racks[spec.rack as usize].push(s as u32);
        }
        let leaves = match leaf_of_gpu {
            Some(leaf) => {
                let count = leaf.iter().copied().max().map_or(0, |m| m as usize + 1);
                let mut leaves = vec![Vec::new(); count];
                for (g, &l) in leaf.iter().enumerate() {
                    let s = gpu_server[g];
                    let v: &mut Vec<u32> = &mut leaves[l as usize];
                    if v.last() != Some(&s) {
                        v.push(s);
                    }
                }
                for v in &mut leaves {
                    v.sort_unstable();
                    v.dedup();
                }
                leaves
            }
            None => racks.clone(),
        };
        Domains {
            ids: (0..n as u32).collect(),
            gpu_server,
            leaves,
            racks,
            spines,
        }
    }

    /// Units of `scope` in the site.
    pub fn units(&self, scope: Scope) -> u32 {
        (match scope {
            Scope::Gpu => self.gpu_server.len(),
            Scope::Server => self.ids.len(),
            Scope::Leaf => self.leaves.len(),
            Scope::Rack => self.racks.len(),
            Scope::Spine => self.spines as usize,
        }) as u32
    }

    /// The servers a failure of `unit` of `scope` takes down (`unit < units(scope)`).
    pub fn servers(&self, scope: Scope, unit: u32) -> &[u32] {
        let u = unit as usize;
        match scope {
            Scope::Gpu => {
                let s = self.gpu_server[u] as usize;
                &self.ids[s..s + 1]
            }
            Scope::Server => &self.ids[u..u + 1],
            Scope::Leaf => &self.leaves[u],
            Scope::Rack => &self.racks[u],
            Scope::Spine => &[],
        }
    }
}
