//! Linux capabilities: parse, validate and apply the five sets of the OCI process.
