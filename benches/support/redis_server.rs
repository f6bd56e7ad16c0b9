//! A private `redis-server` per benchmark ([`Redis`]) and what the benchmarks read from it:
//! `INFO` counters and a `MONITOR` tally of the commands a run sent.

use super::*;

/// A private `redis-server` on a free loopback port, without persistence, killed on drop.
pub struct Redis {
    child: Child,
    port: u16,
    conn: MultiplexedConnection,
    _dir: tempfile::TempDir,
}

impl Redis {
    /// Starts `redis-server` (or `$REDIS_SERVER`) and waits until it answers.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("create a temporary directory for redis-server");
        let port = free_port();
        let program = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let child = Command::new(&program)
            .arg("--port")
            .arg(port.to_string())
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start {program} (install redis-server): {e}"));
        let client =
            redis::Client::open(format!("redis://127.0.0.1:{port}/")).expect("build the Redis URL");
        let deadline = Instant::now() + Duration::from_secs(10);
        let conn = loop {
            match client.get_multiplexed_async_connection().await {
                Ok(c) => break c,
                Err(e) if Instant::now() > deadline => panic!("redis-server did not start: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        Self {
            child,
            port,
            conn,
            _dir: dir,
        }
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> T {
        let mut conn = self.conn.clone();
        cmd.query_async(&mut conn)
            .await
            .expect("query the bench Redis")
    }

    /// The `key:value` lines of `INFO` sections, read in one command.
    pub async fn info(&self, sections: &[&str]) -> BTreeMap<String, String> {
        let text: String = self.query(redis::cmd("INFO").arg(sections)).await;
        text.lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
            .collect()
    }

    /// Command counters, read with one `INFO stats commandstats`.
    pub async fn counters(&self) -> Counters {
        let info = self.info(&["stats", "commandstats"]).await;
        let reads = info
            .get("total_reads_processed")
            .and_then(|v| v.parse().ok())
            .expect("INFO stats has total_reads_processed");
        let calls = info
            .into_iter()
            .filter_map(|(k, v)| {
                let name = k.strip_prefix("cmdstat_")?.to_owned();
                let calls = v.split(',').find_map(|f| f.strip_prefix("calls="))?;
                Some((name, calls.parse().ok()?))
            })
            .collect();
        Counters { reads, calls }
    }

    /// `INFO memory` `used_memory`, in bytes.
    pub async fn used_memory(&self) -> u64 {
        self.info(&["memory"])
            .await
            .get("used_memory")
            .and_then(|v| v.parse().ok())
            .expect("INFO memory has used_memory")
    }

    /// CPU time used by redis-server so far (`INFO cpu`, user + system), in seconds.
    pub async fn cpu_secs(&self) -> f64 {
        let info = self.info(&["cpu"]).await;
        let get = |k: &str| {
            info.get(k)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or_else(|| panic!("INFO cpu has {k}"))
        };
        get("used_cpu_user") + get("used_cpu_sys")
    }

    /// The number of keys in db 0.
    pub async fn dbsize(&self) -> u64 {
        self.query(&redis::cmd("DBSIZE")).await
    }

    /// The keys matching a glob pattern (`SCAN`).
    pub async fn keys_matching(&self, pattern: &str) -> Vec<String> {
        let mut conn = self.conn.clone();
        let mut iter: redis::AsyncIter<String> = redis::cmd("SCAN")
            .cursor_arg(0)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .clone()
            .iter_async(&mut conn)
            .await
            .expect("SCAN the bench Redis");
        let mut keys = Vec::new();
        while let Some(key) = iter.next_item().await {
            keys.push(key.expect("a SCAN reply"));
        }
        keys
    }

    /// `MEMORY USAGE <key> SAMPLES 0` (exact), in bytes; 0 if the key is gone.
    pub async fn memory_usage(&self, key: &str) -> u64 {
        let usage: Option<u64> = self
            .query(
                redis::cmd("MEMORY")
                    .arg("USAGE")
                    .arg(key)
                    .arg("SAMPLES")
                    .arg(0),
            )
            .await;
        usage.unwrap_or(0)
    }

    /// Empties the database between phases.
    pub async fn flushall(&self) {
        let _: String = self.query(&redis::cmd("FLUSHALL")).await;
    }

    /// `ECHO` (a marker in the `MONITOR` feed).
    pub async fn echo(&self, text: &str) {
        let _: String = self.query(redis::cmd("ECHO").arg(text)).await;
    }

    /// Starts a `MONITOR` connection that tallies the commands seen between two markers
    /// (see [`Monitor`]).
    pub async fn monitor(&self) -> Monitor {
        Monitor::start(self.port).await
    }

    /// Kills the server.
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// Redis counters at one moment.
#[derive(Debug, Clone)]
pub struct Counters {
    /// `total_reads_processed`: socket reads, i.e. client round trips (a pipeline sent in one
    /// write is one read; a closed connection adds one).
    pub reads: u64,
    /// Calls per command (`cmdstat_<name>:calls=<n>`). Redis counts the commands a Lua script
    /// runs under their own names as well as the `EVALSHA` that ran the script.
    pub calls: BTreeMap<String, u64>,
}

/// Commands counted by a [`Monitor`], by upper-case name.
#[derive(Debug, Default, Clone)]
pub struct MonitorCounts {
    /// Commands sent by clients: each is (at most) one network round trip.
    pub client: BTreeMap<String, u64>,
    /// Commands run inside Lua scripts (`[0 lua]` in the feed): no round trip of their own.
    pub lua: BTreeMap<String, u64>,
}

/// A `MONITOR` feed. Counting starts at the `ECHO` of [`Monitor::BEGIN`] and stops at the `ECHO`
/// of [`Monitor::END`] (both sent with [`Redis::echo`]), so the measurement's own commands and
/// anything before or after are left out.
pub struct Monitor {
    /// The counts, and the connection: it stays open until [`Monitor::finish`], since closing
    /// it would be one more read for Redis's `total_reads_processed`.
    task: JoinHandle<(MonitorCounts, Lines<BufReader<TcpStream>>)>,
}

impl Monitor {
    /// The marker that starts counting.
    pub const BEGIN: &'static str = "mcp-hive-bench-begin";
    /// The marker that stops counting.
    pub const END: &'static str = "mcp-hive-bench-end";

    async fn start(port: u16) -> Self {
        let mut socket = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect the MONITOR client");
        socket
            .write_all(b"MONITOR\r\n")
            .await
            .expect("send MONITOR");
        let mut lines = BufReader::new(socket).lines();
        let ok = lines
            .next_line()
            .await
            .expect("read the MONITOR reply")
            .expect("MONITOR reply");
        assert_eq!(ok, "+OK", "MONITOR refused");
        Self {
            task: tokio::spawn(Self::tally(lines)),
        }
    }

    async fn tally(
        mut lines: Lines<BufReader<TcpStream>>,
    ) -> (MonitorCounts, Lines<BufReader<TcpStream>>) {
        let mut counts = MonitorCounts::default();
        let mut counting = false;
        while let Ok(Some(line)) = lines.next_line().await {
            // +1700000000.123456 [0 127.0.0.1:5000] "EVALSHA" "..." ...
            let Some((source, rest)) = line
                .split_once(" [")
                .and_then(|(_, rest)| rest.split_once("] "))
            else {
                continue;
            };
            let mut args = rest.split('"').skip(1).step_by(2);
            let command = args.next().unwrap_or_default().to_ascii_uppercase();
            if command == "ECHO" {
                match args.next() {
                    Some(Self::BEGIN) => counting = true,
                    Some(Self::END) => return (counts, lines),
                    _ => {}
                }
                continue;
            }
            if !counting {
                continue;
            }
            let bucket = if source.ends_with(" lua") {
                &mut counts.lua
            } else {
                &mut counts.client
            };
            *bucket.entry(command).or_default() += 1;
        }
        panic!("the MONITOR feed ended before the end marker");
    }

    /// Waits for the end marker (send it first), closes the feed and returns the counts.
    pub async fn finish(self) -> MonitorCounts {
        let (counts, _connection) = tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the MONITOR feed did not reach the end marker within 30 s")
            .expect("the MONITOR task failed");
        counts
    }
}
