//! `inspect`: a container as docker's `docker inspect` shows it (the fields berth has,
//! under docker's names and shapes), for people and for the API server.

use serde_json::{Value, json};

use crate::container::store::ContainerFiles;
use crate::container::{ContainerRecord, ContainerState, Status, status, store};
use crate::error::Result;
use crate::network::ports::{PortMapping, parse_publish};
use crate::paths::StorePaths;

/// Port mappings in docker's PortMap shape, `{"80/tcp": [{"HostIp": "", "HostPort":
/// "8080"}]}`: the docker CLI decodes PortBindings and Ports only as this map.
fn port_map(mappings: impl IntoIterator<Item = PortMapping>) -> Value {
    let mut map = serde_json::Map::new();
    for m in mappings {
        let key = format!("{}/{}", m.container_port, m.protocol.as_str());
        let binding = json!({
            "HostIp": m.host_ip.map(|ip| ip.to_string()).unwrap_or_default(),
            "HostPort": if m.host_port == 0 { String::new() } else { m.host_port.to_string() },
        });
        if let Value::Array(list) = map.entry(key).or_insert_with(|| json!([])) {
            list.push(binding);
        }
    }
    Value::Object(map)
}

/// docker's "never" time.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// The container's inspect document.
pub fn inspect(paths: &StorePaths, query: &str) -> Result<Value> {
    let id = store::resolve(paths, query)?;
    let record = store::load(paths, &id)?;
    let state = status::derive(paths, &record)?;
    Ok(document(paths, &record, &state))
}

/// The document for a record and its state.
pub fn document(paths: &StorePaths, record: &ContainerRecord, state: &ContainerState) -> Value {
    let files = ContainerFiles::new(paths, &record.id);
    let p = &record.process;
    let h = &record.host;
    let time = |t: &Option<berth_state::Timestamp>| {
        t.map(|t| t.to_string()).unwrap_or_else(|| ZERO_TIME.into())
    };
    let args = p.args();
    let (path, rest) = args
        .split_first()
        .map(|(a, r)| (a.clone(), r.to_vec()))
        .unwrap_or_default();
    let att = record.network_attachment.clone().unwrap_or(Value::Null);
    let ip = att
        .get("ip")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let network_mode = if h.network.is_empty() {
        "bridge".to_string()
    } else {
        h.network.clone()
    };
    json!({
        "Id": record.id,
        "Created": record.created.to_string(),
        "Path": path,
        "Args": rest,
        "State": {
            "Status": state.status.as_str(),
            "Running": state.status == Status::Running,
            "Paused": state.status == Status::Paused,
            "Restarting": false,
            "OOMKilled": state.oom_killed,
            "Dead": false,
            "Pid": state.pid.unwrap_or(0),
            "ExitCode": state.exit_code,
            "Error": state.error,
            "StartedAt": time(&state.started_at),
            "FinishedAt": time(&state.finished_at),
        },
        "Image": record.image_id,
        "ResolvConfPath": files.dir.join("resolv.conf"),
        "HostnamePath": files.dir.join("hostname"),
        "HostsPath": files.dir.join("hosts"),
        "LogPath": files.log(),
        "Name": format!("/{}", record.name),
        "RestartCount": 0,
        "Driver": "overlay",
        "Platform": "linux",
        "HostConfig": {
            "AutoRemove": h.auto_remove,
            "Memory": h.memory.unwrap_or(0),
            "NanoCpus": h.cpus.map(|c| (c * 1e9) as i64).unwrap_or(0),
            "PidsLimit": h.pids_limit,
            "ReadonlyRootfs": h.read_only,
            "CapAdd": h.cap_add,
            "CapDrop": h.cap_drop,
            "NetworkMode": network_mode,
            "PortBindings": port_map(h.publish.iter().filter_map(|p| parse_publish(p).ok())),
            "Binds": h.volumes,
            "LogConfig": {"Type": "json-file", "Config": {
                "max-size": h.log_max_size.to_string(), "max-file": h.log_max_files.to_string()}},
            "Runtime": h.runtime.as_ref().map(|r| r.display().to_string()).unwrap_or_else(|| paths.runtime.display().to_string()),
        },
        "Config": {
            "Hostname": p.hostname,
            "User": p.user,
            "Tty": p.tty,
            "OpenStdin": p.open_stdin,
            "StdinOnce": p.open_stdin,
            "Env": p.env,
            "Cmd": p.cmd,
            "Entrypoint": if p.entrypoint.is_empty() { Value::Null } else { json!(p.entrypoint) },
            "Image": record.image,
            "WorkingDir": p.working_dir,
            "Labels": p.labels,
            "StopSignal": p.stop_signal,
            "StopTimeout": p.stop_timeout,
        },
        "NetworkSettings": {
            "IPAddress": ip,
            "Gateway": att.get("gateway").cloned().unwrap_or(json!("")),
            "MacAddress": att.get("mac").cloned().unwrap_or(json!("")),
            "Ports": port_map(
                att.get("ports")
                    .and_then(|p| serde_json::from_value::<Vec<PortMapping>>(p.clone()).ok())
                    .unwrap_or_default(),
            ),
            "SandboxKey": att.get("netns").cloned().unwrap_or(json!("")),
        },
    })
}
