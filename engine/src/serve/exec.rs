//! The exec endpoints over the engine's `crate::exec` (docker's three steps):
//! `POST /containers/{id}/exec` (create), `POST /exec/{id}/start` (hijacked, or
//! `Detach`), `POST /exec/{id}/resize`, `GET /exec/{id}/json`.
//!
//! The engine pumps an exec's stdio synchronously (`ExecProcess::run_framed`, already in
//! docker's framing); the hijacked connection is async. A socketpair joins them: one end
//! is the exec's input and output, the other is spliced onto the client like an attach.

use std::sync::Arc;

use bollard_stubs::models::{ExecConfig as ApiExecConfig, ExecStartConfig as ApiExecStartConfig};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};

use super::containers::create_body::unknown_field;
use super::error::{ApiError, ApiResult};
use super::http::{Body, MAX_JSON_BODY, Query, decode_json, empty, read_body};
use super::{Ctx, blocking, hijack};
use crate::exec::{ExecConfig, StartOptions};
use crate::monitor::attach::Resize;

/// ExecConfig's fields (API 1.41) and the later ones a newer CLI sends.
const EXEC_FIELDS: &[&str] = &[
    "AttachStdin",
    "AttachStdout",
    "AttachStderr",
    "DetachKeys",
    "Tty",
    "Env",
    "Cmd",
    "Privileged",
    "User",
    "WorkingDir",
    // later API versions:
    "ConsoleSize",
    "Detach",
];

/// `POST /containers/{id}/exec`: 201 `{"Id": ...}`.
pub async fn create(ctx: &Ctx, query: String, body: Incoming) -> ApiResult<Response<Body>> {
    let bytes = read_body(body, MAX_JSON_BODY).await?;
    let value: Value = decode_json(&bytes, "the exec config")?
        .ok_or_else(|| ApiError::bad_request("the exec config is empty"))?;
    let Value::Object(fields) = &value else {
        return Err(ApiError::bad_request(
            "invalid JSON in the exec config: expected an object",
        ));
    };
    unknown_field(fields.keys(), EXEC_FIELDS, "the exec config")?;
    let console_size = match fields.get("ConsoleSize") {
        Some(Value::Array(hw)) if hw.len() == 2 => {
            let dim = |v: &Value| v.as_u64().and_then(|n| u16::try_from(n).ok()).unwrap_or(0);
            Some(Resize {
                height: dim(&hw[0]),
                width: dim(&hw[1]),
            })
        }
        _ => None,
    };
    let api: ApiExecConfig = serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON in the exec config: {e}")))?;
    if api.privileged == Some(true) {
        return Err(ApiError::bad_request(
            "privileged execs are not supported by berth",
        ));
    }
    let config = ExecConfig {
        cmd: api.cmd.unwrap_or_default(),
        env: api.env.unwrap_or_default(),
        working_dir: api.working_dir.filter(|w| !w.is_empty()),
        user: api.user.filter(|u| !u.is_empty()),
        tty: api.tty.unwrap_or(false),
        attach_stdin: api.attach_stdin.unwrap_or(false),
        attach_stdout: api.attach_stdout.unwrap_or(false),
        attach_stderr: api.attach_stderr.unwrap_or(false),
        console_size: console_size.filter(|s| s.height > 0 && s.width > 0),
    };
    let paths = ctx.paths.clone();
    let id = blocking(move || Ok(crate::exec::create(&paths, &query, &config)?)).await?;
    Ok(super::http::json(StatusCode::CREATED, &json!({ "Id": id })))
}

/// `POST /exec/{id}/start`: `{"Detach": true}` starts and answers 200; otherwise the
/// connection is hijacked and carries the exec's streams until it ends (its exit code is
/// then in `GET /exec/{id}/json`, where the docker CLI reads it).
pub async fn start(
    ctx: Arc<Ctx>,
    mut req: Request<Incoming>,
    exec_id: String,
) -> ApiResult<Response<Body>> {
    let bytes = read_body(req.body_mut(), MAX_JSON_BODY).await?;
    let cfg: ApiExecStartConfig = decode_json(&bytes, "the exec start config")?.unwrap_or_default();
    let paths = ctx.paths.clone();
    if cfg.detach.unwrap_or(false) {
        blocking(move || {
            crate::exec::start(&paths, &exec_id, StartOptions { detach: true })?;
            Ok(())
        })
        .await?;
        return Ok(empty(StatusCode::OK));
    }
    // Started before the upgrade, so that a refusal (not running, started twice) is a
    // status code the client shows.
    let (process, stdin) = blocking(move || {
        let record = crate::exec::load(&paths, &exec_id)?;
        let process = crate::exec::start(&paths, &exec_id, StartOptions::default())?;
        Ok((process, record.config.attach_stdin))
    })
    .await?;
    hijack::upgrade(&mut req, move |client| async move {
        let (ours, theirs) = match std::os::unix::net::UnixStream::pair() {
            Ok(pair) => pair,
            Err(e) => return tracing::warn!("a socketpair for exec {}: {e}", process.id()),
        };
        let theirs = match theirs
            .set_nonblocking(true)
            .and_then(|()| tokio::net::UnixStream::from_std(theirs))
        {
            Ok(t) => t,
            Err(e) => return tracing::warn!("a socketpair for exec {}: {e}", process.id()),
        };
        let pump = tokio::task::spawn_blocking(move || {
            let input = if stdin { ours.try_clone().ok() } else { None };
            let id = process.id().to_string();
            if let Err(e) = process.run_framed(input, &ours) {
                tracing::warn!("exec {id}: {e}");
            }
            // The output ended: the client's reader ends, and a stdin reader blocked on
            // a client that sends nothing more is released.
            let _ = ours.shutdown(std::net::Shutdown::Both);
        });
        hijack::splice(client, theirs, stdin).await;
        let _ = pump.await;
    })
}

/// `POST /exec/{id}/resize?h=&w=`.
pub async fn resize(exec_id: String, q: &Query) -> ApiResult<Response<Body>> {
    let dim = |k: &str| -> ApiResult<u16> {
        let v = q.int(k)?.unwrap_or(0);
        u16::try_from(v).map_err(|_| ApiError::bad_request(format!("invalid {k}: {v}")))
    };
    let size = Resize {
        height: dim("h")?,
        width: dim("w")?,
    };
    blocking(move || Ok(crate::exec::resize(&exec_id, size)?)).await?;
    Ok(empty(StatusCode::OK))
}

/// `GET /exec/{id}/json`: docker's ExecInspect.
pub async fn inspect(ctx: &Ctx, exec_id: String) -> ApiResult<Response<Body>> {
    let paths = ctx.paths.clone();
    let st = blocking(move || Ok(crate::exec::inspect(&paths, &exec_id)?)).await?;
    let cmd = &st.process_config.cmd;
    Ok(super::http::json(
        StatusCode::OK,
        &json!({
            "ID": st.id,
            "ContainerID": st.container_id,
            "Running": st.running,
            "ExitCode": st.exit_code,
            "Pid": st.pid,
            "OpenStdin": st.open_stdin,
            "OpenStdout": st.open_stdout,
            "OpenStderr": st.open_stderr,
            "CanRemove": false,
            "DetachKeys": "",
            "ProcessConfig": {
                "tty": st.process_config.tty,
                "entrypoint": cmd.first().cloned().unwrap_or_default(),
                "arguments": cmd.get(1..).unwrap_or_default(),
                "privileged": false,
                "user": st.process_config.user.clone().unwrap_or_default(),
            },
        }),
    ))
}
