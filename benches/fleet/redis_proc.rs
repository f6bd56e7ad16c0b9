//! A `redis-server` that can be stopped and started again on the same port ([`RedisProc`]):
//! the Redis-restart fault and the soak's key expiry use it.

use super::*;

/// A private `redis-server` on a fixed loopback port and directory, which can be killed and
/// started again on the same port (with its data when `aof` is on).
pub struct RedisProc {
    child: Option<Child>,
    port: u16,
    aof: bool,
    dir: tempfile::TempDir,
    program: String,
}

impl RedisProc {
    /// Starts `redis-server` (or `$REDIS_SERVER`) on a free port; with `aof`, an append-only
    /// file (`appendfsync everysec`) keeps the data across restarts.
    pub async fn start(aof: bool) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("find a free loopback port");
        let mut redis = Self {
            child: None,
            port,
            aof,
            dir: tempfile::tempdir().expect("create a directory for redis-server"),
            program: std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into()),
        };
        redis.launch().await;
        redis
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn launch(&mut self) {
        let child = Command::new(&self.program)
            .arg("--port")
            .arg(self.port.to_string())
            .args(["--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", if self.aof { "yes" } else { "no" }])
            .args(["--appendfsync", "everysec"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start {} (install redis-server): {e}", self.program));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.connection().await.is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A new connection (after a restart, old ones are gone).
    pub async fn connection(&self) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        redis::Client::open(self.url())?
            .get_multiplexed_async_connection()
            .await
    }

    /// Kills the server (SIGKILL): clients see their connections reset.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }

    /// Starts the server again on the same port and directory; returns once it answers `PING`
    /// (with AOF, once the file is loaded: Redis answers `LOADING` until then).
    pub async fn restart(&mut self) {
        self.launch().await;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(mut c) = self.connection().await {
                let pong: redis::RedisResult<String> = redis::cmd("PING").query_async(&mut c).await;
                if pong.is_ok() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not load its data"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `DBSIZE`.
    pub async fn dbsize(&self) -> u64 {
        let mut c = self.connection().await.expect("connect to the bench Redis");
        redis::cmd("DBSIZE")
            .query_async(&mut c)
            .await
            .expect("DBSIZE")
    }
}
