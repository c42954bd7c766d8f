//! `POST /containers/create?name=`: the decoded body as `ops::create::CreateOptions`, then
//! `ops::create::create`. The image is looked up first so that a missing one is docker's
//! 404 "No such image: ..." (the docker CLI pulls on exactly that, then retries).

use std::collections::HashMap;

use bollard_stubs::models::{HostConfig, MountTypeEnum, PortBinding};
use hyper::{Response, StatusCode};
use serde_json::json;

use super::create_body::CreateBody;
use crate::ops::create::CreateOptions;
use crate::serve::Ctx;
use crate::serve::error::{ApiError, ApiResult};
use crate::serve::http::{Body, Query, json as json_reply};

/// Creates the container; 201 `{"Id": ..., "Warnings": []}`.
pub async fn create(ctx: &Ctx, q: &Query, body: CreateBody) -> ApiResult<Response<Body>> {
    let opts = options(q, body)?;
    let paths = ctx.paths.clone();
    let image = opts.image.clone();
    let record = crate::serve::blocking(move || {
        if let Some(name) = &opts.name {
            crate::container::names::validate(name)?;
        }
        // A missing image: docker's 404, which makes the CLI pull.
        berth_images::ImageStore::open(&paths.root)?.resolve(&image)?;
        Ok(crate::ops::create::create(&paths, &opts)?)
    })
    .await?;
    ctx.events.container(
        "create",
        &record.id,
        &[
            ("image", record.image.clone()),
            ("name", record.name.clone()),
        ],
    );
    Ok(json_reply(
        StatusCode::CREATED,
        &json!({"Id": record.id, "Warnings": []}),
    ))
}

/// Docker's create request as the engine's create options. Settings berth cannot honour
/// are refused (400) rather than ignored.
pub fn options(q: &Query, body: CreateBody) -> ApiResult<CreateOptions> {
    let c = body.config;
    let image = c
        .image
        .filter(|i| !i.is_empty())
        .ok_or_else(|| ApiError::bad_request("no image given (Image is empty)"))?;
    let mut cmd = c.cmd.unwrap_or_default();
    // The engine takes docker's one-word --entrypoint; a longer API entrypoint keeps its
    // argv by putting its other words before the cmd (an entrypoint drops the image's
    // Cmd either way).
    let entrypoint = match c.entrypoint {
        None => None,
        Some(ep) if ep.is_empty() => None,
        Some(mut ep) => {
            let first = ep.remove(0);
            ep.append(&mut cmd);
            cmd = ep;
            Some(first)
        }
    };
    let non_empty = |s: Option<String>| s.filter(|s| !s.is_empty());
    let mut opts = CreateOptions {
        image,
        cmd,
        name: non_empty(q.get("name").map(String::from)),
        entrypoint,
        env: c.env.unwrap_or_default(),
        workdir: non_empty(c.working_dir),
        user: non_empty(c.user),
        hostname: non_empty(c.hostname),
        tty: c.tty.unwrap_or(false),
        open_stdin: c.open_stdin.unwrap_or(false),
        stop_signal: non_empty(c.stop_signal),
        stop_timeout: c
            .stop_timeout
            .map(|t| u32::try_from(t.max(0)).unwrap_or(u32::MAX)),
        labels: c
            .labels
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        ..Default::default()
    };
    if let Some(h) = body.host_config {
        host_options(&mut opts, h)?;
    }
    Ok(opts)
}

