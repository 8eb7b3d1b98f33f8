from __future__ import annotations

import pytest

from switchboard_platform.secrets_box import SecretsBox, SecretsBoxError, mask


def test_round_trip() -> None:
    box = SecretsBox([SecretsBox.generate_key()])
    ciphertext = box.encrypt("xoxb-partner-token")
    assert ciphertext.startswith("enc:v1:")
    assert "xoxb" not in ciphertext
    assert box.decrypt(ciphertext) == "xoxb-partner-token"


def test_old_key_still_decrypts_after_rotation() -> None:
    old, new = SecretsBox.generate_key(), SecretsBox.generate_key()
    ciphertext = SecretsBox([old]).encrypt("s")
    rotated = SecretsBox([new, old])
    assert rotated.decrypt(ciphertext) == "s"
    # rotate re-encrypts under the newest key: the old key can then be retired.
    assert SecretsBox([new]).decrypt(rotated.rotate(ciphertext)) == "s"


def test_wrong_key_fails_without_leaking() -> None:
    ciphertext = SecretsBox([SecretsBox.generate_key()]).encrypt("topsecret")
    with pytest.raises(SecretsBoxError) as caught:
        SecretsBox([SecretsBox.generate_key()]).decrypt(ciphertext)
    assert "topsecret" not in str(caught.value)


def test_plaintext_is_not_mistaken_for_ciphertext() -> None:
    with pytest.raises(SecretsBoxError, match="not an encrypted"):
        SecretsBox([SecretsBox.generate_key()]).decrypt("plain")


def test_bad_keys_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="Fernet"):
        SecretsBox(["short"])


def test_mask_shows_only_the_tail() -> None:
    assert mask("whsec_abcdefghijklmnop") == "••••mnop"
    assert mask("abc") == "••••"
