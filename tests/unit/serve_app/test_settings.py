"""Settings refuse journals the service cannot share; the CLI refuses to start on them."""

from __future__ import annotations

from pathlib import Path

import pytest

from serve_app.cli import main
from serve_app.settings import Settings


def test_memory_journal_is_refused_for_the_service() -> None:
    with pytest.raises(ValueError, match="memory://"):
        Settings.from_env({"journal": "memory://"})


def test_unknown_scheme_is_refused_without_showing_a_password() -> None:
    with pytest.raises(ValueError, match="unknown journal URL") as info:
        Settings.from_env({"journal": "mysql://u:hunter2@db/j"})
    assert "hunter2" not in str(info.value)


def test_journal_shown_hides_the_password() -> None:
    s = Settings.from_env({"journal": "postgresql://u:hunter2@db:5432/j"})
    assert s.journal_shown == "postgresql://u:***@db:5432/j"
    assert s.journal_url.endswith("hunter2@db:5432/j")


def test_host_shards_default_to_one_writer_on_sqlite_and_two_on_postgresql() -> None:
    # from the settings alone, so every process agrees on where an entity lives
    assert Settings.from_env({"data_dir": "/tmp/x"}).host_count == 1
    assert Settings.from_env({"journal": "postgresql://u:p@db:5432/j"}).host_count == 2
    assert Settings.from_env({"host_shards": 4}).host_count == 4
    assert Settings.from_env({"journal": "postgresql://db/j", "host_shards": 1}).host_count == 1


def test_the_entities_transport_is_direct_unless_set_to_ray() -> None:
    assert Settings.from_env({}).entity_config().entity_transport == "direct"
    config = Settings.from_env({"entity_transport": "ray"}).entity_config()
    assert config.entity_transport == "ray"
    with pytest.raises(ValueError, match="entity_transport"):
        Settings.from_env({"entity_transport": "grpc"})


def test_cli_exits_non_zero_on_a_journal_it_cannot_open(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_db = tmp_path / "journal.sqlite"
    not_a_db.write_bytes(b"not a database" * 100)
    code = main(["serve", "--data-dir", str(tmp_path), "--journal", f"sqlite:///{not_a_db}"])
    assert code == 2
    assert f"cannot open the journal at sqlite:///{not_a_db}" in capsys.readouterr().err


def test_cli_exits_non_zero_on_bad_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--journal", "memory://"]) == 2
    assert "memory://" in capsys.readouterr().err


def test_cli_exits_non_zero_when_the_postgres_server_is_gone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from serve_app.ports import free_port

    url = f"postgresql://avatar:hunter2@127.0.0.1:{free_port()}/avatar"  # nothing listens there
    assert main(["serve", "--data-dir", str(tmp_path), "--journal", url]) == 2
    err = capsys.readouterr().err
    assert "cannot open the journal at postgresql://avatar:***@127.0.0.1:" in err
    assert "hunter2" not in err


def test_each_autoscaled_deployment_has_its_own_delays() -> None:
    settings = Settings(
        renderer_upscale_delay_s=1.0,
        renderer_downscale_delay_s=2.0,
        speech_upscale_delay_s=3.0,
        speech_downscale_delay_s=4.0,
        live_upscale_delay_s=5.0,
        live_downscale_delay_s=6.0,
    )
    delays = {
        name: (config["upscale_delay_s"], config["downscale_delay_s"])
        for name, config in (
            ("renderer", settings.renderer_autoscaling()),
            ("speech", settings.speech_autoscaling()),
            ("live", settings.live_autoscaling()),
        )
    }
    assert delays == {"renderer": (1.0, 2.0), "speech": (3.0, 4.0), "live": (5.0, 6.0)}


def test_the_ingress_scales_on_requests_in_flight_and_websockets_apart() -> None:
    config = Settings(
        ingress_min_replicas=2,
        ingress_target_requests=50,
        ingress_target_websockets=500,
        ingress_target_cpu=0.5,
        ingress_cores_per_replica=4,
    ).ingress_autoscaling()
    assert config["min_replicas"] == 2 and config["max_replicas"] == 4
    assert "target_ongoing_requests" not in config  # the policy decides, not Serve's default
    assert config["policy"] == {
        "policy_function": "serve_app.ingress_scaling:IngressPolicy",
        "policy_kwargs": {
            "target_requests": 50,
            "target_websockets": 500,
            "target_cpu": 0.5,
            "cores_per_replica": 4,
        },
    }
    assert Settings(ingress_min_replicas=6).ingress_autoscaling()["max_replicas"] == 6
