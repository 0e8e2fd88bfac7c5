//! Era IVR control (seed 002) from the client, against the simulator: offer, accept race,
//! components, DTMF, terminate, files, abort, recordings.

mod era_support;

use cti_core::era::{AcceptOutcome, Component, DtmfMode, EraError, IvrEvent, IvrOffer};
use cti_core::model::CallEventKind;
use era_support::*;
use serde_json::json;

async fn offer(sim: &cti_sim::Sim, c: &mut Client) -> (String, IvrOffer) {
    let id = answered_call(sim, "+79001234567", "800");
    let key = cti_sim::era::offer_ivr_control(&sim.ctx, &id, "800", json!({"lang": "ru"}));
    let ev = c
        .ivr_event(
            "Offered",
            |e| matches!(e, IvrEvent::Offered { offer } if offer.key == key),
        )
        .await;
    match ev {
        IvrEvent::Offered { offer } => (id, offer),
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn the_accept_race_has_one_winner() {
    let sim = sim_at(60.0).await;
    let mut a = Client::start(client_cfg(&sim)).await;
    let mut b = Client::start(client_cfg(&sim)).await;
    let (_, o) = offer(&sim, &mut a).await;
    b.ivr_event("Offered", |e| matches!(e, IvrEvent::Offered { .. }))
        .await;
    assert_eq!(o.params, json!({"lang": "ru"}));
    assert_eq!(o.ivr_number.as_deref(), Some("800"));
    assert!(o.call_id.is_some());
    let (ra, rb) = tokio::join!(
        a.handle.ivr_accept(&o.key, &o.ivrid),
        b.handle.ivr_accept(&o.key, &o.ivrid)
    );
    let (ra, rb) = (ra.expect("a answered"), rb.expect("b answered"));
    let winners = [&ra, &rb]
        .iter()
        .filter(|r| ***r == AcceptOutcome::Accepted)
        .count();
    assert_eq!(winners, 1, "{ra:?} {rb:?}");
    let (winner, loser) = if ra == AcceptOutcome::Accepted {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    winner
        .ivr_event("Accepted", |e| {
            matches!(
                e,
                IvrEvent::Accepted {
                    reacquired: false,
                    ..
                }
            )
        })
        .await;
    loser
        .ivr_event("LostRace", |e| matches!(e, IvrEvent::LostRace { .. }))
        .await;
    // The loser does not control it.
    let e = loser
        .handle
        .ivr_apply(&o.key, &o.ivrid, &Component::Hangup)
        .await
        .expect_err("not controlled");
    assert!(matches!(e, EraError::NotControlled(_)), "{e:?}");
    let sessions = winner.handle.ivr_sessions().await.expect("sessions");
    assert!(sessions
        .iter()
        .any(|s| s.offer.key == o.key && s.controlled));
}

#[tokio::test]
async fn components_dtmf_and_terminate() {
    let sim = sim_with(60.0, |c| c.era.play_secs = 60).await; // play runs 1 s real
    let mut c = Client::start(client_cfg(&sim)).await;
    let (id, o) = offer(&sim, &mut c).await;
    assert_eq!(
        c.handle.ivr_accept(&o.key, &o.ivrid).await.expect("accept"),
        AcceptOutcome::Accepted
    );

    cti_sim::era::press_dtmf(&sim.ctx, &id, "5");
    let d = c
        .ivr_event("idle dtmf", |e| matches!(e, IvrEvent::Dtmf { .. }))
        .await;
    assert!(
        matches!(d, IvrEvent::Dtmf { mode: DtmfMode::Idle, ref digit, oid: None, .. } if digit == "5"),
        "{d:?}"
    );
    c.call_event(
        "Dtmf call event",
        |e| matches!(&e.kind, CallEventKind::Dtmf { digits } if digits == "5"),
    )
    .await;

    let play = Component::Play {
        file: ":GS_PUB/x/y/14.mp3".into(),
    };
    let oid = c
        .handle
        .ivr_apply(&o.key, &o.ivrid, &play)
        .await
        .expect("play");
    let busy = c
        .handle
        .ivr_apply(&o.key, &o.ivrid, &play)
        .await
        .expect_err("one at a time");
    assert!(matches!(busy, EraError::ComponentBusy { .. }), "{busy:?}");
    assert_eq!(
        received(&sim, "ivrapi_component_apply"),
        1,
        "the second apply was refused by the client, not sent"
    );
    let stopped = c
        .ivr_event("play stopped", |e| {
            matches!(e, IvrEvent::ComponentStopped { .. })
        })
        .await;
    assert!(
        matches!(stopped, IvrEvent::ComponentStopped { oid: o2, ref transfer_key, .. } if o2 == oid && transfer_key == "transfer")
    );

    let rec = Component::Record {
        seconds: 600,
        max_symbols: Some(5),
        interrupt_symbols: Some("#".into()),
        abort_on_silence: false,
    };
    let rec_oid = c
        .handle
        .ivr_apply(&o.key, &o.ivrid, &rec)
        .await
        .expect("record");
    cti_sim::era::press_dtmf(&sim.ctx, &id, "42");
    for digit in ["4", "2"] {
        let d = c
            .ivr_event("component dtmf", |e| {
                matches!(
                    e,
                    IvrEvent::Dtmf {
                        mode: DtmfMode::Component,
                        ..
                    }
                )
            })
            .await;
        assert!(
            matches!(d, IvrEvent::Dtmf { oid, digit: ref g, .. } if oid == rec_oid && g == digit),
            "{d:?}"
        );
    }
    c.handle
        .ivr_terminate(&o.key, &o.ivrid)
        .await
        .expect("terminate");
    let stopped = c
        .ivr_event("record stopped", |e| {
            matches!(e, IvrEvent::ComponentStopped { .. })
        })
        .await;
    let IvrEvent::ComponentStopped {
        transfer_key,
        results,
        ..
    } = stopped
    else {
        unreachable!()
    };
    assert_eq!(transfer_key, "terminate");
    assert_eq!(results["dtmfBuffer"], "42");
    let file = results["recordFile"]
        .as_str()
        .expect("record file")
        .to_string();

    let link = c
        .handle
        .ivr_file_get_path(&o.key, &o.ivrid, &file)
        .await
        .expect("link");
    assert!(link.url.starts_with(sim.base_url()));
    let body = reqwest::get(&link.url)
        .await
        .expect("download")
        .bytes()
        .await
        .expect("body");
    assert_eq!(&body[0..4], b"RIFF");
    let e = c
        .handle
        .ivr_file_get_path(&o.key, &o.ivrid, ":TEMP/none.wav")
        .await
        .expect_err("missing");
    assert!(matches!(
        e,
        EraError::Refused {
            code: Some(1404),
            ..
        }
    ));
    let e = c
        .handle
        .ivr_terminate(&o.key, &o.ivrid)
        .await
        .expect_err("nothing runs");
    assert!(
        matches!(
            e,
            EraError::Refused {
                code: Some(1406),
                ..
            }
        ),
        "{e:?}"
    );
    let e = c
        .handle
        .ivr_apply(
            &o.key,
            &o.ivrid,
            &Component::Raw {
                data: json!({"oType": 999}),
            },
        )
        .await
        .expect_err("unknown");
    assert!(
        matches!(
            e,
            EraError::Refused {
                code: Some(1413),
                ..
            }
        ),
        "{e:?}"
    );
    // The failed apply did not leave the session marked busy.
    c.handle
        .ivr_apply(
            &o.key,
            &o.ivrid,
            &Component::Transfer {
                number: "102".into(),
                reinvite_mode: Some(2),
            },
        )
        .await
        .expect("transfer");
    c.ivr_event(
        "Stopped",
        |e| matches!(e, IvrEvent::Stopped { reason: Some(r), .. } if r == "transfer"),
    )
    .await;
    assert!(c.handle.ivr_sessions().await.expect("sessions").is_empty());
}

#[tokio::test]
async fn abort_releases_and_files_upload() {
    let sim = sim_at(60.0).await;
    let media = media_server().await;
    let mut c = Client::start(client_cfg(&sim)).await;
    let (_, o) = offer(&sim, &mut c).await;
    c.handle.ivr_accept(&o.key, &o.ivrid).await.expect("accept");
    let tmp = c
        .handle
        .ivr_file_upload_temp(&o.key, &o.ivrid, &format!("{media}/hello.mp3"))
        .await
        .expect("temp");
    assert_eq!(tmp, ":TEMP/hello.mp3");
    c.handle
        .ivr_apply(&o.key, &o.ivrid, &Component::Play { file: tmp })
        .await
        .expect("play temp file");
    c.ivr_event("stopped", |e| {
        matches!(e, IvrEvent::ComponentStopped { .. })
    })
    .await;
    let st = c
        .handle
        .ivr_file_upload_static(&o.key, &o.ivrid, &format!("{media}/a.wav"), ":GS_PUB/p")
        .await
        .expect("static");
    assert_eq!(st, ":GS_PUB/p/a.wav");
    let st = c
        .handle
        .file_upload_static(&format!("{media}/b.wav"), ":SS_PUB/q")
        .await
        .expect("static");
    assert_eq!(st, ":SS_PUB/q/b.wav");
    let e = c
        .handle
        .file_upload_static("ftp://nope/x", ":SS_PUB/q")
        .await
        .expect_err("bad url");
    assert!(
        matches!(
            e,
            EraError::Refused {
                code: Some(1413),
                ..
            }
        ),
        "{e:?}"
    );

    c.handle.ivr_abort(&o.key, &o.ivrid).await.expect("abort");
    c.ivr_event("Released", |e| matches!(e, IvrEvent::Released { .. }))
        .await;
    c.ivr_event(
        "Stopped",
        |e| matches!(e, IvrEvent::Stopped { reason: Some(r), .. } if r == "abort"),
    )
    .await;
    assert!(
        c.calls()
            .iter()
            .any(|e| matches!(&e.kind, CallEventKind::Ivr { step, .. } if step == "api_stop")),
        "api_stop is also a call event"
    );
    let e = c
        .handle
        .ivr_apply(&o.key, &o.ivrid, &Component::Hangup)
        .await
        .expect_err("released");
    assert!(matches!(e, EraError::NoSuchIvrSession(_)), "{e:?}");
}

#[tokio::test]
async fn recordings_get_a_download_link() {
    let sim = sim_at(60.0).await;
    let mut c = Client::start(client_cfg(&sim)).await;
    let id = answered_call(&sim, "+7900", "101");
    sim.world()
        .set_recording(&id, "fs:main1:Srv-002/2020-09-24/x.mp3")
        .expect("rec");
    let ev = c
        .call_event("Recording", |e| {
            matches!(e.kind, CallEventKind::RecordingAvailable { .. })
        })
        .await;
    let CallEventKind::RecordingAvailable { reference } = ev.kind else {
        unreachable!()
    };
    let link = c
        .handle
        .callrecord_get_path(&reference)
        .await
        .expect("link");
    assert!(link.path.starts_with("/files/era/"));
    let resp = reqwest::get(&link.url).await.expect("download");
    assert_eq!(resp.status().as_u16(), 200);
    let e = c
        .handle
        .callrecord_get_path("nope")
        .await
        .expect_err("unknown");
    assert!(matches!(
        e,
        EraError::Refused {
            code: Some(1404),
            ..
        }
    ));
}

#[tokio::test]
async fn auto_accept_takes_offers_by_itself() {
    let sim = sim_at(60.0).await;
    let mut c = Client::start(cti_core::era::EraConfig {
        ivr_auto_accept: true,
        ..client_cfg(&sim)
    })
    .await;
    let (_, o) = offer(&sim, &mut c).await;
    c.ivr_event(
        "Accepted",
        |e| matches!(e, IvrEvent::Accepted { key, .. } if *key == o.key),
    )
    .await;
    assert_eq!(
        cti_sim::era::control(&sim.ctx)
            .ivr_controller(&o.key)
            .map(|x| x.0.is_some()),
        Some(true)
    );
}

/// A one-route HTTP server on loopback serving fixed bytes at `/media/<name>`.
async fn media_server() -> String {
    let app = axum::Router::new().route(
        "/media/{name}",
        axum::routing::get(|| async { &b"ID3-audio"[..] }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    format!("http://{addr}/media")
}
