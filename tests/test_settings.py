from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from flows.errors import SettingsError
from flows.settings import DEFAULT_QUERY, NCBI_EUTILS_URL, load_settings

BASE = {"NCBI_EMAIL": "me@example.org"}


def test_defaults():
    settings = load_settings(BASE)
    assert settings.eutils_url == NCBI_EUTILS_URL
    assert settings.query == DEFAULT_QUERY
    assert (settings.db_path, settings.reports_dir) == (
        Path("kratom-watch.sqlite"),
        Path("reports"),
    )
    assert settings.ncbi_api_key is None


def test_every_variable_is_read():
    settings = load_settings(
        {
            **BASE,
            "NCBI_API_KEY": "abc123",
            "NCBI_TOOL": "mytool",
            "KRATOM_WATCH_EUTILS_URL": "http://127.0.0.1:9/eutils",
            "KRATOM_WATCH_QUERY": "kratom[tiab]",
            "KRATOM_WATCH_DB": "/tmp/x.sqlite",
            "KRATOM_WATCH_REPORTS": "/tmp/r",
            "KRATOM_WATCH_TIMEZONE": "Europe/Berlin",
            "KRATOM_WATCH_BATCH_SIZE": "250",
            "KRATOM_WATCH_TIMEOUT": "5",
        }
    )
    assert settings.ncbi_api_key.reveal() == "abc123"
    assert settings.eutils_url == "http://127.0.0.1:9/eutils/"
    assert (settings.ncbi_tool, settings.query, settings.timezone) == (
        "mytool",
        "kratom[tiab]",
        "Europe/Berlin",
    )
    assert (settings.batch_size, settings.timeout) == (250, 5.0)


def test_api_key_never_shows():
    settings = load_settings({**BASE, "NCBI_API_KEY": "SECRETKEY123"})
    assert "SECRETKEY123" not in repr(settings)
    assert "SECRETKEY123" not in f"{settings.ncbi_api_key}"


@pytest.mark.parametrize(
    "env, message",
    [
        ({}, "NCBI_EMAIL is not set"),
        ({"NCBI_EMAIL": "nobody"}, "is not an e-mail address"),
        ({**BASE, "NCBI_API_KEY": "has space!"}, "NCBI_API_KEY has characters"),
        ({**BASE, "KRATOM_WATCH_BATCH_SIZE": "0"}, "outside 1..10000"),
        ({**BASE, "KRATOM_WATCH_TIMEOUT": "two"}, "KRATOM_WATCH_TIMEOUT='two' is not a whole"),
        ({**BASE, "KRATOM_WATCH_EUTILS_URL": "eutils.example"}, "is not an http(s) base URL"),
    ],
)
def test_bad_settings(env, message):
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(env)


def test_bad_api_key_message_does_not_echo_it():
    with pytest.raises(SettingsError) as raised:
        load_settings({**BASE, "NCBI_API_KEY": "my-secret-key"})
    assert "my-secret-key" not in str(raised.value)


# ---- issue 15: settings a newcomer gets wrong, and secrets in the config file


def config(tmp_path, content: str | bytes, mode: int = 0o600) -> dict[str, str]:
    path = tmp_path / "kratom-watch.toml"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    path.chmod(mode)
    return {**BASE, "KRATOM_WATCH_CONFIG": str(path)}


MAIL = 'KRATOM_WATCH_SMTP_HOST = "smtp.example.org"\nKRATOM_WATCH_MAIL_FROM = "me@example.org"\n'


@pytest.mark.parametrize(
    "content, said",
    [
        ('KRATOM_WATCH_QUERY = "kratom"\n'.encode("utf-16"), "is UTF-16 text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", "is not UTF-8 text"),
        ('KRATOM_WATCH_QUERY = "caf\xe9"\n'.encode("latin-1"), "is not UTF-8 text"),
    ],
    ids=["utf-16-notepad", "png", "latin-1"],
)
def test_a_config_file_that_is_not_utf8_is_one_line_naming_it(tmp_path, content, said):
    env = config(tmp_path, content)

    with pytest.raises(SettingsError) as raised:
        load_settings(env)

    assert str(raised.value) == (
        f"the config file {env['KRATOM_WATCH_CONFIG']} {said}: save it as UTF-8 (a plain text file)"
    )


def test_a_config_file_saved_as_utf8_with_a_bom_is_read(tmp_path):
    env = config(tmp_path, '\ufeffKRATOM_WATCH_QUERY = "kratom[tiab]"\n'.encode())

    assert load_settings(env).query == "kratom[tiab]"


def test_recipients_written_as_a_toml_list_are_a_list(tmp_path):
    env = config(tmp_path, MAIL + 'KRATOM_WATCH_MAIL_TO = ["a@example.org", "b@example.org"]\n')

    assert load_settings(env).mail.recipients == ("a@example.org", "b@example.org")
    overridden = {**env, "KRATOM_WATCH_MAIL_TO": "c@example.org, d@example.org"}
    assert load_settings(overridden).mail.recipients == ("c@example.org", "d@example.org")


@pytest.mark.parametrize(
    "line, said",
    [
        ('KRATOM_WATCH_MAIL_TO = ["a@example.org", 7]', "must be a list of addresses"),
        ('KRATOM_WATCH_QUERY = ["kratom", "mood"]', "KRATOM_WATCH_QUERY in "),
        ("KRATOM_WATCH_BATCH_SIZE = true", "must be a string or a number"),
    ],
)
def test_a_config_value_of_the_wrong_kind_is_refused(tmp_path, line, said):
    with pytest.raises(SettingsError, match=re.escape(said)):
        load_settings(config(tmp_path, MAIL + line + "\n"))


