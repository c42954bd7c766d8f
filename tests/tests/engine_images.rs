//! The image verbs of `berth` end to end, as root, on temp stores: `load` of every archive
//! format tests/fixtures.sh makes (skopeo's docker-archive, docker 25's, OCI layouts as a
//! tarball and a directory, compressed with gzip and zstd), `import`, `images`, `image
//! inspect`, `tag`, `rmi`; two images sharing a base layer unpack it once; and hostile
//! layer tarballs written here (python3's tarfile, not berth's code) are refused with the
//! entry named, nothing written outside the store and no partial layer left.
//!
//! Decisions, as docker and containers/storage make them (documented in
//! images/src/unpack/mod.rs):
//! - an absolute entry name is clamped into the layer (`/x/y` is the layer's `x/y`), not
//!   refused: docker joins the name onto the layer directory;
//! - a parent that is a symlink resolves inside the layer (docker unpacks in a chroot):
//!   `a -> /host/dir` then `a/file` is refused when the layer has no `/host/dir`, and
//!   lands in the layer's own directory when it has one;
//! - character and block devices and fifos are created as they are (as root, both
//!   docker and containers/storage do); `.wh.NAME` becomes a 0:0 character device.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use berth_tests::engine::Engine;
use berth_tests::{busybox_fixture, require_root};
use serde_json::Value;

