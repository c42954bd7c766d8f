//! `berth load [-i FILE] [-q]`: images from a docker-archive or an OCI image layout (a
//! tarball, plain, gzip or zstd, or a directory); standard input when no file is named,
//! as docker reads it. Progress on a terminal only (stderr).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::Context;
use berth_engine::StorePaths;
use berth_images::{ImageStore, NoProgress, Progress, familiar_name};

/// `berth load`
#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// Read from this archive or OCI layout directory instead of standard input.
    #[arg(short, long)]
    pub input: Option<PathBuf>,
    /// Show no progress.
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(paths: &StorePaths, args: &LoadArgs) -> anyhow::Result<ExitCode> {
    load_images(paths, args)
}

fn load_images(paths: &StorePaths, args: &LoadArgs) -> anyhow::Result<ExitCode> {
    let store = ImageStore::open(paths.root()).context("opening the image store")?;
    let progress = progress_for(args.quiet);
    let spooled;
    // What errors call the input: the user's path, or "standard input" rather than the
    // store's spool file (a name the user never gave).
    let (input, shown) = match &args.input {
        Some(path) => (path.clone(), path.display().to_string()),
        None => {
            spooled = spool_stdin(&store)?;
            (spooled.path().to_path_buf(), "standard input".to_string())
        }
    };
    let loaded = store.load_named(&input, progress.as_ref()).map_err(|e| {
        let text = e.to_string().replace(&input.display().to_string(), &shown);
        if text.contains(&shown) {
            anyhow::anyhow!(text)
        } else {
            anyhow::anyhow!("loading {shown}: {text}")
        }
    })?;
    for l in loaded {
        if l.names.is_empty() {
            println!("Loaded image ID: {}", l.image.id);
        }
        for name in &l.names {
            println!("Loaded image: {}", familiar_name(name));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Standard input copied to a file in the store (loading reads an archive in one pass,
/// but a directory needs a path, and docker accepts both).
fn spool_stdin(store: &ImageStore) -> anyhow::Result<tempfile::NamedTempFile> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        anyhow::bail!("requested load from stdin, but stdin is a terminal: use -i FILE");
    }
    let mut file = tempfile::Builder::new()
        .prefix(".load-")
        .tempfile_in(store.images_dir())
        .context("creating a file for standard input")?;
    let n = std::io::copy(&mut stdin.lock(), &mut file).context("reading standard input")?;
    if n == 0 {
        anyhow::bail!(
            "no image archive on standard input (it was empty): pipe an archive or use -i FILE"
        );
    }
    Ok(file)
}

/// Progress on stderr when it is a terminal and not `quiet`; nothing otherwise.
pub fn progress_for(quiet: bool) -> Box<dyn Progress> {
    if !quiet && std::io::stderr().is_terminal() {
        Box::new(TerminalProgress::default())
    } else {
        Box::new(NoProgress)
    }
}

/// One line per piece of work, redrawn in place: `Loading  12.3MB/45.6MB`.
#[derive(Default)]
pub struct TerminalProgress {
    current: Mutex<Option<String>>,
}

impl Progress for TerminalProgress {
    fn update(&self, what: &str, done: u64, total: Option<u64>) {
        let size = berth_images::display::human_size;
        let figure = match total {
            Some(t) => format!("{}/{}", size(done), size(t)),
            None => size(done),
        };
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "\r\x1b[2K{what}  {figure}");
        let _ = stderr.flush();
        if let Ok(mut current) = self.current.lock() {
            *current = Some(what.to_string());
        }
    }

    fn finish(&self, what: &str) {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "\r\x1b[2K{what}  done");
        if let Ok(mut current) = self.current.lock() {
            *current = None;
        }
    }
}
