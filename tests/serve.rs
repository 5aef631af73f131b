//! The real binary: `comptoir serve --demo` on a machine with no database configured
//! starts its private cluster, answers ready, stops cleanly and keeps its data.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The running server; killed, with its cluster, if the test fails before stopping it.
struct Server(Option<Child>, std::path::PathBuf);

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
            if let Ok(cluster) = projections::db::Cluster::new(self.1.join("postgres")) {
                let _ = cluster.stop();
            }
        }
    }
}

fn start(data_dir: &Path, demo: bool) -> (Server, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_comptoir"));
    command
        .arg("--data-dir")
        .arg(data_dir)
        .arg("serve")
        .args(["--bind", "127.0.0.1:0"])
        .env_remove("DATABASE_URL")
        .env("COMPTOIR_CONFIG", "/dev/null")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if demo {
        command.arg("--demo");
    }
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(address) = line.strip_prefix("comptoir listening on ") {
                let _ = tx.send(address.to_owned());
            }
        }
    });
    let server = Server(Some(child), data_dir.to_path_buf());
    let address = rx
        .recv_timeout(Duration::from_secs(600))
        .expect("the server never said where it listens");
    (server, address)
}

fn stop(mut server: Server) {
    let Some(mut child) = server.0.take() else {
        return;
    };
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "serve exited with {status}");
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("serve did not stop on SIGTERM");
}

async fn ready(address: &str) -> serde_json::Value {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(response) = client.get(format!("{address}/health/ready")).send().await {
            if response.status() == 200 {
                return response.json().await.unwrap();
            }
        }
        assert!(Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn serve_demo_starts_its_own_database_answers_ready_and_survives_a_restart() {
    let dir = tempfile::Builder::new()
        .prefix("cpt")
        .tempdir_in("/tmp")
        .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = dir.path().join("data");

    let (child, address) = start(&data, true);
    let body = ready(&address).await;
    assert_eq!(body["database"], "ok");
    let health: serde_json::Value = reqwest::get(format!("{address}/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let positions: Vec<i64> = body["projections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["position"].as_i64().unwrap())
        .collect();
    assert!(
        positions.len() >= 8 && positions.iter().all(|p| *p > 1000),
        "{body}"
    );
    stop(child);
    assert!(data.join("postgres/PG_VERSION").exists());
    let cluster = projections::db::Cluster::new(data.join("postgres")).unwrap();
    assert!(!cluster.is_running(), "the cluster stops with the server");

    // The first owner of a real shop comes from the command line.
    let staff = |password: &str, role: &str| {
        Command::new(env!("CARGO_BIN_EXE_comptoir"))
            .arg("--data-dir")
            .arg(&data)
            .args([
                "staff",
                "create",
                "--email",
                "Boss@Shop.test",
                "--role",
                role,
            ])
            .args(["--name", "La patronne"])
            .env_remove("DATABASE_URL")
            .env("COMPTOIR_CONFIG", "/dev/null")
            .env("COMPTOIR_PASSWORD", password)
            .output()
            .unwrap()
    };
    let short = staff("court", "owner");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 12 characters"));
    let bad_role = staff("une phrase de passe solide", "king");
    assert!(!bad_role.status.success());
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("`king` is not one of"));
    let created = staff("une phrase de passe solide", "owner");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert!(String::from_utf8_lossy(&created.stdout).contains("created staff account"));
    let again = staff("une phrase de passe solide", "owner");
    assert!(!again.status.success(), "the address is taken");
    let cli = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_comptoir"))
            .arg("--data-dir")
            .arg(&data)
            .arg("staff")
            .args(args)
            .env_remove("DATABASE_URL")
            .env("COMPTOIR_CONFIG", "/dev/null")
            .env("COMPTOIR_PASSWORD", "une autre phrase solide")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        (output.status.success(), text)
    };
    let (ok, text) = cli(&["role", "--email", "boss@shop.test", "--role", "manager"]);
    assert!(ok && text.contains("is now manager"), "{text}");
    let (ok, text) = cli(&["password", "--email", "BOSS@shop.test"]);
    assert!(ok && text.contains("sessions are ended"), "{text}");
    let (ok, text) = cli(&["disable", "--email", "boss@shop.test"]);
    assert!(ok, "{text}");
    let (ok, text) = cli(&["enable", "--email", "boss@shop.test"]);
    assert!(ok, "{text}");
    let (ok, text) = cli(&["role", "--email", "boss@shop.test", "--role", "owner"]);
    assert!(ok, "{text}");
    let (ok, text) = cli(&["disable", "--email", "nobody@shop.test"]);
    assert!(
        !ok && text.contains("no staff account has the address"),
        "{text}"
    );
    let (ok, text) = cli(&["list"]);
    assert!(
        ok && text.contains("Boss@shop.test") && text.contains("active"),
        "{text}"
    );
    assert!(
        !cluster.is_running(),
        "the command stops the cluster it started"
    );

    // Restart without --demo: the same data, nothing seeded twice.
    let (child, address) = start(&data, false);
    let again = ready(&address).await;
    let catalog = |v: &serde_json::Value| {
        v["projections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "catalog")
            .unwrap()["position"]
            .as_i64()
            .unwrap()
    };
    assert!(catalog(&again) >= catalog(&body));
    let mut conn = sqlx::ConnectOptions::connect(&cluster.connect_options("comptoir"))
        .await
        .unwrap();
    let categories: i64 =
        sqlx::query_scalar("select count(*) from events where event_type = 'CategoryCreated'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    let products: i64 = sqlx::query_scalar("select count(*) from catalog_products")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        (categories, products),
        (3, 160),
        "the demo is loaded once and kept"
    );
    let staff: Vec<(String, String)> =
        sqlx::query_as("select email, role from staff_accounts order by lower(email)")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        staff,
        [
            ("Boss@shop.test".to_owned(), "owner".to_owned()),
            ("demo@comptoir.test".to_owned(), "owner".to_owned())
        ]
    );
    sqlx::Connection::close(conn).await.unwrap();
    stop(child);
    assert!(
        !cluster.is_running(),
        "the cluster stops with the server after a restart too"
    );
}
