//! The `ftry` command line: help, version, configuration precedence and
//! errors, migrations, seeding, and the refusal to run as an unsafe role.

mod support;

use std::process::Output;

use support::{admin_url, ftry_command, TestDb};

fn run(args: &[&str], envs: &[(&str, &str)], cwd: &std::path::Path) -> Output {
    let mut command = ftry_command();
    command.args(args).current_dir(cwd);
    for (k, v) in envs {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_explains_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let top = run(&["--help"], &[], dir.path());
    assert_eq!(top.status.code(), Some(0));
    let top = text(&top.stdout);
    for command in ["serve", "migrate", "seed", "config", "version"] {
        assert!(
            top.contains(&format!("  {command}")),
            "{command} missing from:\n{top}"
        );
    }
    let expectations: [(&[&str], &str); 5] = [
        (&["serve", "--help"], "Run the HTTP service"),
        (&["migrate", "--help"], "Apply pending database migrations"),
        (&["seed", "--help"], "The demo salon"),
        (&["config", "check", "--help"], "every secret redacted"),
        (&["version", "--help"], "Print the version"),
    ];
    for (args, phrase) in expectations {
        let output = run(args, &[], dir.path());
        assert_eq!(output.status.code(), Some(0), "{args:?}");
        assert!(
            text(&output.stdout).contains(phrase),
            "{args:?}: {}",
            text(&output.stdout)
        );
    }
}

#[test]
fn version_names_the_release_and_commit() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(&["version"], &[], dir.path());
    assert_eq!(output.status.code(), Some(0));
    let line = text(&output.stdout);
    assert!(
        line.starts_with(&format!("ftry {} (", env!("CARGO_PKG_VERSION"))),
        "{line}"
    );
}

#[test]
fn defaults_then_file_then_environment() {
    let dir = tempfile::tempdir().unwrap();
    let defaults = text(&run(&["config", "check"], &[], dir.path()).stdout);
    assert!(defaults.contains("data_dir = \"./ftry-data\""), "{defaults}");
    assert!(defaults.contains("addr = \"127.0.0.1:8080\""), "{defaults}");
    assert!(defaults.contains("auth = \"20/1m\""), "{defaults}");

    std::fs::write(
        dir.path().join("ftry.toml"),
        "[http]\naddr = \"127.0.0.1:9000\"\nbody_limit_bytes = 2048\n[log]\nformat = \"pretty\"\n",
    )
    .unwrap();
    let from_file = text(&run(&["config", "check"], &[], dir.path()).stdout);
    assert!(from_file.contains("addr = \"127.0.0.1:9000\""), "{from_file}");
    assert!(from_file.contains("body_limit_bytes = 2048"), "{from_file}");
    assert!(from_file.contains("format = \"pretty\""), "{from_file}");

    let from_env = text(
        &run(
            &["config", "check"],
            &[
                ("FTRY_HTTP_ADDR", "127.0.0.1:9100"),
                ("FTRY_RATE_LIMIT_AUTH", "5/30s"),
            ],
            dir.path(),
        )
        .stdout,
    );
    assert!(from_env.contains("addr = \"127.0.0.1:9100\""), "{from_env}");
    assert!(from_env.contains("body_limit_bytes = 2048"), "{from_env}");
    assert!(from_env.contains("auth = \"5/30s\""), "{from_env}");
}

#[test]
fn an_explicit_config_file_is_used_and_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("elsewhere.toml");
    std::fs::write(&file, "data_dir = \"/var/lib/ftry\"\n").unwrap();
    let output = run(
        &["--config", file.to_str().unwrap(), "config", "check"],
        &[],
        dir.path(),
    );
    assert!(text(&output.stdout).contains("data_dir = \"/var/lib/ftry\""));
    let via_env = run(
        &["config", "check"],
        &[("FTRY_CONFIG", file.to_str().unwrap())],
        dir.path(),
    );
    assert!(text(&via_env.stdout).contains("data_dir = \"/var/lib/ftry\""));

    let missing = run(
        &["--config", "/nonexistent/ftry.toml", "config", "check"],
        &[],
        dir.path(),
    );
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(
        text(&missing.stderr).trim(),
        "ftry: invalid configuration: config file /nonexistent/ftry.toml does not exist or is not a file"
    );
}

