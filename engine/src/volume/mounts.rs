//! The OCI mounts of a container's `-v` specs: host binds and volumes, volumes made
//! and filled from the image on first use.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Mount;

use crate::paths::StorePaths;
use crate::volume::copyup;
use crate::volume::error::VolumeError;
use crate::volume::spec::{VolumeSource, VolumeSpec, with_image_volumes};
use crate::volume::store::{ANONYMOUS_LABEL, VolumeStore};

/// The spec mounts for `specs`, in order (a later mount over an earlier one's path wins
/// in the container, as the OCI runtime mounts them in order):
/// - a bind of a host path (created as a directory when missing, as docker's `-v`);
/// - a named volume, created on first use; an anonymous one, created with a random
///   name and docker's anonymous label. A volume whose `_data` is empty gets the image's
///   content at the destination first (docker's copy-up; not with `nocopy`), read from
///   `image_lower_dirs` (the image's layers, top first, as berth-images lists them).
///
/// Each mount is `bind` with `rbind` and `ro` or `rw`; a volume's source is
/// `<root>/volumes/<name>/_data`, so [`VolumeStore::remove_anonymous`] can find it.
///
/// Errors: creating a bind source or a volume, copying the image's content.
pub fn mounts_for(
    paths: &StorePaths,
    specs: &[VolumeSpec],
    image_lower_dirs: &[PathBuf],
) -> Result<Vec<Mount>, VolumeError> {
    let store = VolumeStore::open(paths);
    let mut out = Vec::with_capacity(specs.len());
    for spec in specs {
        let source = match &spec.source {
            VolumeSource::Bind(src) => {
                if !src.exists() {
                    fs::create_dir_all(src)
                        .map_err(|e| VolumeError::io("creating bind source", src, e))?;
                }
                src.clone()
            }
            VolumeSource::Named(name) => {
                first_use(&store, Some(name), BTreeMap::new(), spec, image_lower_dirs)?
            }
            VolumeSource::Anonymous => {
                let labels = BTreeMap::from([(ANONYMOUS_LABEL.to_string(), String::new())]);
                first_use(&store, None, labels, spec, image_lower_dirs)?
            }
        };
        out.push(bind_mount(&spec.destination, &source, spec.read_only));
    }
    Ok(out)
}

/// A container's volume mounts from its `-v` flags and its image's `Volumes` (config
/// `Volumes` keys, e.g. `/data`): [`VolumeSpec::parse`] of each flag, an anonymous
/// volume for each image volume not mounted over ([`with_image_volumes`]), then
/// [`mounts_for`] with the image's layers. Every call makes new anonymous volumes: for a
/// container that may be started again, use [`mounts_for_container`]. Validate the flags
/// at create time with [`VolumeSpec::parse`].
///
/// Errors: a flag that does not parse, then [`mounts_for`]'s.
pub fn container_mounts(
    paths: &StorePaths,
    flags: &[String],
    image_volumes: &[String],
    image_lower_dirs: &[PathBuf],
) -> Result<Vec<Mount>, VolumeError> {
    with_previous(paths, &[], flags, image_volumes, image_lower_dirs)
}

/// [`container_mounts`] for container `id`, each time it is prepared: an anonymous
/// volume its previous spec (`bundle/config.json`, from an earlier start) mounted at a
/// destination is mounted there again, as docker keeps a container's anonymous volumes
/// across restarts; only a first start makes new ones.
///
/// Errors: reading the previous spec, then [`container_mounts`]'.
pub fn mounts_for_container(
    paths: &StorePaths,
    id: &str,
    flags: &[String],
    image_volumes: &[String],
    image_lower_dirs: &[PathBuf],
) -> Result<Vec<Mount>, VolumeError> {
    let previous = VolumeStore::open(paths).spec_mounts(id)?;
    with_previous(paths, &previous, flags, image_volumes, image_lower_dirs)
}

fn with_previous(
    paths: &StorePaths,
    previous: &[Mount],
    flags: &[String],
    image_volumes: &[String],
    image_lower_dirs: &[PathBuf],
) -> Result<Vec<Mount>, VolumeError> {
    let store = VolumeStore::open(paths);
    let specs = flags
        .iter()
        .map(|f| VolumeSpec::parse(f))
        .collect::<Result<Vec<_>, _>>()?;
    let mut specs = with_image_volumes(&specs, image_volumes.iter().map(String::as_str))?;
    for spec in specs
        .iter_mut()
        .filter(|s| s.source == VolumeSource::Anonymous)
    {
        let again = previous
            .iter()
            .filter(|m| m.destination() == &spec.destination)
            .filter_map(|m| store.volume_of(m.source().as_deref()?))
            .find(|name| store.inspect(name).is_ok_and(|v| v.is_anonymous()));
        if let Some(name) = again {
            // The volume exists: naming it keeps it (and its anonymous label).
            spec.source = VolumeSource::Named(name);
        }
    }
    mounts_for(paths, &specs, image_lower_dirs)
}

/// Creates the volume if needed and fills it from the image when it is empty, under the
/// volume's lock (two containers starting on one new volume copy once).
fn first_use(
    store: &VolumeStore,
    name: Option<&str>,
    labels: BTreeMap<String, String>,
    spec: &VolumeSpec,
    lower_dirs: &[PathBuf],
) -> Result<PathBuf, VolumeError> {
    let vol = store.create(name, labels)?;
    let data = store.data_dir(&vol.name);
    if !spec.no_copy {
        let _lock = store.lock(&vol.name)?;
        if is_empty_dir(&data)? {
            copyup::populate(&vol.name, &data, lower_dirs, &spec.destination)?;
        }
    }
    Ok(data)
}

fn is_empty_dir(dir: &Path) -> Result<bool, VolumeError> {
    let mut rd = fs::read_dir(dir).map_err(|e| VolumeError::io("reading", dir, e))?;
    Ok(rd.next().is_none())
}

fn bind_mount(destination: &Path, source: &Path, read_only: bool) -> Mount {
    let mut m = Mount::default();
    m.set_destination(destination.to_path_buf());
    m.set_typ(Some("bind".into()));
    m.set_source(Some(source.to_path_buf()));
    m.set_options(Some(vec![
        "rbind".into(),
        if read_only { "ro" } else { "rw" }.into(),
    ]));
    m
}
