//! `image inspect`'s JSON, shaped as docker's (`docker image inspect` prints an array of
//! these), so scripts written for docker read berth's.

use serde_json::{Value, json};

use crate::digest::Digest;
use crate::reference::familiar_name;
use crate::store::{Image, ImageStore};

/// docker's inspect object for `image`. `GraphDriver.Data.LowerDir` lists the layer
/// directories top first (as overlayfs takes them), whether or not they are unpacked.
pub fn docker_inspect(store: &ImageStore, image: &Image) -> Value {
    let config = &image.config;
    let c = config.config().as_ref();
    let exposed: Option<Value> = c
        .and_then(|c| c.exposed_ports().as_ref())
        .map(|ports| Value::Object(ports.iter().map(|p| (p.clone(), json!({}))).collect()));
    let volumes: Option<Value> = c
        .and_then(|c| c.volumes().as_ref())
        .map(|vols| Value::Object(vols.iter().map(|v| (v.clone(), json!({}))).collect()));
    let lower: Vec<String> = image
        .chain_ids
        .iter()
        .rev()
        .filter_map(|c| Digest::parse(c).ok())
        .map(|c| store.layers().diff_dir(&c).display().to_string())
        .collect();
    json!({
        "Id": image.id,
        "RepoTags": image.repo_tags.iter().map(|t| familiar_name(t)).collect::<Vec<_>>(),
        "RepoDigests": image.repo_digests.iter().map(|t| familiar_name(t)).collect::<Vec<_>>(),
        "Parent": "",
        "Comment": config.history().as_ref().and_then(|h| h.last()).and_then(|h| h.comment().clone()).unwrap_or_default(),
        "Created": config.created().clone().unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
        "DockerVersion": "",
        "Author": config.author().clone().unwrap_or_default(),
        "Config": {
            "User": c.and_then(|c| c.user().clone()).unwrap_or_default(),
            "ExposedPorts": exposed,
            "Env": c.and_then(|c| c.env().clone()),
            "Cmd": c.and_then(|c| c.cmd().clone()),
            "Entrypoint": c.and_then(|c| c.entrypoint().clone()),
            "Volumes": volumes,
            "WorkingDir": c.and_then(|c| c.working_dir().clone()).unwrap_or_default(),
            "Labels": c.and_then(|c| c.labels().clone()),
            "StopSignal": c.and_then(|c| c.stop_signal().clone()),
        },
        "Architecture": config.architecture().to_string(),
        "Variant": config.variant().clone(),
        "Os": config.os().to_string(),
        "Size": image.size,
        "GraphDriver": {
            "Name": "overlay",
            "Data": { "LowerDir": lower.join(":") },
        },
        "RootFS": {
            "Type": "layers",
            "Layers": config.rootfs().diff_ids(),
        },
        "Metadata": { "LastTagTime": "0001-01-01T00:00:00Z" },
    })
}
