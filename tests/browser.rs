//! The staff admin in a real browser: `comptoir serve --demo`, then `tests/browser/e2e.mjs`
//! drives Debian's headless Chromium through it with playwright-core (sign-in, dashboard,
//! categories, a product with live validation, publication, stock, the public API, the
//! product's images (real photos from `tests/fixtures/images` dropped or picked, a progress
//! bar each, reordered by dragging and with the move buttons, an alt text, a deletion),
//! orders placed through the API and walked to completion or cancelled in the admin,
//! reviews moderated, the audit trail, a support account that may look but not change,
//! preferences, sign-out), on a desktop and on a phone, then with JavaScript off, then
//! through axe-core's WCAG 2.1 A/AA rules on every page in both themes. Then the same
//! shop served again with its images in an S3-compatible bucket (s3s-fs, as in
//! `tests/media.rs`): photos dropped go straight to the bucket with presigned PUTs.
//! Screenshots go to `screenshots/` at the root of the repository.
//!
//! Needs `/usr/bin/chromium` and `tests/browser/node_modules`: the test runs
//! `scripts/browser-deps` first, which installs what is missing; and s3s-fs, built by
//! `scripts/s3-deps`. Without them this test fails; it never skips.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const REPO: &str = env!("CARGO_MANIFEST_DIR");
const CHROMIUM: &str = "/usr/bin/chromium";

/// Kills the server (if still running) and stops its cluster when the test ends early.
#[derive(Debug)]
struct Cleanup {
    server: Option<Child>,
    data_dir: PathBuf,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(mut child) = self.server.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Ok(cluster) = projections::db::Cluster::new(self.data_dir.join("postgres")) {
            if cluster.is_running() {
                let _ = cluster.stop();
            }
        }
    }
}

/// What `serve --demo` printed that the browser needs.
#[derive(Debug)]
enum Said {
    Owner { email: String, password: String },
    Listening(String),
}

fn comptoir(data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_comptoir"));
    command
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("DATABASE_URL")
        .env_remove("COMPTOIR_DATA_DIR")
        .env_remove("COMPTOIR_BIND")
        .env_remove("COMPTOIR_PUBLIC_URL")
        // Images in local files unless a pass says otherwise.
        .env_remove("COMPTOIR_MEDIA_STORE")
        .env_remove("COMPTOIR_MEDIA_DIR")
        .env_remove("COMPTOIR_MEDIA_BASE_URL")
        .env("COMPTOIR_CONFIG", "/dev/null");
    command
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Installs what is missing (`scripts/browser-deps`: apt-get, npm ci), so that
/// `cargo test --workspace` is the whole suite on a fresh machine too; fails, never skips,
/// when that is not possible.
fn prerequisites() {
    let script = Path::new(REPO).join("scripts/browser-deps");
    let installed = Command::new("bash").arg(&script).status();
    if !matches!(installed, Ok(status) if status.success()) {
        eprintln!("scripts/browser-deps failed: {installed:?}");
    }
    let node_modules = Path::new(REPO).join("tests/browser/node_modules/playwright-core");
    let mut missing = Vec::new();
    if !Path::new(CHROMIUM).exists() {
        missing.push(format!("{CHROMIUM} (Debian's chromium package)"));
    }
    if !node_modules.exists() {
        missing.push(format!("{}", node_modules.display()));
    }
    if Command::new("node").arg("--version").output().is_err() {
        missing.push("node (Node.js) on the PATH".to_owned());
    }
    if !common::s3s_fs().exists() {
        missing.push(format!(
            "{} (run scripts/s3-deps)",
            common::s3s_fs().display()
        ));
    }
    assert!(
        missing.is_empty(),
        "the browser test needs {}: run `scripts/browser-deps` first (it installs Chromium \
         with apt-get and playwright-core with npm ci)",
        missing.join(", ")
    );
}

/// Starts `command` (a `comptoir serve`), its output read on a thread; returns what it
/// printed that the browser needs once it listens: the demo owner (printed by the first
/// start only) and its address.
fn start(
    cleanup: &mut Cleanup,
    mut command: Command,
    log: &Path,
    wait_for_owner: bool,
) -> (Option<(String, String)>, String) {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    cleanup.server = Some(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("serve: {line}");
            if let Some(rest) = line.strip_prefix("demo owner: ") {
                if let Some((email, password)) = rest.split_once(" / ") {
                    let _ = tx.send(Said::Owner {
                        email: email.trim().to_owned(),
                        password: password.trim().to_owned(),
                    });
                }
            } else if let Some(address) = line.strip_prefix("comptoir listening on ") {
                let _ = tx.send(Said::Listening(address.trim().to_owned()));
            }
        }
    });
    // The first start creates the cluster and writes the demo shop: minutes on a slow machine.
    let deadline = Instant::now() + Duration::from_secs(600);
    let (mut owner, mut base_url) = (None, None);
    while (wait_for_owner && owner.is_none()) || base_url.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Said::Owner { email, password }) => owner = Some((email, password)),
            Ok(Said::Listening(address)) => base_url = Some(address),
            Err(_) => panic!(
                "serve never printed {}`comptoir listening on ...` \
                 (owner: {}, address: {base_url:?}); its log ends with:\n{}",
                if wait_for_owner {
                    "both `demo owner: ...` and "
                } else {
                    ""
                },
                owner.is_some(),
                tail(log, 40)
            ),
        }
    }
    (owner, base_url.unwrap())
}

