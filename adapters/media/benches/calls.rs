//! N concurrent 1v1 calls through the media plane, each side sending
//! VP8-shaped video (~500 kbit/s, 30 fps) and Opus-sized audio (20 ms) from
//! the str0m load generator, paced in real time, all on loopback. Prints,
//! for N = 10, 50 and upward until loss reaches 1% (or only `--calls N`):
//! the media thread's CPU per forwarded stream, frame and packet (packets
//! counted by the receivers), memory per call, the sender-to-receiver time
//! of video frames (p50/p99: two loopback hops, the clients' own work and
//! the server's forwarding), the time relayed media spends in the server
//! (read to send), and loss.
//!
//! `cargo bench -p switchboard-media --bench calls`; under `cargo test` it
//! runs one short smoke call. Each size runs in a process of its own (the
//! bench runs itself with `--calls N`), so that memory per call is that
//! size's own. With `-- --janus` it runs the same load against
//! Janus 1.1.2's EchoTest plugin (Debian's `janus`, started here with a config
//! of its own) side by side, alternating, three rounds per size, and prints
//! the median ratio (the machine is shared and noisy). libnice does not gather loopback addresses, so
//! that run needs a network namespace with a veth interface at 10.99.0.1
//! (nothing leaves the machine):
//! `unshare -n bash -c 'ip link set lo up; ip link add sbjanus0 type veth peer name sbjanus1;
//!  ip addr add 10.99.0.1/24 dev sbjanus0; ip link set sbjanus0 up; ip link set sbjanus1 up;
//!  cargo bench --offline -p switchboard-media --bench calls -- --janus'`.

use std::time::{Duration, Instant};

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use switchboard_media::loadgen::{Caller, Load};
use switchboard_media::{CallState, Media, MediaConfig, MediaError, Party};

#[path = "../../../benches/support/procstat.rs"]
mod procstat;

/// Janus, started on loopback with its HTTP API and the EchoTest plugin.
struct Janus {
    child: Child,
    _dir: tempfile::TempDir,
}

const JANUS_PORT: u16 = 18088;
/// The address of the veth interface the Janus run creates in its namespace.
const JANUS_IP: &str = "10.99.0.1";

