//! `-v` values: `SRC:DST[:OPTS]` (SRC absolute = a bind of a host path, else a named
//! volume) and `DST[:OPTS]` (an anonymous volume), as docker reads them.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::volume::error::VolumeError;

/// Where a mount's content comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VolumeSource {
    /// A host path, bind-mounted (created as a directory when missing, as docker's `-v`).
    Bind(PathBuf),
    /// A named volume, created on first use.
    Named(String),
    /// A new volume with a random name, removed by `rm -v`.
    Anonymous,
}

/// One `-v` (or an image's `Volumes` entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeSpec {
    pub source: VolumeSource,
    /// Absolute, normalized, never `/`.
    pub destination: PathBuf,
    pub read_only: bool,
    /// `nocopy`: do not fill a new volume from the image.
    pub no_copy: bool,
}

impl VolumeSpec {
    /// Parses `-v SRC:DST[:OPTS]` or `-v DST[:OPTS]`; OPTS is a comma list of `ro`, `rw`,
    /// `nocopy`, and SELinux's `z`/`Z` (accepted, nothing to relabel here).
    ///
    /// Errors: [`VolumeError::InvalidSpec`] (relative or `/` destination, unknown
    /// option, too many parts), [`VolumeError::InvalidName`] (a source that is neither
    /// an absolute path nor a volume name).
    pub fn parse(spec: &str) -> Result<Self, VolumeError> {
        let bad = |reason: &str| VolumeError::InvalidSpec {
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        let parts: Vec<&str> = spec.split(':').collect();
        let (src, dst, opts) = match parts.as_slice() {
            [dst] => (None, *dst, ""),
            // DST:OPTS when the second part is a list of options (docker's rule), SRC:DST
            // otherwise (`/x:relative` is a bind to a relative path, refused below).
            [dst, opts] if opts.split(',').all(|o| OPTIONS.contains(&o)) => (None, *dst, *opts),
            [src, dst] => (Some(*src), *dst, ""),
            [src, dst, opts] => (Some(*src), *dst, *opts),
            _ => return Err(bad("expected SRC:DST[:OPTS] or DST[:OPTS]")),
        };
        // docker's words name the mount's type.
        let kind = match src {
            Some(s) if s.starts_with('/') => "bind",
            _ => "volume",
        };
        let destination = normalize_destination(dst)
            .map_err(|r| bad(&format!("invalid mount config for type {kind:?}: {r}")))?;
        let (mut read_only, mut no_copy) = (false, false);
        for opt in opts.split(',').filter(|o| !o.is_empty()) {
            match opt {
                "ro" => read_only = true,
                "rw" => read_only = false,
                "nocopy" => no_copy = true,
                "z" | "Z" => {}
                other => return Err(bad(&format!("unknown option {other:?}"))),
            }
        }
        let source = match src {
            None => VolumeSource::Anonymous,
            Some("") => return Err(bad("empty source")),
            Some(s) if s.starts_with('/') => VolumeSource::Bind(PathBuf::from(s)),
            Some(name) => {
                validate_name(name)?;
                VolumeSource::Named(name.to_string())
            }
        };
        Ok(Self {
            source,
            destination,
            read_only,
            no_copy,
        })
    }

    /// An anonymous volume at `destination` (an image's `Volumes` entry).
    pub fn anonymous(destination: &str) -> Result<Self, VolumeError> {
        Ok(Self {
            source: VolumeSource::Anonymous,
            destination: normalize_destination(destination).map_err(|reason| {
                VolumeError::InvalidSpec {
                    spec: destination.to_string(),
                    reason,
                }
            })?,
            read_only: false,
            no_copy: false,
        })
    }
}

/// `specs` plus an anonymous volume for every image `Volumes` destination the user did
/// not mount something on (docker's behaviour).
pub fn with_image_volumes<'a>(
    specs: &[VolumeSpec],
    image_volumes: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<VolumeSpec>, VolumeError> {
    let mut out = specs.to_vec();
    for dst in image_volumes {
        let v = VolumeSpec::anonymous(dst)?;
        if !out.iter().any(|s| s.destination == v.destination) {
            out.push(v);
        }
    }
    Ok(out)
}

/// Volume names: docker's rule ([`crate::docker_name`]), two characters at least.
pub fn validate_name(name: &str) -> Result<(), VolumeError> {
    if crate::docker_name::is_valid(name, 2) {
        Ok(())
    } else {
        Err(VolumeError::InvalidName(name.to_string()))
    }
}

/// The options a `-v` may end with.
const OPTIONS: [&str; 5] = ["ro", "rw", "nocopy", "z", "Z"];

/// An absolute destination without `.`/`..`, trailing slashes or repeated slashes.
fn normalize_destination(dst: &str) -> Result<PathBuf, String> {
    if !dst.starts_with('/') {
        return Err(format!(
            "invalid mount path: '{dst}' mount path must be absolute"
        ));
    }
    let mut out = PathBuf::from("/");
    for c in Path::new(dst).components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(n) => out.push(n),
            Component::ParentDir | Component::Prefix(_) => {
                return Err(format!("destination {dst:?} contains '..'"));
            }
        }
    }
    if out == Path::new("/") {
        return Err("destination can't be '/'".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> VolumeSpec {
        match VolumeSpec::parse(s) {
            Ok(v) => v,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn docker_forms_parse() {
        let v = ok("/srv/data:/data:ro");
        assert_eq!(v.source, VolumeSource::Bind("/srv/data".into()));
        assert_eq!(v.destination, PathBuf::from("/data"));
        assert!(v.read_only);
        let v = ok("cache:/var/cache/");
        assert_eq!(v.source, VolumeSource::Named("cache".into()));
        assert_eq!(v.destination, PathBuf::from("/var/cache"));
        assert!(!v.read_only);
        let v = ok("/scratch");
        assert_eq!(v.source, VolumeSource::Anonymous);
        let v = ok("/scratch:ro,nocopy");
        assert!(v.read_only && v.no_copy && v.source == VolumeSource::Anonymous);
        let v = ok("/a:/b");
        assert_eq!(v.source, VolumeSource::Bind("/a".into()));
    }

    #[test]
    fn bad_values_are_refused_with_reasons() {
        for (s, needle) in [
            (
                "data:relative",
                "invalid mount config for type \"volume\": invalid mount path: 'relative' mount path must be absolute",
            ),
            (
                "/x:relative",
                "invalid mount config for type \"bind\": invalid mount path: 'relative' mount path must be absolute",
            ),
            ("data:/", "can't be '/'"),
            ("data:/x/../y", "'..'"),
            ("data:/x:rx", "unknown option"),
            ("./dir:/x", "invalid characters"),
            ("a:/x", "invalid characters"),
            ("a:b:c:d", "expected"),
        ] {
            match VolumeSpec::parse(s) {
                Ok(v) => panic!("{s} parsed as {v:?}"),
                Err(e) => assert!(e.to_string().contains(needle), "{s}: {e}"),
            }
        }
    }

    #[test]
    fn image_volumes_fill_in_where_the_user_did_not_mount() -> Result<(), VolumeError> {
        let user = [VolumeSpec::parse("mine:/data")?];
        let all = with_image_volumes(&user, ["/data/", "/logs"])?;
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].destination, PathBuf::from("/logs"));
        assert_eq!(all[1].source, VolumeSource::Anonymous);
        Ok(())
    }
}
