//! A real `redis-server` for the tests that need Redis: started on a free loopback port in a
//! temporary directory, restartable on the same port, killed on drop.

use std::process::Stdio;
use std::time::Duration;

/// A real `redis-server` on a free loopback port in a temporary directory, killed on drop.
pub struct RedisServer {
    child: std::process::Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts one on a free port and waits until it answers PING.
    pub fn start() -> Self {
        for _ in 0..20 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            if let Some(server) = Self::try_start_on(port) {
                return server;
            }
        }
        panic!("could not start redis-server on a free port");
    }

    /// Starts one on a given port (to restart "the same" Redis after stopping it).
    pub fn start_on(port: u16) -> Self {
        Self::try_start_on(port).expect("redis-server on the requested port")
    }

    /// Starts one on `port`; `None` if that port is taken (the new process exits).
    fn try_start_on(port: u16) -> Option<Self> {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (scripts/install-test-deps.sh)");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            // A PONG only counts if our own process is still alive (not another test's Redis).
            if child.try_wait().ok().flatten().is_some() {
                return None;
            }
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                use std::io::{Read, Write};
                let mut buf = [0u8; 16];
                if s.write_all(b"PING\r\n").is_ok()
                    && s.read(&mut buf)
                        .is_ok_and(|n| buf[..n].starts_with(b"+PONG"))
                {
                    std::thread::sleep(Duration::from_millis(50));
                    if child.try_wait().ok().flatten().is_none() {
                        break;
                    }
                    return None;
                }
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Self {
            child,
            port,
            _dir: dir,
        })
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Runs `redis-cli` against it and returns stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Stops it (SIGKILL) now.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
