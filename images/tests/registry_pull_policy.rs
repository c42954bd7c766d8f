//! `registry::ensure_image`, the implicit pull of `run`/`create` (`--pull
//! missing|always|never`), on a temp store holding the busybox fixture (as root:
//! loading unpacks layers). No registry on the network: a name in the store must not be
//! pulled with `missing`; `always` goes to the registry even then (a closed loopback
//! port here, so it fails); `never` refuses a missing image.

use std::path::{Path, PathBuf};

use berth_images::registry::{PullOptions, PullPolicy, RegistryError, ensure_image};
use berth_images::{ImageStore, NoProgress};
use berth_testkit::root::require_root;

fn fixture(name: &str) -> PathBuf {
    let dir = std::env::var_os("BERTH_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.fixtures"));
    dir.join("busybox").join(name)
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

#[test]
fn pull_policy_missing_always_never() {
    if !require_root() {
        return;
    }
    let root = tempfile::tempdir().expect("tempdir");
    let store = ImageStore::open(root.path()).expect("open store");
    let loaded = store
        .load(&fixture("oci-image.tar"), &NoProgress)
        .expect("load fixture");
    let name = format!("127.0.0.1:{}/busybox:local", closed_port());
    store.tag(&loaded[0].id, &name).expect("tag");
    let quiet = PullOptions {
        quiet: true,
        ..PullOptions::default()
    };

    // Present: `missing` and `never` take it from the store (its registry is closed).
    for policy in [PullPolicy::Missing, PullPolicy::Never] {
        let image = ensure_image(&store, &name, policy, &quiet).expect("image from the store");
        assert_eq!(image.id, loaded[0].id, "{policy:?}");
    }
    // `always` asks the registry, which is not there.
    let err = ensure_image(&store, &name, PullPolicy::Always, &quiet).expect_err("always pulls");
    assert!(matches!(err, RegistryError::Transport { .. }), "{err}");

    // Absent: `never` refuses, `missing` tries the registry.
    let absent = format!("127.0.0.1:{}/nothing:here", closed_port());
    let err = ensure_image(&store, &absent, PullPolicy::Never, &quiet).expect_err("never");
    assert!(matches!(err, RegistryError::NotPresent(_)), "{err}");
    assert!(err.to_string().contains("--pull never"), "{err}");
    let err =
        ensure_image(&store, &absent, PullPolicy::Missing, &quiet).expect_err("missing pulls");
    assert!(matches!(err, RegistryError::Transport { .. }), "{err}");
    assert_eq!(
        store.list().expect("list").len(),
        1,
        "a failed pull added an image"
    );
}

#[test]
fn pull_policy_names_parse_as_the_flag_takes_them() {
    assert_eq!("missing".parse::<PullPolicy>(), Ok(PullPolicy::Missing));
    assert_eq!("always".parse::<PullPolicy>(), Ok(PullPolicy::Always));
    assert_eq!("never".parse::<PullPolicy>(), Ok(PullPolicy::Never));
    assert!("sometimes".parse::<PullPolicy>().is_err());
}
