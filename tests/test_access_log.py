"""The console's access log leaves out successful engine API requests (thousands a second) but keeps
every page request and every engine API failure."""

from __future__ import annotations

import logging
import logging.config

from console.cli import QuietEngineApiAccess, RedactKeysInMessages, RedactSecretsInPaths, _uvicorn_log_config


def _record(path: str, status: int) -> logging.LogRecord:
    return logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("1.2.3.4:5", "POST", path, "1.1", status),
        None,
    )


def test_successful_engine_requests_are_left_out_failures_and_pages_kept():
    quiet = QuietEngineApiAccess()
    assert not quiet.filter(_record("/api/v1/events", 200))
    assert not quiet.filter(_record("/api/v1/sessions", 201))
    assert quiet.filter(_record("/api/v1/events", 401))
    assert quiet.filter(_record("/api/v1/events", 500))
    assert quiet.filter(_record("/studio", 200))


def test_the_served_log_config_applies_the_filter():
    config = _uvicorn_log_config()
    assert config["handlers"]["access"]["filters"] == ["quiet_engine_api", "redact_secrets"]
    # Built as dictConfig builds it (without reconfiguring this process's logging).
    built = logging.config.DictConfigurator(config).configure_filter(config["filters"]["quiet_engine_api"])
    assert isinstance(built, QuietEngineApiAccess)


def test_tokens_and_keys_in_paths_never_reach_the_log():
    redact = RedactSecretsInPaths()
    for path, shown in (
        ("/invite/Zm9vYmFyLXNlY3JldC10b2tlbg", "/invite/…"),
        ("/api/v1/modules/1?api_key=sk_sim_abcdef123456", "/api/v1/modules/1?api_key=…"),
        ("/api/v1/modules/1?x=1&token=sk_sim_abcdef123456&y=2", "/api/v1/modules/1?x=1&token=…&y=2"),
        ("/simulations?search=key", "/simulations?search=key"),
        ("/api/v1/modules/1?x=sk_sim_abcdef123456789", "/api/v1/modules/1?x=sk_sim_abcdef12…"),
        ("/api/v1/modules/sk_sim_test_abcdef12345", "/api/v1/modules/sk_sim_test_abc…"),
        ("/launch?simvado_launch=eyJabc.def&secret_thing=1", "/launch?simvado_launch=…&secret_thing=…"),
        ("/x?Authorization=Bearer%20abc&page=2", "/x?Authorization=…&page=2"),
        # A key with some of its characters percent-encoded, under a name that says nothing: still a key.
        ("/api/v1/modules/1?q=%73k_sim_abcdef123456789", "/api/v1/modules/1?q=sk_sim_abcdef12…"),
        ("/api/v1/modules/1?q=sk_sim_abc%64ef123456789&p=100%25", "/api/v1/modules/1?q=sk_sim_abcdef12…&p=100%25"),
        ("/reports?search=100%25%20done", "/reports?search=100%25%20done"),
    ):
        record = _record(path, 200)
        assert redact.filter(record)
        assert record.getMessage() == f'1.2.3.4:5 - "POST {shown} HTTP/1.1" 200', path


def test_our_own_lines_never_carry_a_whole_key():
    record = logging.LogRecord(
        "simvado.api", logging.INFO, __file__, 1, "refused %s", ("sk_sim_abcdef123456789xyz",), None
    )
    assert RedactKeysInMessages().filter(record)
    assert record.getMessage() == "refused sk_sim_abcdef12…"
