"""AES-256-GCM envelopes with key ids: round trips, rotation, wrong keys, the embedded key file."""

from __future__ import annotations

import base64
import logging
import stat
from pathlib import Path

import pytest

from pip_service.config import Settings
from pip_service.errors import ConfigError
from pip_service.secrets.crypto import Envelope, KeyRing, generate_key, key_id_of

SECRET = b'{"password": "hunter2-correct-horse"}'


def test_round_trip_stores_the_key_id_and_never_the_plaintext() -> None:
    ring = KeyRing.parse(f"prod-2026:{generate_key()}")

    sealed = ring.encrypt(SECRET)

    assert ring.decrypt(sealed) == SECRET
    assert key_id_of(sealed) == "prod-2026"
    assert b"hunter2" not in sealed
    assert ring.encrypt(SECRET) != sealed  # a fresh nonce every time
    assert len(Envelope.from_bytes(sealed).nonce) == 12


def test_the_last_key_encrypts_and_every_key_decrypts() -> None:
    old, new = generate_key(), generate_key()
    before = KeyRing.parse(f"k1:{old}").encrypt(SECRET)
    ring = KeyRing.parse(f"k1:{old}, k2:{new}")

    after = ring.encrypt(SECRET)

    assert (ring.primary_key_id, key_id_of(after)) == ("k2", "k2")
    assert ring.decrypt(before) == ring.decrypt(after) == SECRET
    assert ring.needs_rotation(before) and not ring.needs_rotation(after)


def test_a_missing_key_id_is_named_and_no_key_is_shown() -> None:
    other = generate_key()
    sealed = KeyRing.parse(f"gone:{other}").encrypt(SECRET)
    ring = KeyRing.parse(f"k1:{generate_key()}")

    with pytest.raises(ConfigError, match="key id 'gone'") as caught:
        ring.decrypt(sealed)

    assert caught.value.code == "encryption_key_missing"
    assert other not in str(caught.value)


def test_a_wrong_key_under_the_same_id_is_a_clear_error() -> None:
    sealed = KeyRing.parse(f"k1:{generate_key()}").encrypt(SECRET)
    wrong = generate_key()

    with pytest.raises(ConfigError, match="key id 'k1' cannot be decrypted") as caught:
        KeyRing.parse(f"k1:{wrong}").decrypt(sealed)

    assert caught.value.code == "encryption_key_wrong"
    assert wrong not in str(caught.value)


def test_tampering_is_detected() -> None:
    ring = KeyRing.parse(f"k1:{generate_key()}")
    sealed = bytearray(ring.encrypt(SECRET))
    sealed[-1] ^= 1

    with pytest.raises(ConfigError):
        ring.decrypt(bytes(sealed))
    with pytest.raises(ConfigError, match="unknown format"):
        ring.decrypt(b"\x07garbage")
    with pytest.raises(ConfigError, match="truncated"):
        ring.decrypt(ring.encrypt(SECRET)[:10])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("k1:not base64!!", "'k1' is not valid base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "'k1' must be 32 bytes"),
        (f"k1:{generate_key()},k1:{generate_key()}", "'k1' is configured twice"),
        ("justakey", "#1 must look like 'kid:base64key'"),
        ("", "no encryption key"),
    ],
)
def test_bad_key_configuration_names_the_key_id_only(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        KeyRing.parse(spec)
    for part in spec.split(","):
        key = part.partition(":")[2]
        assert not key or key not in str(caught.value)


def test_the_embedded_default_generates_a_private_key_file_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/pip.db", data_dir=tmp_path)
    caplog.set_level(logging.WARNING)

    first = KeyRing.from_settings(settings)
    second = KeyRing.from_settings(settings)

    key_file = tmp_path / "encryption.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert second.decrypt(first.encrypt(SECRET)) == SECRET
    assert "generated encryption key 'local1'" in caplog.text
    assert key_file.read_text().split(":")[1].strip() not in caplog.text
    assert caplog.text.count("generated") == 1


def test_configured_keys_win_and_postgres_requires_them(tmp_path: Path) -> None:
    key = generate_key()
    configured = Settings(encryption_keys=f"main:{key}", data_dir=tmp_path)
    postgres = Settings(database_url="postgresql+asyncpg://db/pip", data_dir=tmp_path)

    assert KeyRing.from_settings(configured).key_ids == ["main"]
    assert key not in repr(KeyRing.from_settings(configured))
    with pytest.raises(ConfigError, match="PIP_ENCRYPTION_KEYS must be set"):
        KeyRing.from_settings(postgres)
    assert not (tmp_path / "encryption.key").exists()
