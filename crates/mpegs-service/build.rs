//! Embeds the explorer's built assets (`web/dist`, made by scripts/build-web.sh)
//! into the binary, so `mpegs serve` needs nothing else at run time. Without a
//! build the list is empty and the service serves a page saying how to build it.

use std::path::{Path, PathBuf};

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push((rel, path));
        }
    }
}

/// Embeds the schema migrations (`migrations/{sqlite,postgres}/NNNN_name.sql`)
/// as `MIGRATIONS_SQLITE`/`MIGRATIONS_POSTGRES`: (version, name, SQL). Adding a
/// file is all a new migration needs (db.rs runs them with sqlx's migrator).
fn embed_migrations(manifest: &Path) {
    let dir = manifest.join("migrations");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut code = String::new();
    for backend in ["sqlite", "postgres"] {
        let mut files: Vec<(i64, String, PathBuf)> = vec![];
        if let Ok(entries) = std::fs::read_dir(dir.join(backend)) {
            for entry in entries.flatten() {
                let path = entry.path();
                let name = path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                let Some(stem) = name.strip_suffix(".sql") else {
                    continue;
                };
                let Some((version, description)) = stem.split_once('_') else {
                    panic!("migration {name}: expected NNNN_description.sql");
                };
                let version: i64 = version
                    .parse()
                    .unwrap_or_else(|_| panic!("migration {name}: version is not a number"));
                files.push((version, description.replace('_', " "), path));
            }
        }
        files.sort();
        for pair in files.windows(2) {
            assert!(
                pair[0].0 != pair[1].0,
                "two {backend} migrations numbered {}",
                pair[0].0
            );
        }
        code.push_str(&format!(
            "/// The {backend} migrations: (version, description, SQL), in order.\n\
             pub static MIGRATIONS_{}: &[(i64, &str, &str)] = &[\n",
            backend.to_uppercase()
        ));
        for (version, description, path) in &files {
            code.push_str(&format!(
                "    ({version}, {description:?}, include_str!({:?})),\n",
                path.canonicalize()
                    .unwrap_or_else(|_| path.clone())
                    .display()
                    .to_string()
            ));
        }
        code.push_str("];\n");
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("migrations.rs");
    std::fs::write(&out, code).expect("writing the migration list into OUT_DIR");
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    embed_migrations(&manifest);
    let web = manifest.join("../../web");
    let dist = web.join("dist");
    let mut files = vec![];
    if dist.join("index.html").is_file() {
        // Any change under dist (a new build) embeds it again.
        println!("cargo:rerun-if-changed={}", dist.display());
        walk(&dist, &dist, &mut files);
    } else if web.is_dir() {
        // Not built: rebuild once it is (creating web/dist changes web/).
        println!("cargo:rerun-if-changed={}", web.display());
    } else {
        println!("cargo:rerun-if-changed=build.rs");
    }
    files.sort();
    let mut code = String::from(
        "/// The explorer's files: path under web/dist, bytes.\n\
         pub static ASSETS: &[(&str, &[u8])] = &[\n",
    );
    for (rel, path) in &files {
        code.push_str(&format!(
            "    ({rel:?}, include_bytes!({:?})),\n",
            path.canonicalize()
                .unwrap_or_else(|_| path.clone())
                .display()
                .to_string()
        ));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("web_assets.rs");
    std::fs::write(&out, code).expect("writing the asset list into OUT_DIR");
}
