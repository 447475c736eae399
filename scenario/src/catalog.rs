//! The hardware catalog a scenario draws on: GPU models and server templates, built into the binary or read
//! from a file.
//!
//! The shipped catalog, `scenarios/catalog/gpus.ron`, is embedded ([`BUILTIN_TEXT`]): a scenario that omits
//! `catalog:` (or names [`BUILTIN_NAME`]) uses it, and may name its GPUs (`"H100"`) and its server templates
//! (`"hgx-h100"`, `"hgx-b200"`, …) without any file beside it. A catalog given by path replaces the built-in
//! one (the shipped file is the built-in one, byte for byte); `extra_gpus` adds to or replaces entries of
//! either; a scenario's own `server_templates` win over the catalog's of the same name.

use std::collections::BTreeMap;
use std::path::Path;

use models::catalog::{Catalog, GpuModel};
use serde::{Deserialize, Serialize};

use crate::format::ServerTemplate;

/// The catalog built into the binary: the text of `scenarios/catalog/gpus.ron`.
pub const BUILTIN_TEXT: &str = include_str!("../../scenarios/catalog/gpus.ron");

/// The value of `catalog:` that names the built-in catalog (as does leaving `catalog:` out).
pub const BUILTIN_NAME: &str = "builtin";

/// How errors in the built-in catalog name it (in place of a file path).
pub const BUILTIN_LABEL: &str = "<built-in catalog>";

/// A catalog file: `Catalog(gpus: [GpuModel(...), ...], server_templates: {"name": ServerTemplate(...), ...})`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename = "Catalog", deny_unknown_fields)]
pub struct CatalogFile {
    pub gpus: Vec<GpuModel>,
    /// Server templates a scenario's layout may name without defining them. Default none.
    #[serde(
        default,
        deserialize_with = "crate::format::unique_keys",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub server_templates: BTreeMap<String, ServerTemplate>,
}

impl CatalogFile {
    /// The GPU models alone, as the models see them.
    pub fn gpu_catalog(&self) -> Catalog {
        Catalog {
            gpus: self.gpus.clone(),
        }
    }
}

/// Whether a scenario's `catalog:` names the built-in catalog: left out (empty) or [`BUILTIN_NAME`].
pub fn is_builtin(p: &Path) -> bool {
    p.as_os_str().is_empty() || p == Path::new(BUILTIN_NAME)
}
