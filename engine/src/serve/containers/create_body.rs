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
    }
    serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON in the container config: {e}")))
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
        ] {
            let e = decode(bad).expect_err("refused");
            assert_eq!(e.status, hyper::StatusCode::BAD_REQUEST);
            assert!(e.message.contains(needle), "{}", e.message);
        }
    }
}
