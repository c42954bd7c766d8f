//! Picking one image out of an index (OCI image index or docker manifest list) by
//! platform: `--platform os/arch[/variant]`, by default this host's, with Go's names
//! (`amd64`, `arm64`, ...) as registries use them.

use oci_client::manifest::ImageIndexEntry;

use super::RegistryError;

/// A platform as registries name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    /// This host's platform (`linux/amd64` on x86_64), in Go's architecture names.
    pub fn host() -> Self {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "powerpc64" => "ppc64le",
            "loongarch64" => "loong64",
            other => other,
        };
        let variant = (architecture == "arm64").then(|| "v8".to_string());
        Platform {
            os: std::env::consts::OS.to_string(),
            architecture: architecture.to_string(),
            variant,
        }
    }

    /// Parses `os/arch[/variant]`.
    ///
    /// # Errors
    /// [`RegistryError::InvalidPlatform`] for any other shape.
    pub fn parse(s: &str) -> Result<Self, RegistryError> {
        let parts: Vec<&str> = s.split('/').collect();
        let ok = |p: &&str| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        };
        match parts.as_slice() {
            [os, arch] if ok(os) && ok(arch) => Ok(Platform {
                os: os.to_ascii_lowercase(),
                architecture: arch.to_ascii_lowercase(),
                variant: None,
            }),
            [os, arch, variant] if ok(os) && ok(arch) && ok(variant) => Ok(Platform {
                os: os.to_ascii_lowercase(),
                architecture: arch.to_ascii_lowercase(),
                variant: Some(variant.to_ascii_lowercase()),
            }),
            _ => Err(RegistryError::InvalidPlatform(s.to_string())),
        }
    }

    /// Whether an index entry's platform is this one. A wanted variant must match; an
    /// unnamed wanted variant takes any (arm64 images often omit `v8`).
    fn matches(&self, entry: &ImageIndexEntry) -> bool {
        let Some(p) = &entry.platform else {
            return false;
        };
        if p.os.to_string() != self.os || p.architecture.to_string() != self.architecture {
            return false;
        }
        match (&self.variant, &p.variant) {
            (Some(want), Some(have)) => want == have,
            (Some(want), None) => want == "v8" && self.architecture == "arm64",
            (None, _) => true,
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// The entry for `platform` in an index, or `None`; with the list of what the index has,
/// for the error message.
pub fn select<'a>(
    entries: &'a [ImageIndexEntry],
    platform: &Platform,
) -> Result<&'a ImageIndexEntry, String> {
    entries.iter().find(|e| platform.matches(e)).ok_or_else(|| {
        let names: Vec<String> = entries
            .iter()
            .map(|e| match &e.platform {
                Some(p) => {
                    let mut s = format!("{}/{}", p.os, p.architecture);
                    if let Some(v) = &p.variant {
                        s.push('/');
                        s.push_str(v);
                    }
                    s
                }
                None => "unknown".to_string(),
            })
            .collect();
        if names.is_empty() {
            "nothing".to_string()
        } else {
            names.join(", ")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(os: &str, arch: &str, variant: Option<&str>) -> ImageIndexEntry {
        let mut platform = serde_json::json!({"os": os, "architecture": arch});
        if let Some(v) = variant {
            platform["variant"] = v.into();
        }
        serde_json::from_value(serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{}", "0".repeat(64)),
            "size": 1,
            "platform": platform,
        }))
        .expect("index entry")
    }

    #[test]
    fn parses_os_arch_variant() {
        let p = Platform::parse("linux/arm/v7").expect("parses");
        assert_eq!(
            (p.os.as_str(), p.architecture.as_str(), p.variant.as_deref()),
            ("linux", "arm", Some("v7"))
        );
        for bad in ["linux", "linux/", "/amd64", "a/b/c/d", "linux/amd 64"] {
            assert!(Platform::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn selects_the_matching_entry_and_lists_the_others() {
        let entries = [
            entry("linux", "arm", Some("v7")),
            entry("linux", "amd64", None),
            entry("linux", "arm64", None),
        ];
        let amd64 = Platform::parse("linux/amd64").expect("parses");
        assert!(std::ptr::eq(
            select(&entries, &amd64).expect("found"),
            &entries[1]
        ));
        let arm64v8 = Platform::parse("linux/arm64/v8").expect("parses");
        assert!(std::ptr::eq(
            select(&entries, &arm64v8).expect("found"),
            &entries[2]
        ));
        let arm6 = Platform::parse("linux/arm/v6").expect("parses");
        assert_eq!(
            select(&entries, &arm6).expect_err("absent"),
            "linux/arm/v7, linux/amd64, linux/arm64"
        );
    }
}
