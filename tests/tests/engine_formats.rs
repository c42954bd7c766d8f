//! `--format` across berth's verbs (ps, images, network ls, volume ls, stats, inspect)
//! with docker's rules; each expected text is what docker 28's CLI printed for the same
//! template (against `berth serve`, or docker's documented columns).

use berth_tests::engine::Engine;
use berth_tests::require_root;
use serde_json::Value;

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

#[test]
fn templates_keep_the_users_columns_text_and_fields_across_verbs() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    e.ok(&[
        "run",
        "-d",
        "--name",
        "clock",
        "--network",
        "none",
        "-l",
        "a=b",
        "-v",
        "vol1:/data",
        "busybox",
        "sleep",
        "1000",
    ]);
    // ps: the header in the user's order, literal text kept, docker's other fields.
    let out = e.ok(&["ps", "--format", "table {{.Names}}\\t{{.Image}}"]);
    assert_eq!(lines(&out), ["NAMES     IMAGE", "clock     busybox"]);
    assert_eq!(
        e.ok(&["ps", "--format", "table {{.Names}}: {{.Image}}"]),
        "NAMES: IMAGE\nclock: busybox\n"
    );
    assert_eq!(
        e.ok(&["ps", "--format", "{{.Names}}: {{.Image}}"]),
        "clock: busybox\n"
    );
    assert_eq!(
        e.ok(&[
            "ps",
            "--format",
            "{{.Labels}}|{{.Mounts}}|{{.Networks}}|{{.Size}}|{{.LocalVolumes}}|{{upper .State}}"
        ]),
        "a=b|vol1|none|0B|1|RUNNING\n"
    );
    let json: Value = serde_json::from_str(&e.ok(&["ps", "--format", "json"])).expect("json");
    assert_eq!(
        (json["Names"].as_str(), json["Networks"].as_str()),
        (Some("clock"), Some("none"))
    );
    let bogus = e.run(&["ps", "--format", "{{.Bogus}}"]);
    assert_eq!(bogus.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&bogus.stderr).contains(
            "template: :1:2: executing \"\" at <.Bogus>: can't evaluate field Bogus in type *formatter.ContainerContext"
        ),
        "{bogus:?}"
    );
    // images: a table template is honoured (it was ignored).
    let out = e.ok(&["images", "--format", "table {{.ID}}\\t{{.Repository}}"]);
    let out = lines(&out);
    assert_eq!(out[0], "IMAGE ID       REPOSITORY");
    assert!(
        out[1..].iter().any(|l| l.ends_with("   busybox")),
        "{out:?}"
    );
    // volume ls, network ls.
    assert_eq!(
        e.ok(&["volume", "ls", "--format", "table {{.Name}}\\t{{.Driver}}"]),
        "VOLUME NAME   DRIVER\nvol1          local\n"
    );
    e.ok(&["network", "create", "fmtnet"]);
    let out = e.ok(&["network", "ls", "--format", "table {{.Name}}: {{.Driver}}"]);
    assert_eq!(
        lines(&out),
        ["NAME: DRIVER", "berth0: bridge", "fmtnet: bridge"]
    );
    // stats: the user's columns.
    let out = e.ok(&[
        "stats",
        "--no-stream",
        "--format",
        "table {{.Name}}\\t{{.PIDs}}",
        "clock",
    ]);
    assert_eq!(lines(&out), ["NAME      PIDS", "clock     1"]);
    e.ok(&["rm", "-f", "clock"]);
    e.ok(&["network", "rm", "fmtnet"]);
}

#[test]
fn inspect_takes_a_template_and_finds_any_kind_of_object() {
    if !require_root() {
        return;
    }
    let e = Engine::new();
    let run = e.run(&[
        "run",
        "--name",
        "done",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "exit 3",
    ]);
    assert_eq!(run.status.code(), Some(3));
    assert_eq!(
        e.ok(&[
            "inspect",
            "-f",
            "{{.State.ExitCode}} {{.Name}} [{{.NetworkSettings.IPAddress}}] {{json .Config.Cmd}} {{.HostConfig.NetworkMode}}",
            "done"
        ]),
        "3 /done [] [\"sh\",\"-c\",\"exit 3\"] none\n"
    );
    let config: Value =
        serde_json::from_str(&e.ok(&["inspect", "--format", "{{json .Config}}", "done"]))
            .expect("json .Config");
    assert_eq!(config["Image"], "busybox");
    // An image, a volume by name; --type narrows the search.
    let image_id = e.ok(&["inspect", "-f", "{{.Id}}", "busybox"]);
    assert!(image_id.starts_with("sha256:"), "{image_id}");
    let out = e.run(&["inspect", "--type", "container", "busybox"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such container: busybox"));
    assert_eq!(
        e.ok(&["inspect", "--type", "image", "-f", "{{.Id}}", "busybox"]),
        image_id
    );
    e.ok(&["volume", "create", "v2"]);
    assert_eq!(
        e.ok(&["inspect", "-f", "{{.Name}} {{.Driver}}", "v2"]),
        "v2 local\n"
    );
    assert_eq!(
        e.ok(&["volume", "inspect", "-f", "{{.Name}}", "v2"]),
        "v2\n"
    );
    let bad = e.run(&["inspect", "--type", "bogus", "done"]);
    assert_eq!(bad.status.code(), Some(1));
    // Without a template: docker's array with 4-space indents.
    let doc = e.ok(&["inspect", "done"]);
    assert!(doc.starts_with("[\n    {\n        \"Args\": ["), "{doc}");
    let bogus = e.run(&["inspect", "-f", "{{.Bogus}}", "done"]);
    assert_eq!(bogus.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&bogus.stderr)
            .contains("at <.Bogus>: map has no entry for key \"Bogus\""),
        "{bogus:?}"
    );
    e.ok(&["rm", "done"]);
}
