//! Where inference replicas go: tensor-parallel groups inside one server each, first fit in site order.

use crate::site::SiteModel;

/// First-fit placement of `replicas` groups of `tp` GPUs, each inside one server of GPU model `model`.
/// Returns the server index of each replica.
pub fn place_replicas(
    site: &SiteModel,
    model: usize,
    tp: u32,
    replicas: u32,
) -> Result<Vec<usize>, String> {
    let mut out = Vec::with_capacity(replicas as usize);
    let mut fitting = 0u64;
    for (i, s) in site.servers.iter().enumerate() {
        if s.gpus == 0 || s.gpu_model != model {
            continue;
        }
        let k = s.gpus / tp;
        fitting += k as u64;
        for _ in 0..k {
            if out.len() < replicas as usize {
                out.push(i);
            }
        }
    }
    if out.len() < replicas as usize {
        return Err(format!(
            "{replicas} replica(s) of tp = {tp} need {replicas} groups of {tp} GPUs inside one server each; the site \
             has room for {fitting}"
        ));
    }
    Ok(out)
}
