//! The `switchboard` binary. Until the HTTP server lands (issue 3), `switchboard`
//! runs a short scripted demo of the core: a few agents and visitors, ringing,
//! a reject, a transfer, a rating, printed as the JSON events the server will
//! send over WebSocket.

mod clock;

use std::time::Duration;

use clock::SystemClock;
use switchboard_core::{Center, Clock, Command, Config, Media, Party, Reply};

fn main() {
    if let Err(e) = run() {
        eprintln!("switchboard: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut now = SystemClock.now();
    let mut center = Center::new(Config::default(), now.as_millis())?;
    let mut step = |center: &mut Center,
                    secs: u64,
                    cmd: Command|
     -> Result<Reply, Box<dyn std::error::Error>> {
        now = now.saturating_add(Duration::from_secs(secs));
        println!(
            "{}",
            serde_json::json!({ "at": now.to_string(), "command": &cmd })
        );
        let reply = center.apply(now, cmd)?;
        while let Some(event) = center.poll_event() {
            println!("  -> {}", serde_json::to_string(&event)?);
        }
        Ok(reply)
    };

    for (id, name) in [("agent_001", "客服小王"), ("agent_002", "客服小李")] {
        step(
            &mut center,
            0,
            Command::RegisterAgent {
                agent_id: id.into(),
                agent_name: Some(name.into()),
            },
        )?;
    }
    step(
        &mut center,
        1,
        Command::JoinQueue {
            visitor_id: "cust_001".into(),
            visitor_name: Some("张三".into()),
            preferred_skill: None,
        },
    )?;
    step(
        &mut center,
        2,
        Command::RejectCall {
            agent_id: "agent_001".into(),
        },
    )?;
    let reply = step(
        &mut center,
        3,
        Command::AcceptCall {
            agent_id: "agent_002".into(),
            media: Media::Video,
        },
    )?;
    let Reply::Accepted { session_id } = reply else {
        return Err("the demo expected agent_002 to answer".into());
    };
    step(
        &mut center,
        60,
        Command::TransferSession {
            session_id: session_id.clone(),
            target_agent_id: "agent_001".into(),
        },
    )?;
    step(
        &mut center,
        120,
        Command::EndSession {
            session_id: session_id.clone(),
            by: Party::Customer,
        },
    )?;
    step(
        &mut center,
        5,
        Command::RateSession {
            session_id,
            rating: 5,
            comment: Some("服务很好".into()),
        },
    )?;
    println!("{}", serde_json::to_string_pretty(&center.stats())?);
    Ok(())
}
