use std::process::Command;

use super::*;
use crate::fake::Fake;

fn bundle(sys: &mut Fake, dir: &str, config: &str, runtime: Option<&str>) {
    sys.files
        .insert(format!("{dir}/config.json"), config.into());
    if let Some(r) = runtime {
        sys.files.insert(format!("{dir}/runtime.json"), r.into());
    }
}

#[test]
fn containers_carry_the_runtime_image_digest_and_the_sha256_of_config_json() {
    let mut sys = Fake::new();
    sys.dirs
        .insert("/r/containers/onshutdown".into(), vec!["000-bye".into()]);
    sys.dirs
        .insert("/r/containers/onboot".into(), vec!["000-a".into()]);
    let config = r#"{"ociVersion":"1.0.2"}"#;
    bundle(
        &mut sys,
        "/r/containers/onboot/000-a",
        config,
        Some(r#"{"imageDigest":"sha256:ab","mkdir":[]}"#),
    );
    bundle(
        &mut sys,
        "/r/containers/onshutdown/000-bye",
        config,
        Some("not json"),
    );
    let found = containers(&mut sys, "/r").expect("measured");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("config.json");
    std::fs::write(&file, config).expect("write");
    let out = Command::new("sha256sum")
        .arg(&file)
        .output()
        .expect("sha256sum");
    let want = String::from_utf8_lossy(&out.stdout);
    let want = format!("sha256:{}", want.split(' ').next().unwrap_or(""));
    assert_eq!(found.len(), 2);
    assert_eq!(
        (
            found[0].stage.as_str(),
            found[0].name.as_str(),
            found[0].image.as_str()
        ),
        ("onboot", "000-a", "sha256:ab")
    );
    assert_eq!(found[0].config, want);
    assert_eq!(found[1].image, "unknown");
}

#[test]
fn a_bundle_without_config_json_cannot_be_measured() {
    let mut sys = Fake::new();
    sys.dirs
        .insert("/r/containers/services".into(), vec!["web".into()]);
    let err = containers(&mut sys, "/r").expect_err("no config.json");
    assert_eq!(
        err.to_string(),
        "cannot measure container /r/containers/services/web: cannot read \
         /r/containers/services/web/config.json: No such file or directory (os error 2)"
    );
}

#[test]
fn the_log_is_written_whole_through_a_temporary_file() {
    let mut sys = Fake::new();
    sys.tpm = Some(0);
    let mut m = Measurer::open(&mut sys);
    m.extend(&mut sys, &Event::Phase(Phase::EnterInitrd));
    m.write(&mut sys, "/r").expect("write");
    assert_eq!(
        sys.calls_starting("write /r/run/cairn/"),
        ["write /r/run/cairn/measurements.json.tmp"]
    );
    assert!(
        sys.position("mkdir /r/run/cairn")
            < sys.position("write /r/run/cairn/measurements.json.tmp")
    );
    assert_eq!(
        sys.files["/r/run/cairn/measurements.json"],
        "{\"pcr\":15,\"tpm\":true,\"events\":[{\"event\":\"cairn:phase:enter-initrd\",\
         \"digest\":\""
            .to_string()
            + &hex::encode(cairn_boot::measure::event_digest(
                "cairn:phase:enter-initrd"
            ))
            + "\"}]}\n"
    );
}

#[test]
fn the_plan_extends_containers_in_stage_order_then_leave_initrd_but_not_ready() {
    let mut sys = Fake::new();
    let mut m = Measurer::open(&mut sys);
    let c = |stage: &str, name: &str| Container {
        stage: stage.into(),
        name: name.into(),
        image: "unknown".into(),
        config: "sha256:00".into(),
    };
    extend_plan(&mut sys, &mut m, &[c("services", "b"), c("onboot", "a")]);
    let lines: Vec<&str> = m.log.events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        lines,
        [
            "cairn:container:onboot/a:image=unknown:config=sha256:00",
            "cairn:container:services/b:image=unknown:config=sha256:00",
            "cairn:phase:leave-initrd",
        ]
    );
}
