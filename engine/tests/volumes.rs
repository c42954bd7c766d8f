//! Volumes as the library the engine calls: `-v` specs to OCI mounts, volumes made and
//! filled from the image's layers on first use (whiteouts applied, symlinks never
//! followed out of the image), kept or removed as docker does (the end-to-end `berth run
//! -v` tests are tests/tests/engine_volumes.rs).

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use berth_engine::StorePaths;
use berth_engine::volume::{
    ANONYMOUS_LABEL, VolumeError, VolumeSpec, VolumeStore, container_mounts, mounts_for,
    mounts_for_container,
};
use berth_testkit::root::require_root;

struct Store {
    dir: tempfile::TempDir,
    paths: StorePaths,
}

impl Store {
    fn new() -> Self {
        let (dir, paths) = common::temp_store();
        Self { dir, paths }
    }

    /// An empty layer directory `layers/<n>/diff`, as berth-images lays them out.
    fn layer(&self, n: &str) -> PathBuf {
        let d = self.paths.root.join("layers").join(n).join("diff");
        fs::create_dir_all(&d).expect("layer dir");
        d
    }

    fn volumes(&self) -> VolumeStore {
        VolumeStore::open(&self.paths)
    }

    /// A container record the way the engine leaves one: its spec's mounts.
    fn container_with(&self, id: &str, mounts: &[oci_spec::runtime::Mount]) {
        let bundle = self.paths.container_dir(id).join("bundle");
        fs::create_dir_all(&bundle).expect("bundle");
        let spec = serde_json::json!({ "ociVersion": "1.2.0", "mounts": mounts });
        fs::write(bundle.join("config.json"), spec.to_string()).expect("config.json");
    }
}

fn write(path: &Path, text: &str) {
    if let Some(p) = path.parent() {
        fs::create_dir_all(p).expect("mkdir");
    }
    fs::write(path, text).expect("write");
}

fn spec(s: &str) -> VolumeSpec {
    VolumeSpec::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .expect("read_dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    v.sort();
    v
}

#[test]
fn a_new_named_volume_gets_the_images_content_with_whiteouts_applied() {
    if !require_root() {
        return;
    }
    let s = Store::new();
    let bottom = s.layer("bottom");
    write(&bottom.join("data/a.txt"), "A");
    write(&bottom.join("data/old.txt"), "removed by the top layer");
    write(&bottom.join("data/sub/deep.txt"), "deep");
    std::os::unix::fs::symlink("/etc/passwd", bottom.join("data/link")).expect("symlink");
    std::os::unix::fs::chown(bottom.join("data/a.txt"), Some(1234), Some(5678)).expect("chown");
    fs::set_permissions(bottom.join("data"), fs::Permissions::from_mode(0o750)).expect("chmod");
    assert!(
        Command::new("mkfifo")
            .arg(bottom.join("data/fifo"))
            .status()
            .expect("mkfifo")
            .success()
    );
    let top = s.layer("top");
    write(&top.join("data/b.txt"), "B");
    // overlayfs's whiteout: a 0:0 character device hides data/old.txt of the layers below.
    assert!(
        Command::new("mknod")
            .args([
                top.join("data/old.txt").to_str().expect("utf8"),
                "c",
                "0",
                "0"
            ])
            .status()
            .expect("mknod")
            .success()
    );
    fs::set_permissions(top.join("data"), fs::Permissions::from_mode(0o750)).expect("chmod");

    let mounts = mounts_for(&s.paths, &[spec("vol1:/data")], &[top, bottom]).expect("mounts");
    let data = s.paths.volumes_dir().join("vol1/_data");
    assert_eq!(mounts.len(), 1);
    assert_eq!(mounts[0].destination(), Path::new("/data"));
    assert_eq!(mounts[0].source().as_deref(), Some(data.as_path()));
    assert_eq!(mounts[0].typ().as_deref(), Some("bind"));
    assert_eq!(
        mounts[0].options().clone().unwrap_or_default(),
        vec!["rbind".to_string(), "rw".to_string()]
    );
    assert_eq!(names(&data), ["a.txt", "b.txt", "fifo", "link", "sub"]);
    assert_eq!(
        fs::read_to_string(data.join("sub/deep.txt")).expect("read"),
        "deep"
    );
    let a = fs::metadata(data.join("a.txt")).expect("stat");
    assert_eq!((a.uid(), a.gid()), (1234, 5678));
    assert_eq!(fs::metadata(&data).expect("stat").mode() & 0o7777, 0o750);
    // The symlink is copied as a symlink, never followed onto the host.
    let link = fs::symlink_metadata(data.join("link")).expect("lstat");
    assert!(link.file_type().is_symlink());
    assert_eq!(
        fs::read_link(data.join("link")).expect("readlink"),
        Path::new("/etc/passwd")
    );
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(
        &fs::symlink_metadata(data.join("fifo"))
            .expect("lstat")
            .file_type()
    ));
    // Nothing of the copy is left: no staging dir, no overlay mount.
    assert_eq!(
        names(&s.paths.volumes_dir().join("vol1")),
        ["_data", "volume.json"]
    );
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(
        !mountinfo.contains(&*s.dir.path().to_string_lossy()),
        "{mountinfo}"
    );
    let v = s.volumes().inspect("vol1").expect("inspect");
    assert_eq!((v.driver.as_str(), v.scope.as_str()), ("local", "local"));
    assert!(!v.is_anonymous());
}

