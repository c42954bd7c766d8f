//! `_ping`, `version`, `info`: what clients ask first. `_ping`'s `Api-Version` header is
//! how the docker CLI negotiates (it then prefixes every path with that version).

use bollard_stubs::models::{
    SystemInfo, SystemVersion, SystemVersionComponents, SystemVersionPlatform,
};
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, PRAGMA};
use hyper::{Method, Response, StatusCode};

use super::Ctx;
use super::http::{Body, full, json};
use super::version::{API_VERSION, MIN_API_VERSION};

/// The engine's version (the crate's).
pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// GET and HEAD `/_ping`: "OK" (HEAD: no body) with the negotiation headers.
pub fn ping(method: &Method) -> Response<Body> {
    let body = if method == Method::HEAD { "" } else { "OK" };
    let mut r = Response::new(full(body));
    let h = r.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    h.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert("Docker-Experimental", HeaderValue::from_static("false"));
    r
}

/// The headers dockerd puts on every reply: `Api-Version`, `OSType`, `Server`.
pub fn add_server_headers(r: &mut Response<Body>) {
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&API_VERSION.to_string()) {
        h.insert("Api-Version", v);
    }
    h.insert("OSType", HeaderValue::from_static("linux"));
    if let Ok(v) = HeaderValue::from_str(&format!("berth/{ENGINE_VERSION} (linux)")) {
        h.insert("Server", v);
    }
}

/// GET `/version`.
pub fn version() -> Response<Body> {
    let v = SystemVersion {
        platform: Some(SystemVersionPlatform {
            name: format!("berth {ENGINE_VERSION}"),
        }),
        components: Some(vec![SystemVersionComponents {
            name: "Engine".into(),
            version: ENGINE_VERSION.into(),
            details: None,
        }]),
        version: Some(ENGINE_VERSION.into()),
        api_version: Some(API_VERSION.to_string()),
        min_api_version: Some(MIN_API_VERSION.to_string()),
        git_commit: Some(String::new()),
        go_version: Some(String::new()),
        os: Some("linux".into()),
        arch: Some(go_arch().into()),
        kernel_version: Some(kernel_release()),
        experimental: None,
        build_time: None,
    };
    // bollard-stubs 1.41 types Components[].Details as a map of `()`, which cannot hold
    // the strings `docker version` prints; the details are added to the encoded value.
    let mut value = serde_json::to_value(&v).unwrap_or_default();
    if let Some(engine) = value.pointer_mut("/Components/0") {
        engine["Details"] = serde_json::json!({
            "ApiVersion": API_VERSION.to_string(),
            "MinAPIVersion": MIN_API_VERSION.to_string(),
            "GitCommit": "berth",
            "GoVersion": "none (berth is Rust)",
            "Os": "linux",
            "Arch": go_arch(),
            "KernelVersion": kernel_release(),
            "Experimental": "false",
            "BuildTime": "",
        });
    }
    json(StatusCode::OK, &value)
}

/// GET `/info`: the host and berth's store, as `docker info` prints them.
pub fn info(ctx: &Ctx, counts: &Counts) -> Response<Body> {
    let runtime = ctx.paths.runtime.to_string_lossy().into_owned();
    let runtime_name = ctx
        .paths
        .runtime
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| runtime.clone());
    let mut runtimes = std::collections::HashMap::new();
    runtimes.insert(
        runtime_name.clone(),
        bollard_stubs::models::Runtime {
            path: Some(runtime),
            runtime_args: None,
        },
    );
    let info = SystemInfo {
        id: Some(host_id()),
        containers: Some(counts.running + counts.paused + counts.stopped),
        containers_running: Some(counts.running),
        containers_paused: Some(counts.paused),
        containers_stopped: Some(counts.stopped),
        images: Some(counts.images),
        driver: Some("overlay".into()),
        docker_root_dir: Some(ctx.paths.root.to_string_lossy().into_owned()),
        logging_driver: Some("json-file".into()),
        cgroup_driver: Some(bollard_stubs::models::SystemInfoCgroupDriverEnum::CGROUPFS),
        cgroup_version: Some(
            if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
                bollard_stubs::models::SystemInfoCgroupVersionEnum::_2
            } else {
                bollard_stubs::models::SystemInfoCgroupVersionEnum::_1
            },
        ),
        kernel_version: Some(kernel_release()),
        operating_system: Some(os_pretty_name()),
        os_type: Some("linux".into()),
        architecture: Some(std::env::consts::ARCH.into()),
        ncpu: std::thread::available_parallelism()
            .ok()
            .and_then(|n| i64::try_from(n.get()).ok()),
        mem_total: mem_total_bytes(),
        name: nix::unistd::gethostname()
            .ok()
            .map(|h| h.to_string_lossy().into_owned()),
        server_version: Some(ENGINE_VERSION.into()),
        runtimes: Some(runtimes),
        default_runtime: Some(runtime_name),
        labels: Some(vec![format!("engine=berth {ENGINE_VERSION}")]),
        experimental_build: Some(false),
        memory_limit: Some(true),
        swap_limit: Some(false),
        pids_limit: Some(true),
        ipv4_forwarding: Some(true),
        index_server_address: Some("https://index.docker.io/v1/".into()),
        plugins: Some(bollard_stubs::models::PluginsInfo {
            volume: Some(vec!["local".into()]),
            network: Some(vec!["bridge".into(), "host".into(), "none".into()]),
            authorization: None,
            log: Some(vec!["json-file".into()]),
        }),
        swarm: Some(bollard_stubs::models::SwarmInfo {
            local_node_state: Some(bollard_stubs::models::LocalNodeState::INACTIVE),
            ..Default::default()
        }),
        security_options: Some(vec!["name=seccomp,profile=default".into()]),
        ..Default::default()
    };
    json(StatusCode::OK, &info)
}

/// The stores' container and image counts, for `info`.
pub async fn counts(ctx: &Ctx) -> super::error::ApiResult<Counts> {
    let paths = ctx.paths.clone();
    super::blocking(move || {
        let all = crate::ops::list::list(
            &paths,
            crate::ops::list::ListOptions {
                all: true,
                ..Default::default()
            },
        )?;
        let mut c = Counts::default();
        for s in &all {
            match s.state.status {
                crate::container::Status::Running => c.running += 1,
                crate::container::Status::Paused => c.paused += 1,
                _ => c.stopped += 1,
            }
        }
        c.images = berth_images::ImageStore::open(&paths.root)?.list()?.len() as i64;
        Ok(c)
    })
    .await
}

/// Container and image counts for `info`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub running: i64,
    pub paused: i64,
    pub stopped: i64,
    pub images: i64,
}

/// Go's name for this machine's architecture (`docker version` prints Go's names).
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}

fn kernel_release() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn os_pretty_name() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| "Linux".into())
}

fn mem_total_bytes() -> Option<i64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: i64 = s
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// A stable identity for this engine: the machine id (what dockerd's ID is, per host).
fn host_id() -> String {
    std::fs::read_to_string("/etc/machine-id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}