fn fixture(name: &str) -> String {
    busybox_fixture().join(name).display().to_string()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `REPOSITORY:TAG` of every row of `berth images`.
fn names(e: &Engine) -> Vec<String> {
    let mut v: Vec<String> = e
        .ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

fn inspect(e: &Engine, name: &str) -> Value {
    let out = e.ok(&["image", "inspect", name]);
    let v: Value = serde_json::from_str(&out).expect("inspect prints JSON");
    v[0].clone()
}

/// The unpacked layer directories (`layers/<chain id hex>`), sorted.
fn layer_dirs(e: &Engine) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(e.root().join("layers"))
        .map(|rd| {
            rd.flatten()
                .map(|d| d.file_name().to_string_lossy().into_owned())
                .filter(|n| n != ".locks")
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn blob_count(e: &Engine) -> usize {
    std::fs::read_dir(e.root().join("images/blobs/sha256"))
        .map(|rd| rd.count())
        .unwrap_or(0)
}

fn sha256_hex(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    stdout(&out)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

fn sh(script: &str) {
    let st = Command::new("sh")
        .arg("-c")
        .arg(script)
        .status()
        .expect("sh");
    assert!(st.success(), "{script}");
}

#[test]
fn load_reads_every_archive_format_and_images_shows_them() {
    if !require_root() {
        return;
    }
    let e = Engine::empty();
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = tmp.path().display();
    // The OCI layout as a directory, the docker-archive gzip'd and zstd'd.
    sh(&format!(
        "mkdir {t}/layout && tar -C {t}/layout -xf {oci} && gzip -c {da} > {t}/da.tar.gz && \
         zstd -q -c {d25} > {t}/d25.tar.zst",
        oci = fixture("oci-image.tar"),
        da = fixture("docker-archive.tar"),
        d25 = fixture("docker25-archive.tar"),
    ));
    assert_eq!(
        e.ok(&["load", "-i", &fixture("docker-archive.tar")]),
        "Loaded image: busybox:latest\n"
    );
    assert_eq!(
        e.ok(&["load", "-i", &format!("{t}/d25.tar.zst")]),
        "Loaded image: busybox:docker25\n"
    );
    assert_eq!(
        e.ok(&["load", "-i", &format!("{t}/layout")]),
        "Loaded image: berth-busybox:test\n"
    );
    assert_eq!(
        e.ok(&["load", "-i", &format!("{t}/da.tar.gz")]),
        "Loaded image: busybox:latest\n"
    );
    assert_eq!(
        e.ok(&["load", "-i", &fixture("two-layer-archive.tar")]),
        "Loaded image: berth-two-layer:latest\n"
    );
    assert_eq!(
        names(&e),
        [
            "berth-busybox:test",
            "berth-two-layer:latest",
            "busybox:docker25",
            "busybox:latest"
        ]
    );
    // One image under three names: the same config, so the same ID.
    let busybox = inspect(&e, "busybox");
    for other in [
        "busybox:docker25",
        "berth-busybox:test",
        "docker.io/library/busybox",
    ] {
        assert_eq!(inspect(&e, other)["Id"], busybox["Id"], "{other}");
    }
    let id = busybox["Id"].as_str().expect("Id");
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    // Its one layer is the fixture's rootfs.tar, unpacked file for file.
    let rootfs_tar = busybox_fixture().join("rootfs.tar");
    assert_eq!(
        busybox["RootFS"]["Layers"],
        serde_json::json!([format!("sha256:{}", sha256_hex(&rootfs_tar))])
    );
    assert_eq!(busybox["Config"]["Cmd"], serde_json::json!(["sh"]));
    assert_eq!(busybox["RepoTags"].as_array().map(Vec::len), Some(3));
    let lower = busybox["GraphDriver"]["Data"]["LowerDir"]
        .as_str()
        .expect("LowerDir");
    let unpacked = Path::new(lower);
    let original = busybox_fixture().join("rootfs");
    for file in ["bin/busybox", "etc/passwd", "etc/group"] {
        assert_eq!(
            std::fs::read(unpacked.join(file)).expect("unpacked"),
            std::fs::read(original.join(file)).expect("fixture"),
            "{file}"
        );
    }
    let home = std::fs::metadata(unpacked.join("home/user")).expect("home/user");
    assert_eq!((home.uid(), home.gid()), (1000, 1000));
    assert_eq!(
        std::fs::metadata(unpacked.join("tmp")).expect("tmp").mode() & 0o7777,
        0o1777
    );
    assert_eq!(
        std::fs::read_link(unpacked.join("bin/sh")).expect("bin/sh"),
        Path::new("/bin/busybox")
    );

    // The table, -q, --no-trunc, json.
    let table = e.ok(&["images"]);
    let mut lines = table.lines();
    let header = lines.next().expect("header");
    for col in ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"] {
        assert!(header.contains(col), "{header}");
    }
    let short = &id[7..19];
    let row = table
        .lines()
        .find(|l| l.starts_with("busybox ") && l.contains("latest"))
        .expect("busybox row");
    assert!(row.contains(short) && row.ends_with("MB"), "{row}");
    let quiet = e.ok(&["images", "-q"]);
    assert!(quiet.lines().all(|l| l.len() == 12), "{quiet}");
    assert!(e.ok(&["images", "-q", "--no-trunc"]).contains(id));
    let json = e.ok(&["images", "--format", "json", "busybox"]);
    let rows: Vec<Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(rows.len(), 2, "{json}");
    assert!(
        rows.iter()
            .all(|r| r["Repository"] == "busybox" && r["ID"] == short)
    );
}

#[test]
fn import_makes_a_one_layer_image_of_a_rootfs_tarball() {
    if !require_root() {
        return;
    }
    let e = Engine::empty();
    let rootfs_tar = busybox_fixture().join("rootfs.tar");
    let id = e.ok(&["import", &rootfs_tar.display().to_string(), "me/rootfs:1"]);
    let id = id.trim();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    assert_eq!(names(&e), ["me/rootfs:1"]);
    let image = inspect(&e, "me/rootfs:1");
    assert_eq!(image["Id"], id);
    assert_eq!(
        image["RootFS"]["Layers"],
        serde_json::json!([format!("sha256:{}", sha256_hex(&rootfs_tar))])
    );
    assert!(image["Config"]["Cmd"].is_null());
    let lower = image["GraphDriver"]["Data"]["LowerDir"]
        .as_str()
        .expect("LowerDir");
    assert!(Path::new(lower).join("bin/busybox").is_file());
    // Without a name it is untagged, as docker's import.
    e.ok(&["import", &rootfs_tar.display().to_string()]);
    assert!(e.ok(&["images"]).contains("<none>"));
}

#[test]
fn tag_and_rmi_untag_then_delete_with_the_layers_and_blobs() {
    if !require_root() {
        return;
    }
    let e = Engine::empty();
    e.ok(&["load", "-i", &fixture("docker-archive.tar")]);
    let id = inspect(&e, "busybox")["Id"]
        .as_str()
        .expect("Id")
        .to_string();
    e.ok(&["tag", "busybox", "me/box:1"]);
    e.ok(&["tag", &id[7..15], "localhost:5000/box"]);
    assert_eq!(
        names(&e),
        ["busybox:latest", "localhost:5000/box:latest", "me/box:1"]
    );
    // A name of an image with other names: only untagged.
    assert_eq!(e.ok(&["rmi", "me/box:1"]), "Untagged: me/box:1\n");
    // Its ID while it has several names: docker's conflict, exit 1.
    let out = e.run(&["rmi", &id[7..19]]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("must be forced"), "{}", stderr(&out));
    let missing = e.run(&["rmi", "nope"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("no such image: nope"));
    let out = e.ok(&["rmi", "-f", &id[7..19]]);
    let chain = sha256_hex(&busybox_fixture().join("rootfs.tar"));
    assert_eq!(
        out,
        format!(
            "Untagged: busybox:latest\nUntagged: localhost:5000/box:latest\nDeleted: {id}\nDeleted: sha256:{chain}\n"
        )
    );
    assert!(names(&e).is_empty());
    assert!(layer_dirs(&e).is_empty(), "{:?}", layer_dirs(&e));
    assert_eq!(blob_count(&e), 0);
    let gone = e.run(&["image", "inspect", "busybox"]);
    assert_eq!(gone.status.code(), Some(1));
    assert_eq!(stdout(&gone).trim(), "[]");
}

#[test]
fn two_images_sharing_a_base_layer_unpack_it_once() {
    if !require_root() {
        return;
    }
    let e = Engine::empty();
    e.ok(&["load", "-i", &fixture("docker-archive.tar")]);
    let base = layer_dirs(&e);
    assert_eq!(base.len(), 1);
    let busybox_file = e
        .root()
        .join("layers")
        .join(&base[0])
        .join("diff/bin/busybox");
    let before = std::fs::metadata(&busybox_file).expect("busybox").ino();
    e.ok(&["load", "-i", &fixture("two-layer-archive.tar")]);
    let both = layer_dirs(&e);
    assert_eq!(both.len(), 2, "{both:?}");
    assert!(both.contains(&base[0]));
    // Not unpacked again: the same inode.
    assert_eq!(
        std::fs::metadata(&busybox_file).expect("busybox").ino(),
        before
    );
    let two = inspect(&e, "berth-two-layer");
    let lower: Vec<PathBuf> = two["GraphDriver"]["Data"]["LowerDir"]
        .as_str()
        .expect("LowerDir")
        .split(':')
        .map(PathBuf::from)
        .collect();
    assert_eq!(lower.len(), 2);
    // Top layer first (overlayfs order): the second layer holds only its new file.
    assert!(lower[0].join("etc/berth-second-layer").is_file());
    assert!(!lower[0].join("bin/busybox").exists());
    assert_eq!(
        lower[1],
        busybox_file.parent().and_then(Path::parent).expect("diff")
    );
    // Removing the two-layer image keeps the shared base.
    let out = e.ok(&["rmi", "berth-two-layer"]);
    assert_eq!(out.matches("Deleted:").count(), 2, "{out}");
    assert_eq!(layer_dirs(&e), base);
    assert!(busybox_file.is_file());
}

/// A tarball written by python3's tarfile: `body` calls f/d/sym/hard/dev/fifo.
fn python_tar(out: &Path, body: &str) {
    let script = format!(
        r#"
import io, sys, tarfile
t = tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT)
def info(name, kind, mode=0o644):
    ti = tarfile.TarInfo(name); ti.type = kind; ti.mode = mode; return ti
def f(name, data=b"x"):
    ti = info(name, tarfile.REGTYPE); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
def d(name):
    t.addfile(info(name, tarfile.DIRTYPE, 0o755))
def sym(name, target):
    ti = info(name, tarfile.SYMTYPE, 0o777); ti.linkname = target; t.addfile(ti)
def hard(name, target):
    ti = info(name, tarfile.LNKTYPE); ti.linkname = target; t.addfile(ti)
def dev(name, kind, major, minor):
    ti = info(name, tarfile.CHRTYPE if kind == "c" else tarfile.BLKTYPE, 0o600)
    ti.devmajor = major; ti.devminor = minor; t.addfile(ti)
def fifo(name):
    t.addfile(info(name, tarfile.FIFOTYPE))
{body}
t.close()
"#
    );
    let st = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(out)
        .status()
        .expect("python3");
    assert!(st.success(), "python3 tarfile: {body}");
}

/// A store, a sentinel directory outside it (empty, and must stay so) and a scratch dir.
struct Hostile {
    engine: Engine,
    sentinel: tempfile::TempDir,
    scratch: tempfile::TempDir,
}

impl Hostile {
    fn new() -> Self {
        Self {
            engine: Engine::empty(),
            sentinel: tempfile::Builder::new()
                .prefix("berth-sentinel-")
                .tempdir_in("/var/tmp")
                .expect("sentinel"),
            scratch: tempfile::tempdir().expect("scratch"),
        }
    }

    fn sentinel(&self) -> String {
        self.sentinel.path().display().to_string()
    }

    /// Imports a tarball built from `body`; the output.
    fn import(&self, case: &str, body: &str) -> std::process::Output {
        let tar = self.scratch.path().join(format!("{case}.tar"));
        python_tar(&tar, body);
        self.engine.run(&[
            "import",
            &tar.display().to_string(),
            &format!("hostile/{case}"),
        ])
    }

    /// `body` is refused with an error naming `entry`, and leaves nothing behind.
    #[track_caller]
    fn refused(&self, case: &str, body: &str, entry: &str) {
        let out = self.import(case, body);
        let err = stderr(&out);
        assert!(!out.status.success(), "{case}: accepted");
        assert!(
            err.contains(entry),
            "{case}: error does not name {entry}: {err}"
        );
        self.nothing_left(case);
    }

    #[track_caller]
    fn nothing_left(&self, case: &str) {
        let e = &self.engine;
        assert!(names(e).is_empty(), "{case}: an image was kept");
        assert!(
            layer_dirs(e).is_empty(),
            "{case}: layers left: {:?}",
            layer_dirs(e)
        );
        assert_eq!(blob_count(e), 0, "{case}: blobs left");
        self.sentinel_untouched(case);
    }

    #[track_caller]
    fn sentinel_untouched(&self, case: &str) {
        let inside: Vec<_> = std::fs::read_dir(self.sentinel.path())
            .expect("sentinel")
            .flatten()
            .map(|d| d.path())
            .collect();
        assert!(
            inside.is_empty(),
            "{case}: written outside the store: {inside:?}"
        );
    }

    /// The one layer of the image `hostile/<case>`.
    fn layer(&self, case: &str) -> PathBuf {
        let v = inspect(&self.engine, &format!("hostile/{case}"));
        PathBuf::from(
            v["GraphDriver"]["Data"]["LowerDir"]
                .as_str()
                .expect("LowerDir"),
        )
    }
}

#[test]
fn hostile_layers_are_refused_and_leave_nothing_behind() {
    if !require_root() {
        return;
    }
    let h = Hostile::new();
    let s = h.sentinel();
    h.refused("traversal", r#"f("../x")"#, "../x");
    h.refused("deep-traversal", r#"d("a"); f("a/../../x")"#, "a/../../x");
    h.refused(
        "traversal-to-sentinel",
        &format!(r#"f("../../../../../../../..{s}/x")"#),
        "climbs out",
    );
    // a -> the sentinel (outside), then a/file: the parent resolves inside the layer,
    // where the target does not exist.
    h.refused(
        "symlinked-parent",
        &format!(r#"sym("a", "{s}"); f("a/file")"#),
        "a/file",
    );
    h.refused(
        "relative-symlinked-parent",
        &format!(r#"sym("a", "../../../../../../../..{s}"); f("a/file")"#),
        "a/file",
    );
    h.refused(
        "hardlink-absolute",
        r#"hard("l", "/etc/passwd")"#,
        "not in the layer",
    );
    h.refused(
        "hardlink-traversal",
        r#"hard("l", "../../x")"#,
        "climbs out",
    );
    h.refused(
        "hardlink-through-symlink",
        r#"sym("s", "/"); hard("l", "s/etc/passwd")"#,
        "not in the layer",
    );
    h.refused("whiteout-dotdot", r#"d("a"); f("a/.wh..")"#, "a/.wh..");
    h.refused("whiteout-dotdotdot", r#"d("a"); f("a/.wh...")"#, "a/.wh...");
    h.refused("root-as-file", r#"f("./")"#, "layer root");
    // A file entry over a symlink to outside replaces the link, never writes through it.
    let out = h.import(
        "file-over-symlink",
        &format!(r#"sym("f", "{s}/planted"); f("f", b"inside")"#),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    h.sentinel_untouched("file-over-symlink");
    let layer = h.layer("file-over-symlink");
    assert_eq!(std::fs::read(layer.join("f")).expect("f"), b"inside");
    h.engine.ok(&["rmi", "hostile/file-over-symlink"]);
    h.nothing_left("file-over-symlink removed");
}

#[test]
fn absolute_names_and_in_layer_symlinks_are_clamped_into_the_layer() {
    if !require_root() {
        return;
    }
    let h = Hostile::new();
    let s = h.sentinel();
    let out = h.import(
        "absolute",
        &format!(r#"f("{s}/abs", b"clamped"); d("etc"); sym("e", "/etc"); f("e/file", b"via"); hard("h", "/etc/file")"#),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    h.sentinel_untouched("absolute");
    let layer = h.layer("absolute");
    let rel = s.trim_start_matches('/');
    assert_eq!(
        std::fs::read(layer.join(rel).join("abs")).expect("abs"),
        b"clamped"
    );
    assert_eq!(
        std::fs::read(layer.join("etc/file")).expect("etc/file"),
        b"via"
    );
    assert_eq!(
        std::fs::metadata(layer.join("h")).expect("h").ino(),
        std::fs::metadata(layer.join("etc/file"))
            .expect("etc/file")
            .ino()
    );
}

#[test]
fn devices_fifos_and_whiteouts_become_their_overlayfs_form() {
    if !require_root() {
        return;
    }
    let h = Hostile::new();
    let out = h.import(
        "special",
        r#"dev("null", "c", 1, 3); dev("loop9", "b", 7, 9); fifo("pipe"); d("dir"); f("dir/.wh.gone"); d("opq"); f("opq/.wh..wh..opq"); f("x/.wh..wh.plnk")"#,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let layer = h.layer("special");
    let null = std::fs::symlink_metadata(layer.join("null")).expect("null");
    assert!(null.file_type().is_char_device());
    assert_eq!(null.rdev(), libc::makedev(1, 3));
    let blk = std::fs::symlink_metadata(layer.join("loop9")).expect("loop9");
    assert!(blk.file_type().is_block_device());
    assert_eq!(blk.rdev(), libc::makedev(7, 9));
    assert!(
        std::fs::symlink_metadata(layer.join("pipe"))
            .expect("pipe")
            .file_type()
            .is_fifo()
    );
    // .wh.gone -> a 0:0 character device "gone", owned by root; the marker itself is not kept.
    let gone = std::fs::symlink_metadata(layer.join("dir/gone")).expect("whiteout");
    assert!(gone.file_type().is_char_device());
    assert_eq!((gone.rdev(), gone.uid(), gone.gid()), (0, 0, 0));
    assert!(!layer.join("dir/.wh.gone").exists());
    assert_eq!(
        xattr(&layer.join("opq"), "trusted.overlay.opaque").as_deref(),
        Some(&b"y"[..])
    );
    assert!(!layer.join("opq/.wh..wh..opq").exists());
    // aufs bookkeeping is skipped, as docker does.
    assert!(!layer.join("x/.wh..wh.plnk").exists());
}

#[test]
fn a_docker_archive_with_a_hostile_layer_loads_nothing() {
    if !require_root() {
        return;
    }
    let h = Hostile::new();
    let dir = h.scratch.path();
    let layer = dir.join("layer.tar");
    python_tar(&layer, r#"f("ok"); f("../escape")"#);
    let diff_id = sha256_hex(&layer);
    std::fs::write(
        dir.join("config.json"),
        format!(
            r#"{{"architecture":"amd64","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":["sha256:{diff_id}"]}}}}"#
        ),
    )
    .expect("config");
    std::fs::write(
        dir.join("manifest.json"),
        r#"[{"Config":"config.json","RepoTags":["hostile:load"],"Layers":["layer.tar"]}]"#,
    )
    .expect("manifest");
    sh(&format!(
        "tar -C {d} -cf {d}/archive.tar manifest.json config.json layer.tar",
        d = dir.display()
    ));
    let out = h
        .engine
        .run(&["load", "-i", &dir.join("archive.tar").display().to_string()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("../escape"), "{}", stderr(&out));
    h.nothing_left("hostile docker-archive");
}

/// An extended attribute of `path` itself, if set.
fn xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let p = CString::new(path.as_os_str().as_bytes()).ok()?;
    let n = CString::new(name).ok()?;
    let mut buf = vec![0u8; 256];
    // SAFETY: NUL-terminated strings alive for the call; buf's pointer and length come
    // from one Vec.
    let len =
        unsafe { libc::lgetxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    let len = usize::try_from(len).ok()?;
    buf.truncate(len);
    Some(buf)
}

#[test]
fn a_layer_cannot_set_overlayfs_own_xattrs_but_keeps_its_others() {
    if !require_root() {
        return;
    }
    let h = Hostile::new();
    // overlayfs reads trusted.overlay.* of lower layers (a redirect sends a directory's
    // lookups elsewhere, metacopy takes the data from another file): only the whiteout
    // markers may produce them, never a PAX record of the archive.
    let out = h.import(
        "overlay-xattrs",
        r#"d("dir"); ti = info("dir/f", tarfile.REGTYPE); ti.size = 1; ti.pax_headers = {"SCHILY.xattr.trusted.overlay.redirect": "/etc", "SCHILY.xattr.trusted.overlay.metacopy": "y", "SCHILY.xattr.user.kept": "yes"}; t.addfile(ti, io.BytesIO(b"x")); ti = info("o", tarfile.DIRTYPE, 0o755); ti.pax_headers = {"SCHILY.xattr.trusted.overlay.opaque": "y"}; t.addfile(ti)"#,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let layer = h.layer("overlay-xattrs");
    let f = layer.join("dir/f");
    assert_eq!(std::fs::read(&f).expect("dir/f"), b"x");
    for name in ["trusted.overlay.redirect", "trusted.overlay.metacopy"] {
        assert_eq!(xattr(&f, name), None, "{name} reached the layer");
    }
    assert_eq!(xattr(&layer.join("o"), "trusted.overlay.opaque"), None);
    assert_eq!(xattr(&f, "user.kept").as_deref(), Some(&b"yes"[..]));
    h.engine.ok(&["rmi", "hostile/overlay-xattrs"]);
    h.nothing_left("overlay-xattrs removed");
}

#[test]
fn rmi_refuses_an_image_a_container_uses_and_force_only_untags_it() {
    if !require_root() {
        return;
    }
    let e = Engine::empty();
    e.ok(&["load", "-i", &fixture("docker-archive.tar")]);
    let id = inspect(&e, "busybox")["Id"]
        .as_str()
        .expect("Id")
        .to_string();
    let container = e.ok(&["create", "--name", "uses-busybox", "busybox", "true"]);
    let out = e.run(&["rmi", "busybox"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("must force") && err.contains(&container.trim()[..12]),
        "{err}"
    );
    assert_eq!(names(&e), ["busybox:latest"]);
    // -f takes the name off; the image and its layer stay for the container.
    assert_eq!(
        e.ok(&["rmi", "-f", "busybox"]),
        "Untagged: busybox:latest\n"
    );
    assert_eq!(inspect(&e, &id)["Id"], id.as_str());
    assert_eq!(layer_dirs(&e).len(), 1);
    e.ok(&["rm", "uses-busybox"]);
    assert!(e.ok(&["rmi", &id]).contains(&format!("Deleted: {id}")));
    assert!(layer_dirs(&e).is_empty());
}

#[test]
fn rmi_force_is_refused_while_a_running_container_uses_the_image() {
    if !require_root() {
        return;
    }
    let e = Engine::empty();
    e.ok(&["load", "-i", &fixture("docker-archive.tar")]);
    let id = inspect(&e, "busybox")["Id"]
        .as_str()
        .expect("Id")
        .to_string();
    let container = e.ok(&[
        "run",
        "-d",
        "--name",
        "busy",
        "--network",
        "none",
        "busybox",
        "sleep",
        "1000",
    ]);
    // docker: "conflict: unable to delete <id12> (cannot be forced) - image is being
    // used by running container <id12>", exit 1, nothing untagged.
    let out = e.run(&["rmi", "-f", "busybox"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let hex = id.strip_prefix("sha256:").expect("sha256 id");
    assert!(
        stderr(&out).contains(&format!(
            "conflict: unable to delete {} (cannot be forced) - image is being used by running container {}",
            &hex[..12],
            &container.trim()[..12]
        )),
        "{out:?}"
    );
    assert_eq!(names(&e), ["busybox:latest"]);
    // Stopped, -f untags as before.
    e.ok(&["kill", "busy"]);
    e.ok(&["wait", "busy"]);
    assert_eq!(
        e.ok(&["rmi", "-f", "busybox"]),
        "Untagged: busybox:latest\n"
    );
    e.ok(&["rm", "busy"]);
}

#[test]
fn load_and_push_errors_name_what_the_user_gave() {
    if !require_root() {
        return;
    }
    let e = Engine::empty();
    let load_from = |input: &[u8]| {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), input).expect("write input");
        let mut cmd = e.cmd();
        cmd.arg("load")
            .stdin(std::fs::File::open(file.path()).expect("open input"));
        cmd.output().expect("berth load")
    };
    // Nothing on stdin: said so, no spool file of the store named.
    let out = load_from(b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no image archive on standard input"),
        "{out:?}"
    );
    let out = load_from(b"not an archive\n");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("standard input") && !err.contains(".load-") && !err.contains("/images/"),
        "{err}"
    );
    // push of an image the store lacks: the local store's answer, not a registry's.
    let out = e.run(&["push", "127.0.0.1:1/nosuchimage:1"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("no such image: 127.0.0.1:1/nosuchimage:1") && !err.contains("registry"),
        "{err}"
    );
}

#[test]
fn concurrent_loads_unpack_each_layer_once() {
    if !require_root() {
        return;
    }
    let e = Engine::empty();
    let children: Vec<_> = (0..6)
        .map(|i| {
            let archive = if i % 2 == 0 {
                "docker-archive.tar"
            } else {
                "two-layer-archive.tar"
            };
            let mut cmd = e.cmd();
            cmd.args(["load", "-q", "-i", &fixture(archive)])
                .env("BERTH_LOG", "berth_images=debug")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped());
            cmd.spawn().expect("berth load")
        })
        .collect();
    let mut unpacks = 0;
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "{}", stderr(&out));
        unpacks += stderr(&out).matches("unpacking layer").count();
    }
    // Two layers in all (the base is shared): each unpacked by one of the six.
    assert_eq!(unpacks, 2);
    assert_eq!(names(&e), ["berth-two-layer:latest", "busybox:latest"]);
    let layers = layer_dirs(&e);
    assert_eq!(layers.len(), 2, "{layers:?}");
    assert!(layers.iter().all(|l| !l.starts_with(".tmp-")), "{layers:?}");
}

#[test]
fn image_verb_errors_name_the_object_and_exit_1_as_docker() {
    if !require_root() {
        return;
    }
    let e = Engine::empty();
    for (args, says) in [
        (
            vec!["load", "-i", "/nonexistent/berth.tar"],
            "reading /nonexistent/berth.tar: No such file",
        ),
        (
            vec!["tag", "nope", "x"],
            "tagging nope as x: no such image: nope",
        ),
        (
            vec!["tag", "nope", "Bad:Name"],
            "invalid image reference \"Bad:Name\"",
        ),
        (
            vec!["import", "/nonexistent/rootfs.tar", "x"],
            "importing /nonexistent/rootfs.tar: opening /nonexistent/rootfs.tar",
        ),
        (vec!["image", "inspect", "nope"], "no such image: nope"),
        (vec!["images", "Bad"], "invalid image reference \"Bad\""),
    ] {
        let out = e.run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.starts_with("berth: ") && err.contains(says),
            "{args:?}: {err}"
        );
        // Each cause once (a thiserror message holds its source already).
        assert!(err.matches("No such file").count() <= 1, "{err}");
    }
    // A file that is not an archive of a known format.
    let tmp = tempfile::tempdir().expect("tempdir");
    let junk = tmp.path().join("junk.tar");
    python_tar(&junk, r#"f("hello.txt")"#);
    let out = e.run(&["load", "-i", &junk.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("neither a docker-archive"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_whiteout_in_the_upper_layer_hides_the_lower_directory_in_a_container() {
    if !require_root() {
        return;
    }
    let e = Engine::empty();
    e.ok(&["load", "-i", &fixture("docker-archive.tar")]);
    e.ok(&["load", "-i", &fixture("two-layer-archive.tar")]);
    // The archive's home/.wh.user is a 0:0 character device in the unpacked layer.
    let two = inspect(&e, "berth-two-layer");
    let lower = two["GraphDriver"]["Data"]["LowerDir"]
        .as_str()
        .expect("LowerDir");
    let top = PathBuf::from(lower.split(':').next().expect("top layer"));
    let whiteout = std::fs::symlink_metadata(top.join("home/user")).expect("whiteout");
    assert!(whiteout.file_type().is_char_device());
    assert_eq!(whiteout.rdev(), 0);
    // Through overlayfs: the base image has /home/user, the upper layer hides it.
    let run = |image: &str| e.ok(&["run", "--rm", "--network", "none", image, "ls", "/home"]);
    assert_eq!(run("busybox"), "user\n");
    assert_eq!(run("berth-two-layer"), "");
    assert_eq!(
        e.ok(&["run", "--rm", "--network", "none", "berth-two-layer"]),
        "second layer\n"
    );
}
