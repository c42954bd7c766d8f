//! The layer store's promises, through the library on a temp store (as root: unpacking
//! sets owners): a missing layer is unpacked again by `lower_dirs`, leftovers of a killed
//! unpack are cleared, and a layer blob that changed on disk is refused by its digest
//! without leaving a layer behind. Inputs are tests/fixtures.sh's archives.

use std::path::{Path, PathBuf};

use berth_images::{Digest, ImageStore, NoProgress};
use berth_testkit::root::require_root;

fn fixture(name: &str) -> PathBuf {
    let dir = std::env::var_os("BERTH_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.fixtures"));
    let path = dir.join("busybox").join(name);
    assert!(
        path.is_file(),
        "{} missing: run tests/fixtures.sh",
        path.display()
    );
    path
}

fn loaded() -> (tempfile::TempDir, ImageStore, berth_images::Image) {
    let root = tempfile::tempdir().expect("tempdir");
    let store = ImageStore::open(root.path()).expect("open");
    let images = store
        .load(&fixture("two-layer-archive.tar"), &NoProgress)
        .expect("load");
    assert_eq!(images.len(), 1);
    let image = images.into_iter().next().expect("image");
    (root, store, image)
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn lower_dirs_are_top_first_and_a_missing_layer_is_unpacked_again() {
    if !require_root() {
        return;
    }
    let (root, store, image) = loaded();
    let dirs = store.lower_dirs(&image).expect("lower_dirs");
    assert_eq!(dirs.len(), 2);
    assert!(dirs[0].join("etc/berth-second-layer").is_file());
    assert!(dirs[1].join("bin/busybox").is_file());
    let base = dirs[1].parent().expect("layer dir").to_path_buf();
    std::fs::remove_dir_all(&base).expect("remove the base layer");
    let again = store.lower_dirs(&image).expect("lower_dirs again");
    assert_eq!(again, dirs);
    assert!(again[1].join("bin/busybox").is_file());
    assert!(
        !entries(&root.path().join("layers"))
            .iter()
            .any(|n| n.starts_with(".tmp-"))
    );
}

#[test]
fn leftovers_of_a_killed_unpack_are_cleared() {
    if !require_root() {
        return;
    }
    let (root, store, image) = loaded();
    let top = Digest::parse(&image.chain_ids[1]).expect("chain id");
    let layers = root.path().join("layers");
    std::fs::remove_dir_all(layers.join(top.hex())).expect("remove top layer");
    // What a unpack killed half way leaves: a temporary directory with some files.
    let stale = layers.join(format!(".tmp-{}", top.hex()));
    std::fs::create_dir_all(stale.join("diff/half")).expect("stale");
    std::fs::write(stale.join("diff/half/written"), "x").expect("stale file");
    let dirs = store.lower_dirs(&image).expect("lower_dirs");
    assert!(!stale.exists());
    assert!(!dirs[0].join("half").exists());
    assert!(dirs[0].join("etc/berth-second-layer").is_file());
}

#[test]
fn a_layer_blob_changed_on_disk_is_refused_and_leaves_no_layer() {
    if !require_root() {
        return;
    }
    let (root, store, image) = loaded();
    let manifest = store.manifest(&image).expect("manifest");
    let blob = Digest::parse(manifest.layers()[1].digest().as_ref()).expect("digest");
    let top = Digest::parse(&image.chain_ids[1]).expect("chain id");
    let layers = root.path().join("layers");
    std::fs::remove_dir_all(layers.join(top.hex())).expect("remove top layer");
    // One letter of the file's content changed: the tar still parses, the digest fails.
    let path = store.blobs().path(&blob);
    let mut bytes = std::fs::read(&path).expect("blob");
    let text = b"second layer";
    let at = bytes
        .windows(text.len())
        .position(|w| w == text)
        .expect("the second layer's file content");
    bytes[at] = b'S';
    std::fs::write(&path, &bytes).expect("tamper");
    let err = store.lower_dirs(&image).expect_err("tampered blob");
    let text = err.to_string();
    assert!(
        text.contains("corrupt") && text.contains(blob.as_str()),
        "{text}"
    );
    assert!(!layers.join(top.hex()).exists());
    assert!(!entries(&layers).iter().any(|n| n.starts_with(".tmp-")));
}