fn host_options(opts: &mut CreateOptions, h: HostConfig) -> ApiResult<()> {
    if h.privileged == Some(true) {
        return Err(ApiError::bad_request(
            "privileged containers are not supported by berth",
        ));
    }
    if h.devices.as_ref().is_some_and(|d| !d.is_empty()) {
        return Err(ApiError::bad_request("--device is not supported by berth"));
    }
    opts.auto_remove = h.auto_remove.unwrap_or(false);
    opts.memory = h.memory.filter(|m| *m > 0).map(|m| m.to_string());
    opts.cpus = match (h.nano_cpus, h.cpu_quota, h.cpu_period) {
        (Some(n), _, _) if n > 0 => Some(n as f64 / 1e9),
        (_, Some(q), p) if q > 0 => Some(q as f64 / p.filter(|p| *p > 0).unwrap_or(100_000) as f64),
        _ => None,
    };
    opts.pids_limit = h.pids_limit.filter(|p| *p > 0);
    opts.read_only = h.readonly_rootfs.unwrap_or(false);
    opts.cap_add = h.cap_add.unwrap_or_default();
    opts.cap_drop = h.cap_drop.unwrap_or_default();
    opts.security_opt = h.security_opt.unwrap_or_default();
    opts.network = h.network_mode.filter(|m| !m.is_empty() && m != "default");
    opts.publish = publish(h.port_bindings.unwrap_or_default());
    opts.volumes = h.binds.unwrap_or_default();
    for m in h.mounts.unwrap_or_default() {
        let target = m.target.unwrap_or_default();
        let ro = if m.read_only == Some(true) { ":ro" } else { "" };
        match m.typ {
            Some(MountTypeEnum::BIND) | Some(MountTypeEnum::VOLUME) => {
                let source = m.source.unwrap_or_default();
                opts.volumes.push(if source.is_empty() {
                    target
                } else {
                    format!("{source}:{target}{ro}")
                });
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "mount type {other:?} at {target:?} is not supported by berth (bind and \
                     volume are)"
                )));
            }
        }
    }
    let mut sysctls: Vec<String> = h
        .sysctls
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    sysctls.sort();
    opts.sysctls = sysctls;
    opts.runtime = h.runtime.filter(|r| !r.is_empty()).map(Into::into);
    Ok(())
}

/// PortBindings (`{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}`) as `-p` values.
fn publish(bindings: HashMap<String, Option<Vec<PortBinding>>>) -> Vec<String> {
    let mut out = Vec::new();
    for (port, binds) in bindings {
        for b in binds.unwrap_or_default() {
            let host_port = b.host_port.unwrap_or_default();
            let ip = b.host_ip.filter(|i| !i.is_empty());
            out.push(match (ip, host_port.is_empty()) {
                (Some(ip), _) => format!("{ip}:{host_port}:{port}"),
                (None, false) => format!("{host_port}:{port}"),
                (None, true) => port.clone(),
            });
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cli_create_maps_onto_the_engine_options() {
        let body = super::super::create_body::decode(
            br#"{"Image":"busybox","Cmd":["-c","echo hi"],"Entrypoint":["sh"],
                "Env":["A=1"],"Tty":true,"OpenStdin":true,"Labels":{"k":"v"},
                "HostConfig":{"AutoRemove":true,"Memory":33554432,"NanoCpus":500000000,
                  "NetworkMode":"default","Binds":["/a:/b:ro"],
                  "PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"8080"}]},
                  "Sysctls":{"net.ipv4.ip_unprivileged_port_start":"1024"}}}"#,
        )
        .expect("decodes");
        let o = options(&Query::parse(Some("name=web")), body).expect("maps");
        assert_eq!(o.image, "busybox");
        assert_eq!(o.entrypoint.as_deref(), Some("sh"));
        assert_eq!(o.cmd, ["-c", "echo hi"]);
        assert_eq!(o.name.as_deref(), Some("web"));
        assert!(o.tty && o.open_stdin && o.auto_remove);
        assert_eq!(o.memory.as_deref(), Some("33554432"));
        assert_eq!(o.cpus, Some(0.5));
        assert_eq!(o.network, None);
        assert_eq!(o.volumes, ["/a:/b:ro"]);
        assert_eq!(o.publish, ["8080:80/tcp"]);
        assert_eq!(o.labels, ["k=v"]);
        assert_eq!(o.sysctls, ["net.ipv4.ip_unprivileged_port_start=1024"]);
    }

    #[test]
    fn a_multi_word_entrypoint_keeps_its_argv() {
        let body = super::super::create_body::decode(
            br#"{"Image":"busybox","Entrypoint":["sh","-c"],"Cmd":["echo hi"]}"#,
        )
        .expect("decodes");
        let o = options(&Query::default(), body).expect("maps");
        assert_eq!(o.entrypoint.as_deref(), Some("sh"));
        assert_eq!(o.cmd, ["-c", "echo hi"]);
    }
}
