//! The body of `POST /containers/create`: docker's container config (bollard-stubs'
//! `ContainerConfig`) with `HostConfig` and `NetworkingConfig` beside its fields.
//!
//! Unknown fields are refused (400 naming the field) instead of being silently dropped as
//! dockerd does: a setting berth did not understand must not run a container that looks
//! configured but is not. Fields of later API versions that the docker CLI sends anyway
//! are known (listed below) and ignored.

use bollard_stubs::models::{ContainerConfig, HostConfig, NetworkingConfig};
use serde::Deserialize;
use serde_json::Value;

use crate::serve::error::{ApiError, ApiResult};

/// A decoded create request.
#[derive(Debug, Default, Deserialize)]
pub struct CreateBody {
    #[serde(flatten)]
    pub config: ContainerConfig,
    #[serde(rename = "HostConfig", default)]
    pub host_config: Option<HostConfig>,
    #[serde(rename = "NetworkingConfig", default)]
    pub networking_config: Option<NetworkingConfig>,
}

/// The container config's fields (API 1.41, plus the body's two nested configs).
const CONFIG_FIELDS: &[&str] = &[
    "Hostname",
    "Domainname",
    "User",
    "AttachStdin",
    "AttachStdout",
    "AttachStderr",
    "ExposedPorts",
    "Tty",
    "OpenStdin",
    "StdinOnce",
    "Env",
    "Cmd",
    "Healthcheck",
    "ArgsEscaped",
    "Image",
    "Volumes",
    "WorkingDir",
    "Entrypoint",
    "NetworkDisabled",
    "MacAddress",
    "OnBuild",
    "Labels",
    "StopSignal",
    "StopTimeout",
    "Shell",
    "HostConfig",
    "NetworkingConfig",
];

/// HostConfig's fields (API 1.41) and the later ones a newer CLI may send.
const HOST_CONFIG_FIELDS: &[&str] = &[
    "CpuShares",
    "Memory",
    "CgroupParent",
    "BlkioWeight",
    "BlkioWeightDevice",
    "BlkioDeviceReadBps",
    "BlkioDeviceWriteBps",
    "BlkioDeviceReadIOps",
    "BlkioDeviceWriteIOps",
    "CpuPeriod",
    "CpuQuota",
    "CpuRealtimePeriod",
    "CpuRealtimeRuntime",
    "CpusetCpus",
    "CpusetMems",
    "Devices",
    "DeviceCgroupRules",
    "DeviceRequests",
    "KernelMemory",
    "KernelMemoryTCP",
    "MemoryReservation",
    "MemorySwap",
    "MemorySwappiness",
    "NanoCpus",
    "OomKillDisable",
    "Init",
    "PidsLimit",
    "Ulimits",
    "CpuCount",
    "CpuPercent",
    "IOMaximumIOps",
    "IOMaximumBandwidth",
    "Binds",
    "ContainerIDFile",
    "LogConfig",
    "NetworkMode",
    "PortBindings",
    "RestartPolicy",
    "AutoRemove",
    "VolumeDriver",
    "VolumesFrom",
    "Mounts",
    "CapAdd",
    "CapDrop",
    "CgroupnsMode",
    "Dns",
    "DnsOptions",
    "DnsSearch",
    "ExtraHosts",
    "GroupAdd",
    "IpcMode",
    "Cgroup",
    "Links",
    "OomScoreAdj",
    "PidMode",
    "Privileged",
    "PublishAllPorts",
    "ReadonlyRootfs",
    "SecurityOpt",
    "StorageOpt",
    "Tmpfs",
    "UTSMode",
    "UsernsMode",
    "ShmSize",
    "Sysctls",
    "Runtime",
    "ConsoleSize",
    "Isolation",
    "MaskedPaths",
    "ReadonlyPaths", // later API versions:
    "Annotations",
];

/// Decodes a create body: malformed JSON, a wrongly typed field or an unknown field is a
/// 400 naming it; an empty body is docker's "config cannot be empty".
pub fn decode(bytes: &[u8]) -> ApiResult<CreateBody> {
    let value: Value =
        crate::serve::http::decode_json(bytes, "the container config")?.ok_or_else(|| {
            ApiError::bad_request("config cannot be empty in order to create a container")
        })?;
    let Value::Object(top) = &value else {
        return Err(ApiError::bad_request(
            "invalid JSON in the container config: expected an object",
        ));
    };
    unknown_field(top.keys(), CONFIG_FIELDS, "the container config")?;
    if let Some(Value::Object(host)) = top.get("HostConfig") {
        unknown_field(host.keys(), HOST_CONFIG_FIELDS, "HostConfig")?;
        unapplied_setting(host)?;
    }
    serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON in the container config: {e}")))
}

