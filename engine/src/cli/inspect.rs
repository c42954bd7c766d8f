//! `berth inspect [-f TEMPLATE] [--type container|image|network|volume] NAME...`: each
//! object as docker prints it (one JSON array, 4-space indents, or the template per
//! object). Without `--type` a name is looked up as docker's inspect does: a container,
//! then an image, a network, a volume. Also the printing of `image inspect`,
//! `network inspect` and `volume inspect`.

use std::process::ExitCode;

use anyhow::Context;
use berth_engine::network::NetworkStore;
use berth_engine::volume::VolumeStore;
use berth_engine::{StorePaths, ops};
use berth_images::ImageStore;
use berth_images::inspect::docker_inspect;
use clap::Args;
use serde::Serialize;
use serde_json::Value;

use super::template::Template;

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A Go template over each object's JSON (`{{.State.ExitCode}}`, `{{json .Config}}`).
    #[arg(short = 'f', long)]
    pub format: Option<String>,
    /// Only this kind of object: container, image, network or volume.
    #[arg(long = "type")]
    pub kind: Option<String>,
    /// Print sizes (accepted for docker's sake; berth shows none).
    #[arg(short = 's', long)]
    pub size: bool,
    #[arg(required = true)]
    pub names: Vec<String>,
}

/// The kinds of object, in the order docker's inspect tries them.
const KINDS: [&str; 4] = ["container", "image", "network", "volume"];

pub fn run(paths: &StorePaths, args: &InspectArgs) -> anyhow::Result<ExitCode> {
    let kinds: Vec<&str> = match args.kind.as_deref() {
        None => KINDS.to_vec(),
        Some(k) if KINDS.contains(&k) => vec![k],
        Some(k) => anyhow::bail!(
            "unknown type: {k:?}: must be one of \"container\", \"image\", \"network\", \"volume\""
        ),
    };
    let images = ImageStore::open(paths.root()).context("opening the image store")?;
    let networks = NetworkStore::open(paths);
    let volumes = VolumeStore::open(paths);
    let find = |name: &str, kind: &str| -> Result<Value, String> {
        match kind {
            "container" => ops::inspect::inspect(paths, name).map_err(|e| e.to_string()),
            "image" => images
                .resolve(name)
                .map(|i| docker_inspect(&images, &i))
                .map_err(|e| e.to_string()),
            "network" => networks
                .get(name)
                .and_then(|n| berth_engine::network::inspect::inspect(&networks, &n))
                .map_err(|e| e.to_string())
                .and_then(|d| serde_json::to_value(d).map_err(|e| e.to_string())),
            _ => volumes
                .inspect(name)
                .map_err(|e| e.to_string())
                .and_then(|d| serde_json::to_value(d).map_err(|e| e.to_string())),
        }
    };
    inspect_all(&args.names, args.format.as_deref(), |name| {
        if let [kind] = kinds[..] {
            return find(name, kind);
        }
        // Only "not found" moves on to the next kind; an ambiguous id prefix or a store
        // that cannot be read is the answer.
        for kind in &kinds {
            match find(name, kind) {
                Ok(doc) => return Ok(doc),
                Err(e) if is_not_found(&e) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(format!("no such object: {name}"))
    })
}

/// True for the stores' "not found" errors (`no such container: x`, `no such image`,
/// `network x not found` ...).
fn is_not_found(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("no such") || m.contains("not found")
}

/// `inspect` of each name: the documents found printed as one array (or template
/// lines), `berth: <error>` for each name not found; exit 1 if any was not. A template
/// that does not parse fails before any lookup.
pub fn inspect_all<T: Serialize, E: std::fmt::Display>(
    names: &[String],
    format: Option<&str>,
    mut find: impl FnMut(&str) -> Result<T, E>,
) -> anyhow::Result<ExitCode> {
    let template = match format {
        None | Some("json") => None,
        Some(t) => Some(Template::parse(t)?),
    };
    let mut docs = Vec::new();
    let mut failed = false;
    for n in names {
        match find(n) {
            Ok(doc) => docs.push(serde_json::to_value(doc).context("printing JSON")?),
            Err(e) => {
                eprintln!("berth: {e}");
                failed = true;
            }
        }
    }
    match &template {
        None => println!("{}", pretty(&Value::Array(docs))?),
        Some(t) => {
            for d in &docs {
                println!("{}", t.execute(d, "")?);
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// JSON with docker's 4-space indents.
fn pretty(v: &Value) -> anyhow::Result<String> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut out,
        serde_json::ser::PrettyFormatter::with_indent(b"    "),
    );
    v.serialize(&mut ser).context("printing JSON")?;
    Ok(String::from_utf8(out)?)
}
