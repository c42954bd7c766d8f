//! What the monitor makes before the runtime's `create`, in order, each step recorded so
//! that [`crate::monitor::teardown`] can undo it after a crash at any point: the overlay
//! rootfs, the network attachment (stored in the record before it is made), the /etc
//! files, the volumes (made and filled from the image on first use), and the bundle's
//! config.json.

use serde_json::json;

use crate::container::image;
use crate::container::record::ContainerRecord;
use crate::container::store::{self, ContainerFiles};
use crate::error::{EngineError, Result};
use crate::network::{self, AttachRequest, Attachment, NetworkMode};
use crate::ocispec::{self, NetworkNamespace, SpecInputs};
use crate::paths::StorePaths;
use crate::rootfs::{self, Overlay};
use crate::volume;

/// Mounts the rootfs, attaches the network, writes /etc files and config.json.
/// `record` is updated (and saved) with the network attachment.
pub fn prepare(paths: &StorePaths, record: &mut ContainerRecord) -> Result<()> {
    let files = ContainerFiles::new(paths, &record.id);
    let image_volumes = image::resolve(paths, &record.image_id)?.volumes();
    let lower = image::lower_dirs(paths, &record.image_id)?;
    let target = files.rootfs();
    rootfs::unmount(&target)?;
    rootfs::mount(
        &Overlay {
            lower: lower.clone(),
            upper: files.upper(),
            work: files.work(),
            volatile: record.host.auto_remove,
        },
        &target,
    )?;

    let user = ocispec::user::resolve(&target, &record.process.user)?;

    let mode = NetworkMode::parse(&record.host.network)
        .map_err(|e| EngineError::Network(e.to_string()))?;
    let ports = record
        .host
        .publish
        .iter()
        .map(|p| network::parse_publish(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| EngineError::Network(e.to_string()))?;
    let request = AttachRequest {
        mode,
        ports,
        container_name: record.name.clone(),
        hostname: record.process.hostname.clone(),
    };
    // Recorded before it is made: a crash in attach leaves what detach needs.
    set_attachment(
        &files,
        record,
        &Attachment::pending(paths, &record.id, &request),
    )?;
    let att = network::attach(paths, &record.id, &request).map_err(|e| {
        EngineError::Network(format!(
            "connecting container {} to its network: {e}",
            record.id
        ))
    })?;
    set_attachment(&files, record, &att)?;
    let etc = network::write_etc_files(paths, &record.id, &att, &record.process.hostname)
        .map_err(|e| EngineError::Network(e.to_string()))?;
    let bind = |dest: &str, src: &std::path::Path| {
        let mut options = vec!["rbind", "rprivate", "nosuid", "noexec", "nodev"];
        if record.host.read_only {
            options.push("ro");
        }
        json!({"destination": dest, "type": "bind", "source": src, "options": options})
    };
    let mut mounts = vec![
        bind("/etc/hosts", &etc.hosts),
        bind("/etc/hostname", &etc.hostname),
        bind("/etc/resolv.conf", &etc.resolv_conf),
    ];
    // Volumes after the /etc files: a `-v` onto one of them wins, as in docker.
    // The container's anonymous volumes from an earlier start are mounted again (docker
    // keeps them across restarts; `rm -v` removes the ones the spec names).
    let volumes = volume::mounts_for_container(
        paths,
        &record.id,
        &record.host.volumes,
        &image_volumes,
        &lower,
    )
    .map_err(|e| {
        EngineError::InvalidArgument(format!("the volumes of container {}: {e}", record.id))
    })?;
    for m in volumes {
        mounts.push(serde_json::to_value(&m).map_err(|e| {
            EngineError::InvalidArgument(format!("serializing a volume mount: {e}"))
        })?);
    }
    let network = match (&att.mode, &att.netns) {
        (NetworkMode::Host, _) => NetworkNamespace::Host,
        (_, Some(path)) => NetworkNamespace::Path(path.clone()),
        (_, None) => NetworkNamespace::New,
    };
    let runtime = crate::oci_runtime::OciRuntime::for_container(paths, record);
    let spec = ocispec::build(&SpecInputs {
        record,
        user,
        network,
        mounts,
        peer_runtime: ocispec::is_peer_runtime(&runtime.bin),
    })?;
    let data = serde_json::to_vec_pretty(&spec)
        .map_err(|e| EngineError::InvalidArgument(format!("serializing the spec: {e}")))?;
    crate::atomic_file::write_bytes(&files.bundle().join("config.json"), &data)
}

fn set_attachment(
    files: &ContainerFiles,
    record: &mut ContainerRecord,
    att: &Attachment,
) -> Result<()> {
    record.network_attachment = Some(
        serde_json::to_value(att)
            .map_err(|e| EngineError::Network(format!("recording the attachment: {e}")))?,
    );
    store::save(files, record)
}