#[test]
fn invalid_values_stop_startup_with_one_line_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, &str); 6] = [
        ("FTRY_HTTP_ADDR", "nonsense", "http.addr"),
        ("FTRY_RATE_LIMIT_API", "lots", "rate_limit.api"),
        ("FTRY_HTTP_BODY_LIMIT_BYTES", "big", "http.body_limit_bytes"),
        ("FTRY_LOG_FORMAT", "xml", "log.format"),
        ("DATABASE_URL", "not a url", "database.url"),
        (
            "FTRY_HTTP_CORS_ORIGINS",
            "[\"https://ok.example/path\"]",
            "http.cors_origins",
        ),
    ];
    for (key, value, named) in cases {
        for command in [&["config", "check"][..], &["serve"][..]] {
            let output = run(command, &[(key, value)], dir.path());
            assert_eq!(output.status.code(), Some(2), "{key}={value}");
            let stderr = text(&output.stderr);
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
            assert!(
                stderr.starts_with(&format!("ftry: invalid configuration: {named}")),
                "{stderr}"
            );
        }
    }
    let addr = text(
        &run(
            &["config", "check"],
            &[("FTRY_HTTP_ADDR", "nonsense")],
            dir.path(),
        )
        .stderr,
    );
    assert!(addr.contains("expected host:port, e.g. 127.0.0.1:8080"), "{addr}");
    let quota = text(
        &run(
            &["config", "check"],
            &[("FTRY_RATE_LIMIT_API", "lots")],
            dir.path(),
        )
        .stderr,
    );
    assert!(quota.contains("expected <requests>/<window>"), "{quota}");

    std::fs::write(dir.path().join("ftry.toml"), "[http]\nadress = \"x\"\n").unwrap();
    let typo = text(&run(&["config", "check"], &[], dir.path()).stderr);
    assert!(typo.contains("unknown field: found `adress`"), "{typo}");
}

#[test]
fn secrets_are_redacted_from_config_check() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(
        &["config", "check"],
        &[
            ("DATABASE_URL", "postgres://app:TopSecret1@db.internal:5432/ftry"),
            (
                "FTRY_DATABASE_OWNER_URL",
                "postgres://owner:TopSecret2@db.internal:5432/ftry",
            ),
            ("REDIS_URL", "redis://:TopSecret3@cache.internal:6379/0"),
        ],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(0));
    let printed = text(&output.stdout);
    assert!(
        printed.contains("url = \"postgres://app:REDACTED@db.internal:5432/ftry\""),
        "{printed}"
    );
    assert!(
        printed.contains("redis://:REDACTED@cache.internal:6379/0"),
        "{printed}"
    );
    assert!(!printed.contains("TopSecret"), "{printed}");
}

#[tokio::test]
async fn migrate_applies_once_and_seed_is_idempotent() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    let envs = [
        ("DATABASE_URL", db.app_url()),
        ("FTRY_DATABASE_OWNER_URL", db.owner_url()),
    ];
    let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let first = run(&["migrate"], &envs, dir.path());
    assert_eq!(
        text(&first.stdout),
        "migrations applied: 21\n",
        "{}",
        text(&first.stderr)
    );
    let again = run(&["migrate"], &envs, dir.path());
    assert_eq!(text(&again.stdout), "migrations applied: 0\n");

    for _ in 0..2 {
        let seeded = run(&["seed", "--demo"], &envs, dir.path());
        assert_eq!(seeded.status.code(), Some(0), "{}", text(&seeded.stderr));
        let printed = text(&seeded.stdout);
        assert!(
            printed.starts_with("demo salon loaded: lotus-demo; logins:\n"),
            "{printed}"
        );
        assert!(printed.contains("owner@lotus-demo.example"), "{printed}");
        assert_eq!(printed.lines().count(), 6, "{printed}");
    }
    let mut admin = db.admin().await;
    let counts: (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM tenants), (SELECT count(*) FROM locations)")
            .fetch_one(&mut admin)
            .await
            .unwrap();
    assert_eq!(counts, (1, 2));
}

#[tokio::test]
async fn serve_refuses_a_superuser_application_role() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    let mut superuser = url::Url::parse(&admin_url()).unwrap();
    superuser.set_path(&db.name);
    let output = run(
        &["serve"],
        &[
            ("DATABASE_URL", superuser.as_str()),
            ("FTRY_DATABASE_OWNER_URL", &db.owner_url()),
            ("FTRY_HTTP_ADDR", "127.0.0.1:0"),
        ],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("is a superuser"), "{stderr}");
    assert!(stderr.contains("database.owner_url"), "{stderr}");
}

#[test]
fn the_example_config_documents_exactly_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ftry.example.toml");
    let from_example = run(&["--config", example, "config", "check"], &[], dir.path());
    assert_eq!(
        from_example.status.code(),
        Some(0),
        "{}",
        text(&from_example.stderr)
    );
    let defaults = run(&["config", "check"], &[], dir.path());
    assert_eq!(text(&from_example.stdout), text(&defaults.stdout));
}
