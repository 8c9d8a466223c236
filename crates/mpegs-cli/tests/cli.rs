//! The `mpegs` binary end to end: the CLI contract (files written, exit codes 0/1/2,
//! clear messages, no panics) on a small image with 8-pixel tiles.

use mpegs_media::{load_image, save_png_atomic, Frame, FrameInfo, PixelFormat};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn run(&self, args: &[&str]) -> Output {
        self.run_as("home", args)
    }
    /// Runs with `MPEGS_HOME` set to `home` (another "machine" with its own keys).
    fn run_as(&self, home: &str, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_mpegs"))
            .args(args)
            .env("MPEGS_HOME", self.path(home))
            .current_dir(self.dir.path())
            .output()
            .unwrap()
    }
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited normally, no signal")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write_image(path: &Path, w: u32, h: u32) {
    let info = FrameInfo::new(PixelFormat::Rgb24, w, h);
    let data = (0..info.byte_len()).map(|i| (i * 29 % 256) as u8).collect();
    save_png_atomic(&Frame::new(info, data).unwrap(), path).unwrap();
}

/// A 1 s 160×96 H.264 segment.
fn write_segment(path: &Path) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=160x96:rate=30:duration=1")
        .args(["-c:v", "libx264", "-threads", "1", "-pix_fmt", "yuv420p"])
        .arg(path)
        .status()
        .expect("ffmpeg must be installed");
    assert!(status.success());
}