impl Janus {
    fn start() -> Option<Janus> {
        let dir = tempfile::tempdir().ok()?;
        let cfg = dir.path();
        std::fs::write(
            cfg.join("janus.jcfg"),
            format!(
                "general: {{ configs_folder = \"{}\" plugins_folder = \"/usr/lib/x86_64-linux-gnu/janus/plugins\" \
                 transports_folder = \"/usr/lib/x86_64-linux-gnu/janus/transports\" debug_level = 2 }}\n\
                 plugins: {{ disable = \"libjanus_audiobridge.so,libjanus_recordplay.so,libjanus_sip.so,libjanus_nosip.so,libjanus_streaming.so,libjanus_textroom.so,libjanus_videocall.so,libjanus_videoroom.so,libjanus_voicemail.so,libjanus_duktape.so,libjanus_lua.so\" }}\n\
                 transports: {{ disable = \"libjanus_websockets.so,libjanus_pfunix.so,libjanus_mqtt.so,libjanus_rabbitmq.so,libjanus_nanomsg.so\" }}\n\
                 media: {{ rtp_port_range = \"20000-40000\" }}\n\
                 nat: {{ ice_enforce_list = \"sbjanus0\" }}\n",
                cfg.display()
            ),
        )
        .ok()?;
        std::fs::write(
            cfg.join("janus.transport.http.jcfg"),
            format!("general: {{ json = \"indented\" base_path = \"/janus\" http = true port = {JANUS_PORT} ip = \"127.0.0.1\" https = false }}\n"),
        )
        .ok()?;
        std::fs::write(cfg.join("janus.plugin.echotest.jcfg"), "general: {}\n").ok()?;
        let child = Command::new("janus")
            .args([
                "-C",
                &cfg.join("janus.jcfg").to_string_lossy(),
                "-F",
                &cfg.to_string_lossy(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let j = Janus { child, _dir: dir };
        for _ in 0..50 {
            if j.post("/janus", r#"{"janus":"info","transaction":"i"}"#)
                .is_some()
            {
                return Some(j);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    fn request(&self, method: &str, path: &str, body: &str) -> Option<serde_json::Value> {
        let mut s = TcpStream::connect(("127.0.0.1", JANUS_PORT)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(35))).ok()?;
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: janus\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(head.as_bytes()).ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        let (head, body) = out.split_once("\r\n\r\n")?;
        if !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            return serde_json::from_str(body).ok();
        }
        // Janus answers in chunks: size line, data, CRLF, until a zero size.
        let (mut rest, mut json) = (body, String::new());
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).ok()?;
            if n == 0 || tail.len() < n {
                break;
            }
            json.push_str(&tail[..n]);
            rest = tail[n..].trim_start_matches("\r\n");
        }
        serde_json::from_str(&json).ok()
    }

    fn post(&self, path: &str, body: &str) -> Option<serde_json::Value> {
        self.request("POST", path, body)
    }

    /// One EchoTest peer: create a session, attach, send the offer, wait for the answer.
    fn echotest(&self, offer: &str) -> Result<String, MediaError> {
        let fail = MediaError::BadOffer;
        let session = self
            .post("/janus", r#"{"janus":"create","transaction":"c"}"#)
            .and_then(|v| v["data"]["id"].as_u64())
            .ok_or_else(|| fail("create"))?;
        let handle = self
            .post(
                &format!("/janus/{session}"),
                r#"{"janus":"attach","plugin":"janus.plugin.echotest","transaction":"a"}"#,
            )
            .and_then(|v| v["data"]["id"].as_u64())
            .ok_or_else(|| fail("attach"))?;
        let msg = serde_json::json!({
            "janus": "message", "transaction": "m",
            "body": { "audio": true, "video": true },
            "jsep": { "type": "offer", "sdp": offer, "trickle": false },
        });
        self.post(&format!("/janus/{session}/{handle}"), &msg.to_string())
            .ok_or_else(|| fail("message"))?;
        let mut seen = Vec::new();
        for _ in 0..10 {
            let events = self
                .request("GET", &format!("/janus/{session}?maxev=5"), "")
                .ok_or_else(|| fail("poll"))?;
            let list = match events {
                serde_json::Value::Array(a) => a,
                v => vec![v],
            };
            for e in list {
                if let Some(sdp) = e["jsep"]["sdp"].as_str() {
                    return Ok(sdp.to_owned());
                }
                seen.push(e);
            }
        }
        eprintln!("janus: no answer; events: {seen:?}");
        Err(fail("janus: no answer"))
    }
}

impl Drop for Janus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Figures {
    calls: usize,
    cpu_per_stream_pct: f64,
    cpu_per_frame_us: f64,
    cpu_per_packet_us: f64,
    /// None where the heap holds an earlier run's memory.
    kib_per_call: Option<f64>,
    p50_ms: f64,
    p99_ms: f64,
    loss: f64,
    /// Switchboard only: read to forwarded, in the server, p50 and p99.
    in_server_us: Option<(u64, u64)>,
}

/// Where the server's CPU and memory are read.
enum Server {
    /// Switchboard's media thread, in this process.
    Switchboard,
    /// Janus, another process.
    Janus(u32),
}

impl Server {
    fn cpu(&self) -> Duration {
        match self {
            Server::Switchboard => procstat::thread_cpu("switchboard-med"), // names are cut at 15 bytes
            Server::Janus(pid) => procstat::process_cpu(&pid.to_string()),
        }
    }

    fn rss_kib(&self) -> u64 {
        match self {
            Server::Switchboard => procstat::rss_kib("self"),
            Server::Janus(pid) => procstat::rss_kib(&pid.to_string()),
        }
    }
}

/// N calls through Switchboard: two participants each.
fn switchboard(calls: usize, period: Duration) -> Figures {
    let media = Media::start(MediaConfig::default()).expect("media plane");
    let before = Server::Switchboard.rss_kib();
    let mut callers = Vec::with_capacity(calls * 2);
    for i in 0..calls {
        let session = format!("cs_{i}");
        let state = CallState {
            agent: Some(format!("a{i}")),
            active: true,
            ..CallState::default()
        };
        media.update(&session, Some(state));
        for (party, owner) in [(Party::Customer, "visitor"), (Party::Agent, "agent")] {
            let c =
                Caller::connect(&media, &session, party, owner, Load::default()).expect("connect");
            callers.push(c);
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let delay0 = runtime.block_on(media.forward_delay());
    let mut figures = drive_and_measure(calls, callers, &Server::Switchboard, before, period);
    let delay = runtime.block_on(media.forward_delay()).since(&delay0);
    figures.in_server_us = delay.quantile_us(0.5).zip(delay.quantile_us(0.99));
    figures
}

/// The same streams through Janus's EchoTest: 2N peers, each echoed.
fn janus(calls: usize, period: Duration, janus: &Janus) -> Figures {
    let server = Server::Janus(janus.child.id());
    let before = server.rss_kib();
    let mut callers = Vec::with_capacity(calls * 2);
    for _ in 0..calls * 2 {
        // Janus gathers on the namespace's veth address only (libnice skips
        // loopback), so the callers use that address too.
        let load = Load {
            bind: JANUS_IP.parse().expect("an address"),
            ..Load::default()
        };
        let c = Caller::negotiate(load, |offer| janus.echotest(offer)).expect("janus");
        callers.push(c);
    }
    drive_and_measure(calls, callers, &server, before, period)
}

fn drive_and_measure(
    calls: usize,
    mut callers: Vec<Caller>,
    server: &Server,
    before: u64,
    period: Duration,
) -> Figures {
    let drive = |callers: &mut Vec<Caller>, period: Duration| {
        let until = Instant::now() + period;
        while Instant::now() < until {
            let mut next = until;
            for c in callers.iter_mut() {
                next = next.min(c.step());
            }
            let wait = next.saturating_duration_since(Instant::now());
            std::thread::sleep(wait.clamp(Duration::from_micros(100), Duration::from_millis(2)));
        }
    };
    // ICE, DTLS and the first keyframes.
    drive(&mut callers, Duration::from_secs(2));
    let kib_per_call = Some(server.rss_kib().saturating_sub(before) as f64 / calls as f64);
    for c in &mut callers {
        c.count_from_now();
    }
    let packets0: u64 = callers.iter().map(Caller::packets_received).sum();
    let cpu0 = server.cpu();
    let t0 = Instant::now();
    drive(&mut callers, period);
    let cpu = server.cpu().saturating_sub(cpu0);
    let packets = callers
        .iter()
        .map(Caller::packets_received)
        .sum::<u64>()
        .saturating_sub(packets0);
    let elapsed = t0.elapsed().as_secs_f64();
    // Stop sending, let what is in flight land: loss counts the frames
    // sent in the window, wherever they arrive.
    for c in &mut callers {
        c.stop_sending();
    }
    drive(&mut callers, Duration::from_millis(500));
    let sent: u64 = callers
        .iter()
        .map(|c| c.counts.audio_sent + c.counts.video_sent)
        .sum();
    for c in &mut callers {
        c.rtc.disconnect();
    }
    let received: u64 = callers
        .iter()
        .map(|c| c.counts.audio_received + c.counts.video_received)
        .sum();
    let mut lat: Vec<Duration> = callers.iter().flat_map(|c| c.latencies.clone()).collect();
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p) as usize)
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
    };
    let streams = (calls * 4) as f64; // two tracks each way per call
    Figures {
        calls,
        cpu_per_stream_pct: cpu.as_secs_f64() / elapsed / streams * 100.0,
        cpu_per_frame_us: cpu.as_secs_f64() * 1e6 / received.max(1) as f64,
        cpu_per_packet_us: cpu.as_secs_f64() * 1e6 / packets.max(1) as f64,
        kib_per_call,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        loss: 1.0 - received as f64 / sent.max(1) as f64,
        in_server_us: None,
    }
}

fn print(who: &str, f: &Figures) {
    let in_server = f.in_server_us.map_or(String::new(), |(p50, p99)| {
        format!("  in the server p50 {p50} us p99 {p99} us")
    });
    let memory = f.kib_per_call.map_or("-".to_owned(), |k| format!("{k:.0}"));
    println!(
        "{who:>11} {:>4} calls  server CPU {:>5.2}% of a core per forwarded stream, {:>5.1} us per forwarded frame, \
         {:>5.1} us per forwarded packet  memory {memory:>6} KiB/call  video frame sender->receiver p50 {:>5.2} ms p99 {:>6.2} ms  loss {:>5.2}%{in_server}",
        f.calls, f.cpu_per_stream_pct, f.cpu_per_frame_us, f.cpu_per_packet_us, f.p50_ms, f.p99_ms, f.loss * 100.0
    );
}

/// Rounds of the side-by-side comparison with Janus.
const ROUNDS: usize = 3;

/// A child's exit code when loss reached 1%: the escalation stops there.
const LOSSY: i32 = 3;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        print("switchboard", &switchboard(1, Duration::from_millis(500)));
        return;
    }
    let with_janus = args.iter().any(|a| a == "--janus");
    // `--calls N`: that many calls only, in this process.
    let only: Option<usize> = args
        .iter()
        .position(|a| a == "--calls")
        .and_then(|i| args.get(i + 1)?.parse().ok());
    if let Some(n) = only {
        let lossy = one_size(n, with_janus);
        std::process::exit(if lossy { LOSSY } else { 0 });
    }
    println!("1v1 calls, VP8-shaped video ~500 kbit/s at 30 fps + Opus-sized audio every 20 ms, each way (/proc ticks are 10 ms)");
    // Each size in a process of its own: memory one size freed would be
    // reused by the next and hide its cost.
    let me = std::env::current_exe().expect("the bench's own path");
    let mut n = 10;
    loop {
        let mut child = Command::new(&me);
        child.args(["--bench", "--calls", &n.to_string()]);
        if with_janus {
            child.arg("--janus");
        }
        let status = child.status().expect("the bench runs itself");
        let lossy = status.code() == Some(LOSSY);
        n = match n {
            10 => 50,
            _ if with_janus => break,
            _ if lossy || n >= 400 => break,
            50 => 75,
            _ => n + 25,
        };
    }
}

/// Runs `n` calls (side by side with Janus, several rounds, if asked);
/// returns whether Switchboard lost 1% or more.
fn one_size(n: usize, with_janus: bool) -> bool {
    if !with_janus {
        let f = switchboard(n, Duration::from_secs(5));
        print("switchboard", &f);
        return f.loss >= 0.01;
    }
    let Some(j) = Janus::start() else {
        println!("janus did not start (is Debian's janus installed, and are we in a loopback-only namespace?)");
        return false;
    };
    // Side by side, alternating, several rounds: the ratio's median.
    let mut ratios = Vec::new();
    let mut lossy = false;
    for round in 0..ROUNDS {
        let mut ours = switchboard(n, Duration::from_secs(5));
        let mut theirs = janus(n, Duration::from_secs(5), &j);
        if round > 0 {
            // Both heaps hold what the last round freed.
            (ours.kib_per_call, theirs.kib_per_call) = (None, None);
        }
        print("switchboard", &ours);
        print("janus", &theirs);
        lossy |= ours.loss >= 0.01;
        ratios.push(ours.cpu_per_stream_pct / theirs.cpu_per_stream_pct);
    }
    ratios.sort_by(f64::total_cmp);
    let shown: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
    println!(
        "      CPU per forwarded stream, switchboard / janus: median {:.2} of {} rounds ({})",
        ratios[ratios.len() / 2],
        ROUNDS,
        shown.join(", ")
    );
    lossy
}
