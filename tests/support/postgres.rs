//! The PostgreSQL server of the tests: `scripts/pg-test-server.sh start`
//! prints `ACTEUR_TEST_POSTGRES_URL`; each test takes a database of its own
//! on it.

/// The URL of a new, empty database for `test` on the test server; `None`
/// (the test is skipped, and says so) when no server is given, except under
/// `CI=true`, where a missing server fails the test.
pub fn fresh_database(test: &str) -> Option<String> {
    let Ok(url) = std::env::var("ACTEUR_TEST_POSTGRES_URL") else {
        let how = "set ACTEUR_TEST_POSTGRES_URL to a PostgreSQL server's URL, for example with \
                   `eval \"$(scripts/pg-test-server.sh start | tail -n 1)\"; export \
                   ACTEUR_TEST_POSTGRES_URL` (and `scripts/pg-test-server.sh stop` when done)";
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the PostgreSQL tests need a server under CI: {how}"
        );
        eprintln!("skipped {test}: no PostgreSQL server; {how}");
        return None;
    };
    let name = format!("acteur_{test}_{}", std::process::id());
    // Each alone: neither may run inside a transaction block.
    execute(&url, &format!("DROP DATABASE IF EXISTS {name}"));
    execute(&url, &format!("CREATE DATABASE {name}"));
    // The same server, the new database.
    let (server, query) = match url.split_once('?') {
        Some((server, query)) => (server, format!("?{query}")),
        None => (url.as_str(), String::new()),
    };
    let base = match server.rfind('/') {
        Some(slash) if slash > server.find("://").map_or(0, |at| at + 2) => &server[..slash],
        _ => server,
    };
    Some(format!("{base}/{name}{query}"))
}

/// Runs `statements` on the database at `url`, on a connection of its own.
#[allow(dead_code, reason = "not every test binary runs statements of its own")]
pub fn execute(url: &str, statements: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|error| panic!("cannot reach the test server at {url}: {error}"));
        let driver = tokio::spawn(connection);
        client.batch_execute(statements).await.unwrap();
        drop(client);
        let _ = driver.await;
    });
}