#[test]
fn keygen_attest_edit_verify_and_tamper() {
    let env = Env::new();
    write_image(&env.path("photo.png"), 19, 11);

    let o = env.run(&["keygen", "-o", "device.key"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let address = String::from_utf8(o.stdout).unwrap();
    assert!(address.trim().starts_with("0x") && address.trim().len() == 42);
    let o = env.run(&["keygen", "-o", "device.key"]);
    assert_eq!(code(&o), 2, "overwriting a key must be refused");

    let o = env.run(&[
        "attest",
        "photo.png",
        "--key",
        "device.key",
        "--tile",
        "8",
        "--captured-at",
        "1700000000",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(env.path("photo.png.mpegs.json").exists());
    // The secret seed of the private original: beside it, readable by its owner only.
    let secret: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.path("photo.png.mpegs.secret.json")).unwrap())
            .unwrap();
    let seed = secret["seed"].as_str().unwrap().to_string();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.path("photo.png.mpegs.secret.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The owner verifies the original with its secret; without it the pixels
    // cannot be checked (exit 1, a reason saying the media is private).
    let o = env.run(&["verify", "photo.png"]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    std::fs::rename(
        env.path("photo.png.mpegs.secret.json"),
        env.path("kept.json"),
    )
    .unwrap();
    let o = env.run(&["verify", "photo.png"]);
    assert_eq!(code(&o), 1);
    assert!(String::from_utf8_lossy(&o.stdout).contains("private"));
    let o = env.run(&["edit", "photo.png", "--vf", "hflip", "-o", "x.png", "-q"]);
    assert_eq!(code(&o), 2, "editing a private original needs its secret");
    assert!(stderr(&o).contains("--secret"), "{}", stderr(&o));
    std::fs::rename(
        env.path("kept.json"),
        env.path("photo.png.mpegs.secret.json"),
    )
    .unwrap();

    let o = env.run(&[
        "edit",
        "photo.png",
        "--vf",
        "crop=12:8:3:2,hflip,format=gray",
        "-o",
        "out.png",
        "-q",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = load_image(&env.path("out.png")).unwrap();
    assert_eq!(out.info, FrameInfo::new(PixelFormat::Gray, 12, 8));
    // The published bundle never carries the original's seed.
    let published = std::fs::read_to_string(env.path("out.png.mpegs.json")).unwrap();
    assert!(
        !published.contains(&seed[2..]),
        "the private seed was published"
    );
    assert_eq!(published.matches("\"seed\"").count(), 1);

    let o = env.run(&["verify", "out.png"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains("VALID") && text.contains(address.trim()),
        "{text}"
    );
    assert!(text.contains("2023-11-14 22:13:20 UTC"), "{text}");

    let o = env.run(&["verify", "out.png", "--json"]);
    assert_eq!(code(&o), 0);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["valid"], true);
    assert_eq!(report["steps"].as_array().unwrap().len(), 3);

    // One changed pixel: exit 1 with a reason.
    let mut tampered = out.clone();
    tampered.data[5] ^= 1;
    save_png_atomic(&tampered, &env.path("tampered.png")).unwrap();
    let o = env.run(&["verify", "tampered.png", "--bundle", "out.png.mpegs.json"]);
    assert_eq!(code(&o), 1);
    assert!(String::from_utf8_lossy(&o.stdout).contains("altered"));
    // --json prints the report itself, valid or not (the service returns the same).
    let o = env.run(&[
        "verify",
        "tampered.png",
        "--bundle",
        "out.png.mpegs.json",
        "--json",
    ]);
    assert_eq!(code(&o), 1);
    let bad: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(bad["valid"], false);
    assert!(bad["reason"].as_str().unwrap().contains("altered"), "{bad}");
    for field in ["media", "origin", "steps", "proofs_verified"] {
        assert!(bad.get(field).is_some(), "{field} missing in {bad}");
    }

    // A dry run: the same pixels as the proven edit (and as ffmpeg's), no
    // proofs, no bundle; never beside an existing bundle.
    let vf = "crop=12:8:3:2,hflip,format=gray";
    let o = env.run(&[
        "edit",
        "photo.png",
        "--vf",
        vf,
        "-o",
        "preview.png",
        "--dry-run",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("UNPROVEN"));
    assert_eq!(load_image(&env.path("preview.png")).unwrap(), out);
    assert!(!env.path("preview.png.mpegs.json").exists());
    let status = Command::new("ffmpeg")
        .current_dir(env.dir.path())
        .args([
            "-v",
            "error",
            "-y",
            "-i",
            "photo.png",
            "-vf",
            vf,
            "ffmpeg.png",
        ])
        .status()
        .expect("ffmpeg must be installed");
    assert!(status.success());
    assert_eq!(load_image(&env.path("ffmpeg.png")).unwrap(), out);
    let o = env.run(&[
        "edit",
        "photo.png",
        "--vf",
        vf,
        "-o",
        "out.png",
        "--dry-run",
    ]);
    assert_eq!(code(&o), 2, "over a proven output: {}", stderr(&o));
    assert!(
        stderr(&o).contains("has a bundle beside it"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        load_image(&env.path("out.png")).unwrap(),
        out,
        "left as it was"
    );
    // A dry run over a tampered input is refused like a real edit.
    std::fs::copy(
        env.path("out.png.mpegs.json"),
        env.path("tampered.png.mpegs.json"),
    )
    .unwrap();
    let o = env.run(&[
        "edit",
        "tampered.png",
        "--vf",
        "hflip",
        "-o",
        "p2.png",
        "--dry-run",
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("does not verify"), "{}", stderr(&o));
    assert!(!env.path("p2.png").exists());
    std::fs::remove_file(env.path("tampered.png.mpegs.json")).unwrap();

    // A truncated bundle: exit 2, a clear message, no panic.
    let bundle = std::fs::read(env.path("out.png.mpegs.json")).unwrap();
    std::fs::write(env.path("cut.json"), &bundle[..bundle.len() / 3]).unwrap();
    let o = env.run(&["verify", "out.png", "--bundle", "cut.json"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("not valid JSON"), "{}", stderr(&o));

    // Keys move to another machine: verification there needs the imported set.
    let o = env.run(&["keys", "export", "keyset"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let other = |args: &[&str]| env.run_as("elsewhere", args);
    assert_eq!(
        code(&other(&["verify", "out.png"])),
        1,
        "unknown keys must not verify"
    );
    assert_eq!(code(&other(&["keys", "import", "keyset"])), 0);
    let o = other(&["verify", "out.png"]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    let listed = String::from_utf8(other(&["keys", "list"]).stdout).unwrap();
    assert!(
        listed.contains("crop-t8-") && listed.contains("verify"),
        "{listed}"
    );

    // A key set with a different key under an id already trusted there: refused
    // (exit 2, says --replace), and only --replace takes it.
    let manifest_path = env.path("keyset").join("mpegs-keys.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    let keys = manifest["keys"].as_array_mut().unwrap();
    let (a, b) = (keys[0]["id"].as_str().unwrap().to_string(), keys[1].clone());
    std::fs::copy(
        env.path("keyset")
            .join(format!("{}.vk", b["id"].as_str().unwrap())),
        env.path("keyset").join(format!("{a}.vk")),
    )
    .unwrap();
    keys[0]["vk_hash"] = b["vk_hash"].clone();
    std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let o = other(&["keys", "import", "keyset"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--replace"), "{}", stderr(&o));
    assert_eq!(
        code(&other(&["verify", "out.png"])),
        0,
        "nothing was replaced"
    );
    assert_eq!(code(&other(&["keys", "import", "keyset", "--replace"])), 0);
    assert_eq!(code(&other(&["verify", "out.png"])), 1);
}

#[test]
fn bad_input_gets_exit_2_and_a_message() {
    let env = Env::new();
    write_image(&env.path("photo.png"), 9, 9);
    std::fs::write(env.path("notes.txt"), "hello").unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["verify", "missing.png"], "cannot read"),
        (&["attest", "notes.txt", "--key", "nokey"], "cannot decode"),
        (
            &["attest", "photo.png", "--key", "nokey"],
            "cannot read key",
        ),
        (
            &["edit", "photo.png", "--vf", "blur", "-o", "o.png"],
            "unknown filter 'blur'",
        ),
        (
            &[
                "edit",
                "photo.png",
                "--vf",
                "crop=w=3:bogus=1",
                "-o",
                "o.png",
            ],
            "unknown option 'bogus'",
        ),
        (
            &["edit", "photo.png", "--vf", "hflip", "-o", "o.jpg"],
            ".png",
        ),
        (
            &["edit", "photo.png", "--vf", "hflip", "-o", "o.png"],
            "cannot read bundle",
        ),
        (&["setup", "--vf", "hflip"], "--size"),
        (&["setup", "--vf", "hflip", "--size", "0x3"], "positive"),
    ];
    for (args, needle) in cases {
        let o = env.run(args);
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{args:?}");
    }
    // Nothing half-written is left behind.
    assert!(!env.path("o.png").exists());
}

#[test]
fn unsupported_filter_uses_are_refused_before_any_proving() {
    let env = Env::new();
    write_image(&env.path("photo.png"), 9, 9);
    assert_eq!(code(&env.run(&["keygen", "-o", "k"])), 0);
    assert_eq!(
        code(&env.run(&["attest", "photo.png", "--key", "k", "--tile", "8"])),
        0
    );
    let cases = [
        ("eq=brightness=0.2", "format=gray before eq"),
        ("scale=4:4:flags=area+accurate_rnd", "put format=gray first"),
        ("format=gray,scale=4:4", "flags=bicubic is not supported"),
        ("format=gray,scale=4:4:flags=area", "+accurate_rnd"),
        ("boxblur=5:1", "must be <= 4"),
        ("pad=5:5", "not within the padded area"),
        ("drawbox=0:0:4:4:red@0.5:t=fill", "opaque"),
        ("overlay=1:1:file=photo.png", "format=rgb"),
        ("overlay=1:1:format=rgb", "file=logo.png"),
        ("overlay=1:1:format=rgb:file=missing.png", "missing.png"),
        ("lut=negval", "use lutrgb"),
    ];
    for (vf, needle) in cases {
        let o = env.run(&["edit", "photo.png", "--vf", vf, "-o", "o.png"]);
        assert_eq!(code(&o), 2, "{vf}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{vf}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{vf}");
    }
    assert!(!env.path("o.png").exists());
}

#[test]
fn filters_lists_every_registered_filter() {
    let o = Env::new().run(&["filters"]);
    let text = String::from_utf8(o.stdout).unwrap();
    for spec in mpegs_filters::FILTERS {
        assert!(text.contains(spec.name), "{}", spec.name);
    }
}

#[test]
fn storage_register_reveal_prove_verify() {
    let env = Env::new();
    write_segment(&env.path("seg.mp4"));
    let o = env.run(&[
        "storage", "register", "seg.mp4", "--epochs", "2", "-k", "3", "-o", "ch.json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(env.path("ch.json").exists() && env.path("ch.public.json").exists());
    let o = env.run(&[
        "storage",
        "reveal",
        "ch.json",
        "--epoch",
        "1",
        "--public",
        "ch.public.json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = env.run(&[
        "storage",
        "prove",
        "seg.mp4",
        "--challenge",
        "ch.public.json",
        "--epoch",
        "1",
        "-o",
        "p.json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let verify = |proof: &str, epoch: &str| {
        env.run(&[
            "storage",
            "verify",
            proof,
            "--challenge",
            "ch.public.json",
            "--epoch",
            epoch,
        ])
    };
    let o = verify("p.json", "1");
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));

    // The verifier names the epoch: epoch 1's proof does not answer epoch 0, even
    // once epoch 0 is revealed.
    let o = env.run(&[
        "storage",
        "reveal",
        "ch.json",
        "--epoch",
        "0",
        "--public",
        "ch.public.json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = verify("p.json", "0");
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(code(&o), 1, "{out}");
    assert!(
        out.contains("INVALID") && out.contains("not the verifier's epoch 0"),
        "{out}"
    );

    // A tampered proof: exit 1 with a reason.
    let mut proof: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.path("p.json")).unwrap()).unwrap();
    let hex = proof["proof"].as_str().unwrap().to_string();
    let flipped = if hex.ends_with('0') { "1" } else { "0" };
    proof["proof"] = format!("{}{flipped}", &hex[..hex.len() - 1]).into();
    std::fs::write(env.path("bad.json"), serde_json::to_vec(&proof).unwrap()).unwrap();
    let o = verify("bad.json", "1");
    assert_eq!(code(&o), 1, "{}", String::from_utf8_lossy(&o.stdout));
    assert!(String::from_utf8_lossy(&o.stdout).contains("INVALID"));
    // --json: the verdict, good and bad, with the same exit codes.
    for (proof, valid, exit) in [("p.json", true, 0), ("bad.json", false, 1)] {
        let o = env.run(&[
            "storage",
            "verify",
            proof,
            "--challenge",
            "ch.public.json",
            "--epoch",
            "1",
            "--json",
        ]);
        assert_eq!(code(&o), exit, "{proof}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["valid"], valid, "{v}");
        assert_eq!(v["epoch"], 1);
        assert_eq!(v.get("reason").is_some(), !valid, "{v}");
    }

    // Bad input: exit 2, a message, no panic.
    for (args, needle) in [
        (
            vec![
                "storage",
                "prove",
                "seg.mp4",
                "--challenge",
                "ch.public.json",
                "--epoch",
                "5",
                "-o",
                "q.json",
            ],
            "not been revealed",
        ),
        (
            vec![
                "storage",
                "verify",
                "p.json",
                "--challenge",
                "missing.json",
                "--epoch",
                "1",
            ],
            "missing.json",
        ),
        (
            vec![
                "storage",
                "verify",
                "p.json",
                "--challenge",
                "ch.public.json",
            ],
            "--epoch",
        ),
        (
            vec!["storage", "register", "missing.mp4", "--epochs", "2"],
            "cannot decode",
        ),
    ] {
        let o = env.run(&args);
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"));
    }
    assert!(!env.path("q.json").exists());
}

#[test]
fn transcode_prove_verify_ssim_and_exit_codes() {
    let env = Env::new();
    let ffmpeg = |args: &[&str]| {
        let status = Command::new("ffmpeg")
            .current_dir(env.dir.path())
            .args(["-v", "error", "-y"])
            .args(args)
            .status()
            .expect("ffmpeg");
        assert!(status.success());
    };
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=96x64:rate=30:duration=0.3",
        "-c:v",
        "libx264",
        "-b:v",
        "2M",
        "-pix_fmt",
        "yuv420p",
        "src.mp4",
    ]);
    ffmpeg(&[
        "-i", "src.mp4", "-c:v", "libx264", "-b:v", "300k", "ren.mp4",
    ]);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=96x64:rate=30:duration=0.3",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "other.mp4",
    ]);

    let o = env.run(&["transcode", "ssim", "src.mp4", "ren.mp4"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        out.lines().filter(|l| l.starts_with("n:")).count(),
        9,
        "{out}"
    );
    assert!(out.contains("SSIM Y:0.9"), "{out}");

    let o = env.run(&[
        "transcode",
        "prove",
        "src.mp4",
        "ren.mp4",
        "--samples",
        "3",
        "--threshold",
        "0.8",
        "--beacon",
        "5eed",
        "-o",
        "t.json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // The verifier's beacon and floors (3 samples, 0.8: below the defaults).
    let verify = |extra: &[&str]| {
        let mut args = vec![
            "transcode",
            "verify",
            "t.json",
            "--min-samples",
            "3",
            "--min-threshold",
            "0.8",
        ];
        args.extend_from_slice(extra);
        let o = env.run(&args);
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        (code(&o), out, stderr(&o))
    };
    let (c, out, err) = verify(&[
        "--beacon",
        "5eed",
        "--source",
        "src.mp4",
        "--rendition",
        "ren.mp4",
    ]);
    assert_eq!(c, 0, "{out}{err}");
    assert!(
        out.contains("VALID") && out.contains("verifier's beacon"),
        "{out}"
    );
    assert!(!out.contains("WARNING"), "{out}");
    // The verifier brings another beacon: exit 1, whatever the file says.
    let (c, out, _) = verify(&["--beacon", "5eee"]);
    assert_eq!(c, 1, "{out}");
    assert!(out.contains("INVALID") && out.contains("beacon"), "{out}");
    // Without a beacon the proof holds, but the report says who chose the samples.
    // --json: the verdict alone on stdout, valid or not.
    for (beacon, valid, exit, challenge) in [
        (Some("5eed"), true, 0, "verifier-chosen"),
        (Some("5eee"), false, 1, "verifier-chosen"),
        (None, true, 0, "self-chosen"),
    ] {
        let mut args = vec!["--json"];
        if let Some(b) = beacon {
            args.extend(["--beacon", b]);
        }
        if valid {
            args.extend(["--source", "src.mp4", "--rendition", "ren.mp4"]);
        }
        let (c, out, err) = verify(&args);
        assert_eq!(c, exit, "{args:?}: {out}{err}");
        let v: serde_json::Value = serde_json::from_slice(out.as_bytes()).unwrap();
        assert_eq!(v["valid"], valid, "{v}");
        assert_eq!(v["challenge"], challenge, "{v}");
        assert_eq!(v.get("warning").is_some(), beacon.is_none(), "{v}");
        assert_eq!(v["samples"], 3, "{v}");
    }
    let (c, out, _) = verify(&["--json", "--beacon", "5eed", "--rendition", "other.mp4"]);
    assert_eq!(c, 1);
    let v: serde_json::Value = serde_json::from_slice(out.as_bytes()).unwrap();
    assert!(
        v["reason"].as_str().unwrap().contains("another rendition"),
        "{v}"
    );
    let (c, out, _) = verify(&[]);
    assert_eq!(c, 0, "{out}");
    assert!(out.starts_with("WARNING: self-chosen challenge"), "{out}");
    assert!(out.contains("SELF-CHOSEN"), "{out}");
    // Below the verifier's floors, the default ones (32 samples, 0.9) or given: exit 1.
    for (floors, needle) in [
        (vec![], "floor of 32"),
        (
            vec!["--min-samples", "4", "--min-threshold", "0.8"],
            "floor of 4",
        ),
        (
            vec!["--min-samples", "3", "--min-threshold", "0.9"],
            "floor of 0.9",
        ),
    ] {
        let mut args = vec!["transcode", "verify", "t.json", "--beacon", "5eed"];
        args.extend_from_slice(&floors);
        let o = env.run(&args);
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(code(&o), 1, "{floors:?}: {out}");
        assert!(out.contains("INVALID") && out.contains(needle), "{out}");
    }
    // A malformed policy is bad input: exit 2.
    let (c, _, err) = verify(&["--beacon", "xyz"]);
    assert_eq!(c, 2, "{err}");
    assert!(err.contains("beacon"), "{err}");
    // Checked against another rendition: exit 1.
    let (c, out, _) = verify(&["--beacon", "5eed", "--rendition", "other.mp4"]);
    assert_eq!(c, 1);
    assert!(out.contains("another rendition"), "{out}");
    // Another clip cannot be proven; a missing file or a bad threshold is exit 2.
    let o = env.run(&[
        "transcode",
        "prove",
        "src.mp4",
        "other.mp4",
        "--samples",
        "3",
        "-o",
        "x.json",
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("below the threshold"), "{}", stderr(&o));
    assert!(!env.path("x.json").exists());
    let o = env.run(&["transcode", "prove", "src.mp4", "nope.mp4", "-o", "x.json"]);
    assert_eq!(code(&o), 2);
    let o = env.run(&[
        "transcode",
        "prove",
        "src.mp4",
        "ren.mp4",
        "--threshold",
        "2",
        "-o",
        "x.json",
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("threshold"), "{}", stderr(&o));
}

#[test]
fn chain_deploy_register_status_and_a_storage_deal_on_the_embedded_evm() {
    let env = Env::new();
    let chain = |args: &[&str]| {
        let mut all = vec!["chain", "--state", "chain.json"];
        all.extend_from_slice(args);
        env.run(&all)
    };
    let stdout = |o: &Output| String::from_utf8_lossy(&o.stdout).into_owned();

    // Before deployment: a clear message, exit 2.
    let o = chain(&[
        "status",
        "0x0000000000000000000000000000000000000000000000000000000000000001",
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("mpegs chain deploy"), "{}", stderr(&o));

    let o = chain(&["deploy"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("MediaRegistry 0x"), "{}", stdout(&o));
    let o = chain(&["deploy"]);
    assert!(stdout(&o).contains("already deployed"), "{}", stdout(&o));

    write_image(&env.path("photo.png"), 16, 8);
    assert_eq!(code(&env.run(&["keygen", "-o", "device.key"])), 0);
    let o = env.run(&["attest", "photo.png", "--key", "device.key", "--tile", "8"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = env.run(&["edit", "photo.png", "--vf", "hflip", "-o", "out.png", "-q"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));

    let o = chain(&["register", "out.png"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains(" original (") && stdout(&o).contains(" edit ("),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("2 proofs verified"), "{}", stdout(&o));
    let o = chain(&["register", "out.png"]);
    assert!(
        stdout(&o).contains("already registered (edit)"),
        "{}",
        stdout(&o)
    );
    let o = chain(&["status", "out.png", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["valid"], true, "{s}");
    assert_eq!(s["entries"].as_array().unwrap().len(), 2, "{s}");
    assert_eq!(s["entries"][0]["kind"], "edit", "{s}");
    // Another account's registration of the same history: the same records,
    // registered by someone else, who gains nothing from it.
    let o = chain(&["--account", "1", "register", "out.png"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("already registered (edit, by 0x"),
        "{}",
        stdout(&o)
    );
    // A bare commitment is looked up under the device given.
    let edit_c = s["entries"][0]["commitment"].as_str().unwrap().to_string();
    let device = s["entries"][0]["device"].as_str().unwrap().to_string();
    let o = chain(&["status", &edit_c, "--device", &device]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = chain(&["status", &edit_c, "--json"]);
    assert_eq!(code(&o), 1, "no device: no verified record to show");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["reason"].as_str().unwrap().contains("--device"), "{v}");
    let o = chain(&["status", "out.png"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("every tile proof verified on-chain"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("device signature verified on-chain"),
        "{}",
        stdout(&o)
    );
    let o = chain(&[
        "status",
        "0x0000000000000000000000000000000000000000000000000000000000000001",
    ]);
    assert_eq!(code(&o), 1, "an unregistered commitment");

    // A tampered picture is refused before anything is sent.
    let mut tampered = load_image(&env.path("out.png")).unwrap();
    tampered.data[0] ^= 1;
    save_png_atomic(&tampered, &env.path("tampered.png")).unwrap();
    let o = chain(&["register", "tampered.png", "--bundle", "out.png.mpegs.json"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("does not verify"), "{}", stderr(&o));

    // A storage deal: two epochs, one proven and paid, one missed and refunded.
    write_segment(&env.path("seg.mp4"));
    let run_ok = |args: &[&str]| {
        let o = env.run(args);
        assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
        o
    };
    run_ok(&[
        "storage", "register", "seg.mp4", "--epochs", "2", "-k", "2", "-o", "ch.json",
    ]);
    let o = chain(&["--account", "1", "address"]);
    let worker = stdout(&o).trim().to_string();
    assert!(worker.starts_with("0x") && worker.len() == 42, "{worker}");

    // The client proposes (binding both challenge files to this deal), the worker
    // checks the offer against its own segment and signs, the client opens.
    let o = chain(&[
        "storage",
        "propose",
        "--challenge",
        "ch.public.json",
        "--secret",
        "ch.json",
        "--deposit",
        "2ether",
        "--worker",
        &worker,
        "--collateral",
        "0.5ether",
        "-o",
        "proposal.json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = chain(&[
        "--account",
        "1",
        "storage",
        "sign",
        "proposal.json",
        "seg.mp4",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let signature = stdout(&o).trim().to_string();
    assert!(signature.starts_with("0x"), "{signature}");
    // A signature by another account than the named worker is refused on-chain.
    let o = chain(&[
        "--account",
        "2",
        "storage",
        "sign",
        "proposal.json",
        "seg.mp4",
    ]);
    if code(&o) == 0 {
        let forged = stdout(&o).trim().to_string();
        let o = chain(&["storage", "open", "proposal.json", "--signature", &forged]);
        assert_eq!(code(&o), 1, "{}", stderr(&o));
    }
    let o = chain(&[
        "storage",
        "open",
        "proposal.json",
        "--signature",
        &signature,
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("deal 1 opened with"), "{}", stdout(&o));
    // Only the named worker accepts.
    let o = chain(&["--account", "2", "storage", "accept", "1"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("named worker"), "{}", stderr(&o));
    assert_eq!(
        code(&chain(&["--account", "1", "storage", "accept", "1"])),
        0
    );
    assert_eq!(
        code(&chain(&[
            "storage", "reveal", "1", "--secret", "ch.json", "--epoch", "0"
        ])),
        0
    );
    // The worker proves from the chain's challenge and deal context.
    let o = chain(&[
        "--account",
        "1",
        "storage",
        "prove",
        "1",
        "seg.mp4",
        "--epoch",
        "0",
        "-o",
        "p0.json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let submit = || {
        chain(&[
            "--account",
            "1",
            "storage",
            "submit",
            "1",
            "--proof",
            "p0.json",
        ])
    };
    let o = submit();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = submit();
    assert_eq!(code(&o), 1, "a replayed proof");
    assert!(stderr(&o).contains("already settled"), "{}", stderr(&o));
    assert_eq!(code(&chain(&["advance", "3600"])), 0);
    assert_eq!(
        code(&chain(&[
            "storage", "reveal", "1", "--secret", "ch.json", "--epoch", "1"
        ])),
        0
    );
    let o = chain(&["storage", "settle", "1", "--epoch", "1"]);
    assert_eq!(code(&o), 1, "settled inside the proof window");
    assert_eq!(code(&chain(&["advance", "700"])), 0);
    let o = chain(&["storage", "settle", "1", "--epoch", "1"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("credited back"), "{}", stdout(&o));
    let o = chain(&["--account", "1", "storage", "withdraw"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("1500000000000000000 wei withdrawn"),
        "{}",
        stdout(&o)
    );
    let o = chain(&["--account", "1", "storage", "withdraw"]);
    assert_eq!(code(&o), 1, "nothing left to withdraw");
    // Revocation: neither a stranger nor the edit's registrant may; the device
    // may, through a signature any account relays. Status then exits 1.
    for account in ["2", "0"] {
        let o = chain(&[
            "--account",
            account,
            "revoke",
            "out.png",
            "--reason",
            "mine",
        ]);
        assert_eq!(code(&o), 1, "{}", stderr(&o));
        assert!(
            stderr(&o).contains("no record of this commitment by this device"),
            "{}",
            stderr(&o)
        );
    }
    let o = chain(&[
        "--account",
        "2",
        "revoke",
        "out.png",
        "--reason",
        "wrong crop",
        "--device-key",
        "device.key",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = chain(&["status", "out.png", "--json"]);
    assert_eq!(code(&o), 1, "a revoked edit");
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["valid"], false, "{s}");
    assert!(s["reason"].as_str().unwrap().contains("revoked"), "{s}");
    assert!(s["revoked"]["at"].as_u64().is_some(), "{s}");
    let o = chain(&["status", "out.png"]);
    assert_eq!(code(&o), 1, "a revoked edit");
    assert!(stdout(&o).contains("REVOKED at"), "{}", stdout(&o));
    let o = chain(&[
        "--account",
        "2",
        "revoke",
        "photo.png",
        "--reason",
        "device key leaked",
        "--device-key",
        "device.key",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = chain(&["status", "photo.png"]);
    assert_eq!(code(&o), 1, "a revoked original");
    assert!(stderr(&o).contains("REVOKED"), "{}", stderr(&o));

    let o = chain(&["storage", "status", "1", "--json"]);
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["epochs"][0]["state"], "paid");
    assert_eq!(s["epochs"][1]["state"], "refunded");

    // Bad input: exit 2 with a message.
    for (args, needle) in [
        (vec!["register", "missing.png"], "missing.png"),
        (
            vec![
                "storage",
                "propose",
                "--challenge",
                "ch.public.json",
                "--secret",
                "ch.json",
                "--deposit",
                "1.5parsecs",
                "--worker",
                "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
                "-o",
                "never.json",
            ],
            "not an amount",
        ),
        (
            vec![
                "storage",
                "propose",
                "--challenge",
                "ch.public.json",
                "--secret",
                "ch.json",
                "--deposit",
                "1ether",
                "--worker",
                "bob",
                "-o",
                "never.json",
            ],
            "not a 0x… address",
        ),
        (
            vec!["storage", "status", "1", "--account", "9"],
            "development accounts",
        ),
        (
            vec!["--rpc-url", "http://127.0.0.1:9", "deploy"],
            "cannot reach",
        ),
    ] {
        let o = chain(&args);
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"));
    }
    assert!(
        !env.path("never.json").exists(),
        "a refused proposal leaves no file"
    );
}

/// `mpegs ARGS` as `env.run` runs it, before it is started (to add variables).
fn mpegs(env: &Env, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mpegs"));
    cmd.args(args)
        .env("MPEGS_HOME", env.path("home"))
        .env_remove("MPEGS_CHAIN_KEY")
        .env_remove("MPEGS_RPC_URL")
        .current_dir(env.dir.path());
    cmd
}

/// What a new user does: README.md's commands in the order it lists them
/// (keygen, attest, edit, verify, then chain deploy, register, status), with
/// default paths, starting from a home folder that does not exist yet.
#[test]
fn the_readme_commands_work_in_order_on_a_fresh_home() {
    let env = Env::new();
    assert!(!env.path("home").exists());
    write_image(&env.path("photo.png"), 16, 8);
    for args in [
        &["keygen", "-o", "device.key"][..],
        &["attest", "photo.png", "--key", "device.key", "--tile", "8"],
        &["edit", "photo.png", "--vf", "hflip", "-o", "out.png", "-q"],
        &["verify", "out.png"],
        &["verify", "photo.png"],
        &["chain", "deploy"],
        &["chain", "register", "out.png"],
        &["chain", "status", "out.png"],
    ] {
        let o = mpegs(&env, args).output().unwrap();
        assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
    }
    assert!(env.path("home/chain/embedded.json").is_file());
    assert!(env.path("home/chain/embedded.deployment.json").is_file());
}

/// Concurrent `mpegs chain` runs on one state file take turns: each of six
/// deployments (two transactions each) is in the state, none overwritten by a
/// run that read the state before another saved it.
#[test]
fn concurrent_chain_runs_lose_no_transaction() {
    let env = Env::new();
    const RUNS: usize = 6;
    let children: Vec<_> = (0..RUNS)
        .map(|_| {
            mpegs(&env, &["chain", "--state", "s.json", "deploy", "--force"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let o = child.wait_with_output().unwrap();
        assert_eq!(code(&o), 0, "{}", stderr(&o));
    }
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.path("s.json")).unwrap()).unwrap();
    assert_eq!(state["block_number"], 2 * RUNS, "one block per transaction");
    let deployer = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
    let nonce = state["accounts"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(address, _)| address.to_lowercase() == deployer)
        .map(|(_, account)| account["nonce"].clone());
    assert_eq!(nonce, Some(serde_json::json!(2 * RUNS)));
}

#[test]
fn chain_keys_conflicting_or_readable_by_others_are_refused() {
    let env = Env::new();
    let key = "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
    std::fs::write(env.path("chain.key"), key).unwrap();
    let deploy = |extra: &[&str], env_key: Option<&str>| {
        let mut args = vec!["chain", "--state", "s.json"];
        args.extend_from_slice(extra);
        args.push("deploy");
        let mut cmd = mpegs(&env, &args);
        if let Some(k) = env_key {
            cmd.env("MPEGS_CHAIN_KEY", k);
        }
        cmd.output().unwrap()
    };
    let refused = |o: &Output, needle: &str| {
        assert_eq!(code(o), 2, "{}", stderr(o));
        assert!(stderr(o).contains(needle), "{}", stderr(o));
        assert!(!stderr(o).contains("panicked"));
    };
    refused(
        &deploy(&["--account", "1"], Some(key)),
        "--account 1 and MPEGS_CHAIN_KEY",
    );
    use std::os::unix::fs::PermissionsExt;
    let chmod = |mode| {
        std::fs::set_permissions(env.path("chain.key"), std::fs::Permissions::from_mode(mode))
            .unwrap()
    };
    chmod(0o600);
    refused(
        &deploy(&["--account", "1", "--key-file", "chain.key"], None),
        "--account 1 and --key-file",
    );
    chmod(0o644);
    refused(&deploy(&["--key-file", "chain.key"], None), "chmod 600");
    assert!(!env.path("s.json").exists(), "nothing was sent");
    chmod(0o600);
    let o = deploy(&["--key-file", "chain.key"], None);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let owner = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(owner),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn content_credentials_sign_verify_and_refuse_tampering() {
    let env = Env::new();
    write_image(&env.path("photo.png"), 16, 8);
    assert_eq!(code(&env.run(&["keygen", "-o", "device.key"])), 0);
    let o = env.run(&["attest", "photo.png", "--key", "device.key", "--tile", "8"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = env.run(&[
        "edit",
        "photo.png",
        "--vf",
        "crop=8:8:4:0,hflip",
        "-o",
        "out.png",
        "-q",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = env.run(&["c2pa", "cert", "-o", "pki"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("UNTRUSTED"));
    // The same folder again: the key is not overwritten.
    assert_eq!(code(&env.run(&["c2pa", "cert", "-o", "pki"])), 2);

    let sign = [
        "c2pa",
        "sign",
        "out.png",
        "--cert",
        "pki/chain.pem",
        "--key",
        "pki/signer.key",
    ];
    let o = env.run(&sign);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // verify finds the manifest by itself: no sidecar next to out.c2pa.png.
    assert!(!env.path("out.c2pa.png.mpegs.json").exists());
    let o = env.run(&["verify", "out.c2pa.png"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(code(&o), 0, "{out}{}", stderr(&o));
    assert!(
        out.contains("VALID: Content Credentials and mpegs proofs both verify"),
        "{out}"
    );
    assert!(
        out.contains("signingCredential.untrusted"),
        "a warning: {out}"
    );
    let o = env.run(&["verify", "out.c2pa.png", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["valid"], true);
    assert_eq!(json["c2pa"]["valid"], true);
    assert_eq!(json["mpegs"]["valid"], true);
    let o = env.run(&[
        "c2pa",
        "read",
        "out.c2pa.png",
        "--trust",
        "pki/ca.pem",
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["trusted"], true, "{json}");

    // A changed pixel with the manifest kept: exit 1.
    let mut tampered = load_image(&env.path("out.c2pa.png")).unwrap();
    tampered.data[0] ^= 1;
    save_png_atomic(&tampered, &env.path("t.png")).unwrap();
    let mut signed = std::fs::read(env.path("out.c2pa.png")).unwrap();
    let plain = std::fs::read(env.path("t.png")).unwrap();
    // Swap the IDAT: keep everything else of the signed file.
    let idat = |b: &[u8]| {
        let at = b.windows(4).position(|w| w == b"IDAT").unwrap() - 4;
        let len = u32::from_be_bytes(b[at..at + 4].try_into().unwrap()) as usize;
        (at, at + 12 + len)
    };
    let (s0, s1) = idat(&signed);
    let (p0, p1) = idat(&plain);
    signed.splice(s0..s1, plain[p0..p1].iter().copied());
    std::fs::write(env.path("tampered.c2pa.png"), &signed).unwrap();
    let o = env.run(&["verify", "tampered.c2pa.png"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(code(&o), 1, "{out}");
    assert!(
        out.contains("INVALID") && out.contains("dataHash.mismatch"),
        "{out}"
    );

    // A tampered output is never signed; bad keys are a usage error.
    save_png_atomic(&tampered, &env.path("t2.png")).unwrap();
    let o = env.run(&[
        "c2pa",
        "sign",
        "t2.png",
        "--bundle",
        "out.png.mpegs.json",
        "--cert",
        "pki/chain.pem",
        "--key",
        "pki/signer.key",
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(!env.path("t2.c2pa.png").exists());
    let o = env.run(&[
        "c2pa",
        "sign",
        "out.png",
        "--cert",
        "pki/signer.key",
        "--key",
        "pki/signer.key",
        "-o",
        "x.png",
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("certificate"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
    // A PNG without a manifest: `c2pa read` says so; `verify` uses the sidecar.
    assert_eq!(code(&env.run(&["c2pa", "read", "out.png"])), 1);
    assert_eq!(code(&env.run(&["verify", "out.png"])), 0);
}