#[test]
fn a_symlink_at_the_destination_resolves_inside_the_image() {
    if !require_root() {
        return;
    }
    let s = Store::new();
    let only = s.layer("only");
    write(&only.join("etc/only-in-image"), "x");
    // Both an absolute and a climbing link point at the image's /etc, not the host's.
    std::os::unix::fs::symlink("/etc", only.join("data")).expect("symlink");
    std::os::unix::fs::symlink("../../../../../../etc", only.join("up")).expect("symlink");
    let mounts = mounts_for(
        &s.paths,
        &[spec("abs:/data"), spec("up:/up")],
        std::slice::from_ref(&only),
    )
    .expect("mounts");
    for m in &mounts {
        let data = m.source().clone().expect("source");
        assert_eq!(names(&data), ["only-in-image"], "{}", data.display());
    }
}

#[test]
fn a_volume_is_filled_once_and_nocopy_leaves_it_empty() {
    if !require_root() {
        return;
    }
    let s = Store::new();
    let layer = s.layer("l");
    write(&layer.join("data/seed"), "seed");
    let layers = [layer];
    mounts_for(&s.paths, &[spec("keep:/data")], &layers).expect("first use");
    let data = s.paths.volumes_dir().join("keep/_data");
    fs::remove_file(data.join("seed")).expect("rm seed");
    write(&data.join("mine"), "written by a container");
    mounts_for(&s.paths, &[spec("keep:/data")], &layers).expect("second use");
    assert_eq!(names(&data), ["mine"]);
    mounts_for(&s.paths, &[spec("bare:/data:nocopy")], &layers).expect("nocopy");
    assert!(names(&s.paths.volumes_dir().join("bare/_data")).is_empty());
    // Nothing at the destination in the image: an empty volume, no error.
    mounts_for(&s.paths, &[spec("nothing:/absent")], &layers).expect("absent dest");
    assert!(names(&s.paths.volumes_dir().join("nothing/_data")).is_empty());
}

#[test]
fn a_volume_already_mounted_empty_is_filled_in_place() {
    if !require_root() {
        return;
    }
    let s = Store::new();
    // A first container mounted the volume where its image has nothing: still empty.
    mounts_for(&s.paths, &[spec("shared:/absent")], &[]).expect("first use");
    let data = s.paths.volumes_dir().join("shared/_data");
    // Its bind mount pins the directory's inode, as this open directory does.
    let held = fs::File::open(&data).expect("open _data");
    let layer = s.layer("l");
    write(&layer.join("etc/conf"), "from the image");
    fs::set_permissions(layer.join("etc"), fs::Permissions::from_mode(0o751)).expect("chmod");
    mounts_for(&s.paths, &[spec("shared:/etc")], &[layer]).expect("second use");
    let md = held.metadata().expect("held");
    assert_eq!(md.ino(), fs::metadata(&data).expect("_data").ino());
    assert!(
        md.nlink() > 0,
        "the first container's directory was unlinked"
    );
    assert_eq!(
        fs::read_to_string(data.join("conf")).expect("conf"),
        "from the image"
    );
    assert_eq!(md.mode() & 0o7777, 0o751);
    assert_eq!(
        names(&s.paths.volumes_dir().join("shared")),
        ["_data", "volume.json"]
    );
}

#[test]
fn binds_are_created_when_missing_and_mounted_read_only_when_asked() {
    if !require_root() {
        return;
    }
    let s = Store::new();
    let host = s.dir.path().join("host/dir");
    let mounts = mounts_for(
        &s.paths,
        &[spec(&format!("{}:/mnt:ro", host.display()))],
        &[],
    )
    .expect("mounts");
    assert!(host.is_dir());
    assert_eq!(mounts[0].source().as_deref(), Some(host.as_path()));
    assert_eq!(
        mounts[0].options().clone().unwrap_or_default(),
        vec!["rbind".to_string(), "ro".to_string()]
    );
    assert!(s.volumes().list().expect("list").is_empty());
}

