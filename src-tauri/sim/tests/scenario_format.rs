//! The scenario file format: what parses, what is refused with a clear message, the shipped files.

use std::path::PathBuf;

use cti_sim::scenario::{FaultKind, Outcome, Scenario, ScenarioError, Span};
use cti_sim::SimConfig;

fn invalid(text: &str) -> String {
    match Scenario::from_toml_str(text) {
        Ok(_) => panic!("accepted: {text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_full_scenario_parses() {
    let s = Scenario::from_toml_str(
        r#"
        name = "t"
        seed = 9
        park_timeout = "90s"
        callers = ["+79161234567", { number = "+79035550101", name = "Мария" }]
        dids = ["74957397100"]

        [sim]
        speed = 30.0

        [[extensions]]
        id = "50001"
        number = "301"
        name = "Night shift"

        [[groups]]
        number = "300"
        members = ["301", "101"]
        mode = "sequential"
        ring_timeout = "12s"

        [[calls]]
        at = "1m30s"
        from = "@caller"
        did = "@did"
        to = "300"
        answered_by = "101"
        ring = ["2s", "4s"]
        steps = [
          { talk = "10s" },
          { hold = "5s", after = "1s" },
          { transfer = "104", attended = true, ring = "3s" },
          { park = 5, then = "bridge", wait = "20s", to = "103" },
          { dtmf = "12#" },
          { hangup = "200", after = "2s" },
        ]

        [[calls]]
        from = "@caller"
        to = "200"
        outcome = "cancelled"
        ivr = { number = "800", wait = "3s", dtmf = "1", era = { menu = "main" } }

        [[faults]]
        at = "10s"
        fault = "rest_status"
        status = 502
        for = "5s"

        [generator]
        interval = ["1s", "2s"]
        count = 3
        [[generator.templates]]
        from = "@caller"
        to = "@agent"
        "#,
    )
    .expect("valid");
    assert_eq!(s.seed, Some(9));
    assert_eq!(s.park_timeout, Span::secs(90));
    assert_eq!(s.calls[0].at, Span::secs(90));
    assert_eq!(s.calls[0].ring, Some(Span::range(2000, 4000)));
    assert_eq!(s.calls[1].outcome, Outcome::Cancelled);
    assert_eq!(s.faults[0].fault, FaultKind::RestStatus);
    assert_eq!(s.callers[1].name(), Some("Мария"));
    assert_eq!(s.generator.as_ref().map(|g| g.templates.len()), Some(1));
    let cfg = s.sim_config(&SimConfig::default()).expect("sim table fits");
    assert_eq!(cfg.speed, 30.0);
}

#[test]
fn mistakes_are_refused_with_a_clear_message() {
    let call = |extra: &str| format!("[[calls]]\nfrom = \"+7900\"\nto = \"101\"\n{extra}");
    assert!(invalid("nmae = \"typo\"").contains("nmae"));
    assert!(invalid(&call("rnig = \"5s\"")).contains("rnig"));
    assert!(invalid(&call("ring = \"5 parsecs\"")).contains("duration"));
    assert!(invalid(&call("steps = [{ hold = \"5s\", talk = \"1s\" }]"))
        .contains("more than one action"));
    assert!(invalid(&call("steps = [{ after = \"5s\" }]")).contains("needs one action"));
    assert!(invalid(&call("steps = [{ park = 12 }]")).contains("out of range"));
    assert!(invalid(&call("steps = [{ hold = \"5s\", attended = true }]")).contains("attended"));
    assert!(
        invalid(&call("steps = [{ hangup = \"200\" }, { talk = \"5s\" }]"))
            .contains("ends the call")
    );
    assert!(
        invalid(&call("outcome = \"missed\"\nsteps = [{ talk = \"5s\" }]"))
            .contains("answered calls only")
    );
    assert!(invalid(&call("outcome = \"sideways\"")).contains("sideways"));
    assert!(invalid("[[calls]]\nfrom = \"@somebody\"\nto = \"101\"").contains("placeholder"));
    assert!(invalid("[[calls]]\nto = \"101\"").contains("`from`"));
    assert!(invalid("[[faults]]\nfault = \"rest_status\"\nstatus = 200").contains("400-599"));
    assert!(invalid("[[faults]]\nfault = \"drop_websockets\"\nfor = \"5s\"").contains("for"));
    assert!(invalid("[[faults]]\nfault = \"rest_delay\"").contains("delay"));
    assert!(invalid("[generator]\ninterval = \"5s\"").contains("template"));
    assert!(invalid(
        "[generator]\nrate = -1.0\n[[generator.templates]]\nfrom = \"1\"\nto = \"101\""
    )
    .contains("rate"));
    assert!(invalid("[sim]\nspeed = \"fast\"").contains("[sim]"));
    assert!(invalid("repeat = \"0s\"").contains("repeat"));
}

#[test]
fn a_missing_file_names_the_path() {
    let err = Scenario::load("/nonexistent/scenario.toml").unwrap_err();
    assert!(matches!(err, ScenarioError::Io { .. }));
    assert!(err.to_string().contains("/nonexistent/scenario.toml"));
}

#[test]
fn every_shipped_scenario_loads() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../assets/scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("assets/scenarios exists") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            Scenario::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            n += 1;
        }
    }
    assert!(n >= 3, "demo and examples are shipped");
    let demo = Scenario::builtin_demo().expect("embedded demo");
    assert_eq!(demo.name, "demo");
    assert!(demo.generator.is_some(), "the demo never runs dry");
}
