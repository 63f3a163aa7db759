//! N concurrent 1v1 calls through the media plane, each side sending
//! VP8-shaped video (~500 kbit/s, 30 fps) and Opus-sized audio (20 ms) from
//! the str0m load generator, paced in real time, all on loopback. Prints,
//! for N = 10, 50 and upward until loss reaches 1%: the media thread's CPU
//! per forwarded stream and per forwarded frame, memory per call, the
//! sender-to-receiver time of video frames (p50/p99: two loopback hops, the
//! clients' own work and the server's forwarding), and loss.
//!
//! `cargo bench -p switchboard-media --bench calls`; under `cargo test` it
//! runs one short smoke call.

use std::time::{Duration, Instant};

use switchboard_media::loadgen::{Caller, Load};
use switchboard_media::{CallState, Media, MediaConfig, Party};

/// CPU time of this process's thread named `name`, from /proc.
fn thread_cpu(name: &str) -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    for t in tasks.flatten() {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        if comm.trim() == name {
            let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
            let ticks: u64 = stat
                .rsplit(')')
                .next()
                .unwrap_or_default()
                .split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|x| x.parse::<u64>().ok())
                .sum();
            return Duration::from_millis(ticks * 10);
        }
    }
    Duration::ZERO
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

struct Figures {
    calls: usize,
    cpu_per_stream_pct: f64,
    cpu_per_frame_us: f64,
    kib_per_call: f64,
    p50_ms: f64,
    p99_ms: f64,
    loss: f64,
}

fn measure(calls: usize, period: Duration) -> Figures {
    let media = Media::start(MediaConfig::default()).expect("media plane");
    let before = rss_kib();
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
    let kib_per_call = rss_kib().saturating_sub(before) as f64 / calls as f64;
    for c in &mut callers {
        c.counts = Default::default();
        c.latencies.clear();
    }
    let cpu0 = thread_cpu("switchboard-media");
    let t0 = Instant::now();
    drive(&mut callers, period);
    let cpu = thread_cpu("switchboard-media") - cpu0;
    let elapsed = t0.elapsed().as_secs_f64();
    // Stop sending, let what is in flight land.
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
        kib_per_call,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        loss: 1.0 - received as f64 / sent.max(1) as f64,
    }
}

fn print(f: &Figures) {
    println!(
        "{:>4} calls  media thread CPU {:>5.2}% of a core per forwarded stream, {:>5.1} us per forwarded frame  \
         memory {:>6.0} KiB/call  video frame sender->receiver p50 {:>5.2} ms p99 {:>6.2} ms  loss {:>5.2}%",
        f.calls, f.cpu_per_stream_pct, f.cpu_per_frame_us, f.kib_per_call, f.p50_ms, f.p99_ms, f.loss * 100.0
    );
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    if !bench {
        print(&measure(1, Duration::from_millis(500)));
        return;
    }
    println!("media plane: 1v1 calls, VP8-shaped video ~500 kbit/s at 30 fps + Opus-sized audio every 20 ms, each way (/proc ticks are 10 ms)");
    for n in [10, 50] {
        print(&measure(n, Duration::from_secs(5)));
    }
    let mut n = 75;
    loop {
        let f = measure(n, Duration::from_secs(5));
        print(&f);
        if f.loss >= 0.01 || n >= 400 {
            break;
        }
        n += 25;
    }
}
