//! Embeds every file under the workspace's `web/` folder: writes `$OUT_DIR/web_files.rs`, a
//! table of `(path relative to web/, include_bytes!(…))` that `src/web.rs` serves. Adding a
//! page or script is adding a file; nothing else needs to change.

use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    // Read when the script runs, not baked in when it was compiled: the same compiled script
    // serves every checkout path that shares a target directory (the README check builds from
    // a scratch folder of links), and a baked-in path would point at a folder long gone.
    let manifest = env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let web = Path::new(&manifest).join("../../web");
    println!("cargo:rerun-if-changed={}", web.display());
    let mut files = Vec::new();
    collect(&web, &web, &mut files);
    files.sort();
    let mut table = String::from(
        "/// Every file under `web/`: its path relative to `web/`, and its bytes.\n\
         pub static FILES: &[(&str, &[u8])] = &[\n",
    );
    for (relative, absolute) in files {
        table.push_str(&format!(
            "    ({relative:?}, include_bytes!({absolute:?})),\n"
        ));
    }
    table.push_str("];\n");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("web_files.rs"), table).expect("writing web_files.rs");
}

/// The files below `dir` (hidden ones left out), as (path relative to `root`, absolute path).
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let relative = path
                .strip_prefix(root)
                .expect("below web/")
                .to_string_lossy()
                .replace('\\', "/");
            let absolute = path.canonicalize().expect("canonical path");
            files.push((relative, absolute.to_string_lossy().into_owned()));
        }
    }
}