@pytest.mark.parametrize(
    "name, meant",
    [
        ("KRATOM_WATCH_BATCHSIZE", "KRATOM_WATCH_BATCH_SIZE"),
        ("KRATOM_WATCH_SMTP_PASSWD", "KRATOM_WATCH_SMTP_PASSWORD"),
        ("KRATOM_WATCH_TIMEZOME", "KRATOM_WATCH_TIMEZONE"),
    ],
)
def test_an_unknown_variable_is_an_error_naming_the_closest_setting(tmp_path, name, meant):
    with pytest.raises(SettingsError) as in_environment:
        load_settings({**BASE, name: "1"})
    with pytest.raises(SettingsError) as in_file:
        load_settings(config(tmp_path, f'{name} = "1"\n'))

    assert str(in_environment.value) == (
        f"{name} in the environment is not a kratom-watch setting: did you mean {meant}?"
    )
    assert str(in_file.value).startswith(f"{name} in the config file ")
    assert str(in_file.value).endswith(f"did you mean {meant}?")


def test_a_retired_variable_is_a_warning_not_an_error(caplog):
    with caplog.at_level(logging.WARNING, logger="kratom_watch.settings"):
        load_settings({**BASE, "KRATOM_WATCH_WORKERS": "2"})

    assert "KRATOM_WATCH_WORKERS in the environment is no longer used" in caplog.text


def test_other_variables_are_not_settings_and_are_left_alone():
    others = {"KRATOM_WATCH_CONFIG": "", "KRATOM_WATCH_SCREENSHOTS": "/tmp/s", "PATH": "/bin"}
    load_settings({**BASE, **others, "NCBI_OTHER": "x"})


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_query_is_an_error_not_the_default(value):
    with pytest.raises(SettingsError, match="KRATOM_WATCH_QUERY is set but empty"):
        load_settings({**BASE, "KRATOM_WATCH_QUERY": value})


def test_an_in_memory_store_is_refused():
    with pytest.raises(SettingsError) as raised:
        load_settings({**BASE, "KRATOM_WATCH_DB": ":memory:"})

    assert str(raised.value).startswith("KRATOM_WATCH_DB=':memory:' is not a file: the store")


@pytest.mark.parametrize("mode, warned", [(0o644, True), (0o620, True), (0o600, False)])
def test_a_password_in_a_config_file_others_can_read_is_warned_about(
    tmp_path, caplog, mode, warned
):
    secret = "hunter2-config-password"
    lines = MAIL + 'KRATOM_WATCH_MAIL_TO = "a@example.org"\n'
    env = config(tmp_path, lines + f'KRATOM_WATCH_SMTP_PASSWORD = "{secret}"\n', mode)

    with caplog.at_level(logging.WARNING, logger="kratom_watch.settings"):
        load_settings(env)

    path = env["KRATOM_WATCH_CONFIG"]
    assert (f"chmod 600 {path}" in caplog.text) is warned
    assert secret not in caplog.text


def test_a_config_file_without_a_password_may_be_readable(tmp_path, caplog):
    env = config(tmp_path, MAIL + 'KRATOM_WATCH_MAIL_TO = "a@example.org"\n', 0o644)

    with caplog.at_level(logging.WARNING, logger="kratom_watch.settings"):
        load_settings(env)

    assert caplog.text == ""


CLEAR = {
    **BASE,
    "KRATOM_WATCH_MAIL_FROM": "me@example.org",
    "KRATOM_WATCH_MAIL_TO": "a@example.org",
    "KRATOM_WATCH_SMTP_SECURITY": "none",
    "KRATOM_WATCH_SMTP_PASSWORD": "hunter2-clear",
}


def test_a_password_in_clear_text_to_another_host_is_refused():
    with pytest.raises(SettingsError) as raised:
        load_settings({**CLEAR, "KRATOM_WATCH_SMTP_HOST": "smtp.example.org"})

    assert str(raised.value) == (
        "KRATOM_WATCH_SMTP_PASSWORD would travel to smtp.example.org in clear text "
        "(KRATOM_WATCH_SMTP_SECURITY=none): use starttls or ssl"
    )
    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_a_password_in_clear_text_on_this_machine_is_warned_about(caplog, host):
    with caplog.at_level(logging.WARNING, logger="kratom_watch.settings"):
        mail = load_settings({**CLEAR, "KRATOM_WATCH_SMTP_HOST": host}).mail

    assert mail.password.reveal() == "hunter2-clear"
    assert f"goes to {host} in clear text" in caplog.text and "hunter2" not in caplog.text


@pytest.mark.parametrize(
    "batch, limit", [("1", 16_000_000), ("500", 25_000_000), ("10000", 500_000_000)]
)
def test_the_answer_limit_follows_the_batch_size(batch, limit):
    settings = load_settings({**BASE, "KRATOM_WATCH_BATCH_SIZE": batch})

    assert settings.answer_limit == limit
    assert settings.answer_limit > int(batch) * 44_000  # the largest real record, every one


def test_the_answer_limit_can_be_set():
    settings = load_settings({**BASE, "KRATOM_WATCH_MAX_ANSWER_MB": "40"})

    assert settings.answer_limit == 40_000_000
    with pytest.raises(SettingsError, match="outside 1..4000"):
        load_settings({**BASE, "KRATOM_WATCH_MAX_ANSWER_MB": "0"})
