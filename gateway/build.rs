//! Embeds every file of `../web` into the binary, so it serves its front end from
//! anywhere, with no build step for the web itself; and likewise the pinned GraphiQL files of
//! `graphiql/`, so the GraphiQL page loads nothing from another site.

use std::path::Path;

fn collect(dir: &Path, prefix: &str, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{} is not readable: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect(&path, &format!("{prefix}{name}/"), out);
        } else {
            out.push((
                format!("{prefix}{name}"),
                path.canonicalize().unwrap().display().to_string(),
            ));
        }
    }
}

/// Writes `$OUT_DIR/{out}`: a static `name` holding every file of `dir` by relative path.
fn embed(dir: &Path, out: &str, name: &str, doc: &str) {
    println!("cargo:rerun-if-changed={}", dir.display());
    assert!(
        dir.is_dir(),
        "{} not found: its files are embedded into the binary",
        dir.display()
    );
    let mut files = Vec::new();
    collect(dir, "", &mut files);
    for (_, path) in &files {
        println!("cargo:rerun-if-changed={path}");
    }
    let mut code = format!("/// {doc}\npub static {name}: &[(&str, &[u8])] = &[\n");
    for (file, path) in files {
        code.push_str(&format!("    ({file:?}, include_bytes!({path:?})),\n"));
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join(out);
    std::fs::write(out, code).unwrap();
}

fn main() {
    // Read when the script runs, not when it is compiled (`env!`): a compiled build script is
    // reused by every checkout sharing the target directory, and would embed another
    // checkout's web/ (or none, once that one is gone).
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let manifest_dir = Path::new(&manifest_dir);
    embed(
        &manifest_dir.join("../web"),
        "web_assets.rs",
        "ASSETS",
        "Every file of `web/`, by path relative to it.",
    );
    embed(
        &manifest_dir.join("graphiql"),
        "graphiql_assets.rs",
        "GRAPHIQL_ASSETS",
        "Every file of `gateway/graphiql/` (pinned GraphiQL and React, licences), by name.",
    );
}