#[test]
fn volumes_in_use_stay_and_rm_v_takes_only_the_anonymous_ones() {
    if !require_root() {
        return;
    }
    let s = Store::new();
    let mounts = container_mounts(
        &s.paths,
        &["named:/data".to_string()],
        &["/cache".to_string(), "/data".to_string()],
        &[],
    )
    .expect("mounts");
    assert_eq!(mounts.len(), 2, "the image's /data is the user's volume");
    let vols = s.volumes().list().expect("list");
    assert_eq!(vols.len(), 2);
    let anon = vols
        .iter()
        .find(|v| v.is_anonymous())
        .expect("an anonymous volume");
    assert_eq!(anon.name.len(), 64);
    assert_eq!(
        anon.labels.get(ANONYMOUS_LABEL).map(String::as_str),
        Some("")
    );
    let id = "c".repeat(64);
    s.container_with(&id, &mounts);
    match s.volumes().remove("named", None) {
        Err(VolumeError::InUse { containers, .. }) => assert_eq!(containers, "c".repeat(12)),
        other => panic!("rm of a volume in use: {other:?}"),
    }
    // The container goes with -v: its anonymous volume goes, the named one stays.
    let removed = s.volumes().remove_anonymous_of(&id).expect("rm -v");
    assert_eq!(removed, std::slice::from_ref(&anon.name));
    fs::remove_dir_all(s.paths.container_dir(&id)).expect("rm container");
    let left: Vec<String> = s
        .volumes()
        .list()
        .expect("list")
        .into_iter()
        .map(|v| v.name)
        .collect();
    assert_eq!(left, ["named"]);
    // A container created but not started yet has no spec: its record's -v counts.
    let created = s.paths.container_dir(&"9".repeat(64));
    fs::create_dir_all(&created).expect("dir");
    fs::write(
        created.join("container.json"),
        r#"{"host": {"volumes": ["named:/data:ro"]}}"#,
    )
    .expect("record");
    assert!(matches!(
        s.volumes().remove("named", None),
        Err(VolumeError::InUse { .. })
    ));
    fs::remove_dir_all(&created).expect("rm");
    s.volumes().remove("named", None).expect("rm once unused");
    assert!(matches!(
        s.volumes().inspect("named"),
        Err(VolumeError::NotFound(_))
    ));
    assert!(matches!(
        s.volumes().remove("named", None),
        Err(VolumeError::NotFound(_))
    ));
}

#[test]
fn prune_takes_unused_anonymous_volumes_and_all_unused_with_all() {
    if !require_root() {
        return;
    }
    let s = Store::new();
    let anon = BTreeMap::from([(ANONYMOUS_LABEL.to_string(), String::new())]);
    let a1 = s.volumes().create(None, anon.clone()).expect("anon 1");
    write(&a1.mountpoint.join("f"), "12345");
    let a2 = s.volumes().create(None, anon).expect("anon 2");
    let named = s
        .volumes()
        .create(Some("named"), BTreeMap::new())
        .expect("named");
    // docker's volume create of an existing name returns it.
    assert_eq!(
        s.volumes()
            .create(Some("named"), BTreeMap::new())
            .expect("again"),
        named
    );
    let used = mounts_for(&s.paths, &[spec(&format!("{}:/x", a2.name))], &[]).expect("mounts");
    s.container_with(&"d".repeat(64), &used);
    let report = s.volumes().prune(false).expect("prune");
    assert_eq!(report.removed, std::slice::from_ref(&a1.name));
    assert_eq!(report.reclaimed, 5);
    let report = s.volumes().prune(true).expect("prune -a");
    assert_eq!(report.removed, ["named"]);
    let left: Vec<String> = s
        .volumes()
        .list()
        .expect("list")
        .into_iter()
        .map(|v| v.name)
        .collect();
    assert_eq!(left, [a2.name]);
    assert!(matches!(
        s.volumes().create(Some("../x"), BTreeMap::new()),
        Err(VolumeError::InvalidName(_))
    ));
}

#[test]
fn a_container_started_again_gets_its_anonymous_volume_back() {
    if !require_root() {
        return;
    }
    let s = Store::new();
    let id = "e".repeat(64);
    let flags = ["/scratch".to_string(), "kept:/kept".to_string()];
    let first = mounts_for_container(&s.paths, &id, &flags, &["/img".to_string()], &[])
        .expect("first start");
    s.container_with(&id, &first);
    let again = mounts_for_container(&s.paths, &id, &flags, &["/img".to_string()], &[])
        .expect("second start");
    assert_eq!(first, again);
    assert_eq!(s.volumes().list().expect("list").len(), 3);
    // Another container gets volumes of its own.
    let other = mounts_for_container(&s.paths, &"f".repeat(64), &flags, &[], &[]).expect("other");
    assert_ne!(other[0].source(), first[0].source());
    assert_eq!(
        other[1].source(),
        first[1].source(),
        "the named volume is shared"
    );
}