/// HostConfig fields berth applies (`create::host_options`), or that only the client
/// reads (`ContainerIDFile`, `ConsoleSize`: the CLI resizes after start).
const APPLIED_HOST_FIELDS: &[&str] = &[
    "AutoRemove",
    "Memory",
    "NanoCpus",
    "CpuQuota",
    "CpuPeriod",
    "PidsLimit",
    "ReadonlyRootfs",
    "CapAdd",
    "CapDrop",
    "SecurityOpt",
    "NetworkMode",
    "PortBindings",
    "Binds",
    "Mounts",
    "Runtime",
    "Privileged",
    "Devices",
    "ContainerIDFile",
    "ConsoleSize",
    "Sysctls",
];

/// Refuses (400) a known HostConfig setting that berth does not apply when it holds
/// anything but what the docker CLI sends for "not asked for" (zero, empty, null, false,
/// `RestartPolicy {"Name": "no"}`, `MemorySwappiness: -1`, a json-file `LogConfig`
/// without options): `docker run --restart always` or `--dns 1.1.1.1` must fail, not
/// run a container that looks configured and is not.
pub fn unapplied_setting(host: &serde_json::Map<String, Value>) -> ApiResult<()> {
    for (key, value) in host {
        if APPLIED_HOST_FIELDS.contains(&key.as_str()) || is_unset(key, value) {
            continue;
        }
        return Err(ApiError::bad_request(format!(
            "HostConfig.{key} = {value} is not supported by berth"
        )));
    }
    Ok(())
}

/// Whether `value` of HostConfig field `key` is what a client sends when the user did not
/// set it (captured from the docker CLI 28's create body).
fn is_unset(key: &str, value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(set) => !set,
        Value::Number(n) => {
            n.as_f64() == Some(0.0) || (key == "MemorySwappiness" && n.as_i64() == Some(-1))
        }
        Value::String(s) => s.is_empty() || (key == "CgroupnsMode" && s == "private"),
        Value::Array(items) => items.is_empty(),
        Value::Object(fields) => match key {
            "RestartPolicy" => {
                matches!(
                    fields.get("Name").and_then(Value::as_str),
                    None | Some("" | "no")
                ) && fields
                    .get("MaximumRetryCount")
                    .is_none_or(|m| is_unset(key, m))
            }
            "LogConfig" => {
                matches!(
                    fields.get("Type").and_then(Value::as_str),
                    None | Some("" | "json-file")
                ) && fields.get("Config").is_none_or(|c| is_unset(key, c))
            }
            // A map's keys are settings (Tmpfs {"/t": ""}, Sysctls, StorageOpt).
            _ => fields.is_empty(),
        },
    }
}

/// Refuses (400) the first key of `keys` not in `known`, naming it and `what`.
pub fn unknown_field<'a>(
    keys: impl Iterator<Item = &'a String>,
    known: &[&str],
    what: &str,
) -> ApiResult<()> {
    for k in keys {
        if !known.contains(&k.as_str()) {
            return Err(ApiError::bad_request(format!(
                "unknown field {k:?} in {what}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cli_body_decodes_and_unknown_or_mistyped_fields_are_400() {
        let body = br#"{"Image":"busybox","Cmd":["echo","hi"],"Tty":false,
            "HostConfig":{"AutoRemove":true,"NetworkMode":"default","Annotations":null},
            "NetworkingConfig":{"EndpointsConfig":{}}}"#;
        let b = decode(body).expect("decodes");
        assert_eq!(b.config.image.as_deref(), Some("busybox"));
        assert_eq!(b.host_config.and_then(|h| h.auto_remove), Some(true));
        for (bad, needle) in [
            (&br#"{"Image":"busybox","Bogus":1}"#[..], "\"Bogus\""),
            (
                br#"{"Image":"x","HostConfig":{"Memroy":1}}"#,
                "\"Memroy\" in HostConfig",
            ),
            (br#"{"Image":["x"]}"#, "invalid JSON"),
            (br#"[1]"#, "expected an object"),
            (b"", "cannot be empty"),
            (
                br#"{"Image":"x","HostConfig":{"RestartPolicy":{"Name":"always","MaximumRetryCount":0}}}"#,
                "HostConfig.RestartPolicy",
            ),
            (
                br#"{"Image":"x","HostConfig":{"Dns":["1.1.1.1"]}}"#,
                "HostConfig.Dns",
            ),
            (
                br#"{"Image":"x","HostConfig":{"Tmpfs":{"/t":""}}}"#,
                "HostConfig.Tmpfs",
            ),
            (
                br#"{"Image":"x","HostConfig":{"ShmSize":1048576}}"#,
                "HostConfig.ShmSize",
            ),
        ] {
            let e = decode(bad).expect_err("refused");
            assert_eq!(e.status, hyper::StatusCode::BAD_REQUEST);
            assert!(e.message.contains(needle), "{}", e.message);
        }
    }
}