/// Runs `tests/browser/e2e.mjs` against `base_url` with `env`; fails with its output and
/// the end of the server's log.
fn e2e(base_url: &str, env: &[(&str, String)], log: &Path, screenshots: &Path) {
    let started = Instant::now();
    let e2e = Command::new("node")
        .arg("tests/browser/e2e.mjs")
        .current_dir(REPO)
        .env("BASE_URL", base_url)
        .env("SCREENSHOTS", screenshots)
        .env("CHROMIUM", CHROMIUM)
        .envs(env.iter().map(|(name, value)| (*name, value)))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&e2e.stdout);
    let err = String::from_utf8_lossy(&e2e.stderr);
    println!("{out}");
    assert!(
        e2e.status.success(),
        "node tests/browser/e2e.mjs failed ({}) after {:.1} s against {base_url}\n\
         --- stdout\n{out}\n--- stderr\n{err}\n--- end of the server's log\n{}\n\
         (screenshots in {})",
        e2e.status,
        started.elapsed().as_secs_f64(),
        tail(log, 30),
        screenshots.display()
    );
}

/// SIGTERM: the server stops gracefully and takes its cluster down with it.
fn stop(cleanup: &mut Cleanup, log: &Path) {
    let mut child = cleanup.server.take().unwrap();
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(
                status.success(),
                "serve exited with {status}; its log ends with:\n{}",
                tail(log, 30)
            );
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("serve did not stop within 60 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_admin_works_in_a_real_browser() {
    prerequisites();
    let dir = tempfile::Builder::new()
        .prefix("cpt-browser")
        .tempdir_in("/tmp")
        .unwrap();
    // The cluster runs as user postgres when the tests run as root.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = dir.path().join("data");
    let mut cleanup = Cleanup {
        server: None,
        data_dir: data.clone(),
    };

    // The storefront API needs a key; created before the demo (it writes no event).
    let created = comptoir(&data)
        .args(["api-key", "create", "--name", "e2e"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&created.stdout);
    assert!(
        created.status.success(),
        "api-key create failed ({}):\n{stdout}\n{}",
        created.status,
        String::from_utf8_lossy(&created.stderr)
    );
    let api_key = stdout
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default()
        .to_owned();
    assert!(api_key.starts_with("ck_"), "no key printed:\n{stdout}");

    let screenshots = Path::new(REPO).join("screenshots");
    let _ = std::fs::remove_dir_all(&screenshots);
    std::fs::create_dir_all(&screenshots).unwrap();

    // The demo shop with its images in local files.
    let log = dir.path().join("serve.log");
    let mut serve = comptoir(&data);
    serve
        .args(["serve", "--demo", "--bind", "127.0.0.1:0"])
        // Each phone or desktop pass places 2 orders and posts 3 reviews within seconds:
        // the default 5 writes a minute would refuse the second pass. The limit itself is
        // tested in tests/api.rs.
        .env("COMPTOIR_WRITE_RATE_PER_MINUTE", "60");
    let (owner, base_url) = start(&mut cleanup, serve, &log, true);
    let (email, password) = owner.unwrap();
    let signed_in = [
        ("ADMIN_EMAIL", email),
        ("ADMIN_PASSWORD", password),
        ("API_KEY", api_key),
    ];
    e2e(&base_url, &signed_in, &log, &screenshots);
    stop(&mut cleanup, &log);

    // The same shop served again, its images in an S3-compatible bucket: the browser
    // uploads to the bucket itself.
    let bucket = common::S3Server::start();
    let log = dir.path().join("serve-s3.log");
    let mut serve = comptoir(&data);
    serve
        .args(["serve", "--bind", "127.0.0.1:0"])
        .envs(bucket.env());
    let (_, base_url) = start(&mut cleanup, serve, &log, false);
    let mut env = signed_in.to_vec();
    env.extend([
        ("STORE", "s3".to_owned()),
        ("S3_ORIGIN", bucket.endpoint.clone()),
        ("S3_BUCKET_DIR", bucket.bucket_dir().display().to_string()),
        (
            "MEDIA_BASE_URL",
            common::S3Server::PUBLIC_BASE_URL.to_owned(),
        ),
    ]);
    e2e(&base_url, &env, &log, &screenshots);
    stop(&mut cleanup, &log);
    assert_eq!(
        bucket.files("incoming/"),
        Vec::<String>::new(),
        "uploads left in the bucket's incoming/"
    );
    assert!(!bucket.files("images/").is_empty());
}
