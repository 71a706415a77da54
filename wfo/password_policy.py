"""Password policy: length, not a common password, not the account's email.

`common_passwords.json` holds the 10,000 most frequent passwords of at least 8 characters from the
`passwords` frequency list shipped by the zxcvbn PyPI package (4.5.0, MIT licence), most frequent first.
The check is case-insensitive and also catches a common password with digits or symbols appended
("password123!") or the email's local part used as the password.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

MIN_LENGTH = 8
_LIST = Path(__file__).with_name("common_passwords.json")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    return frozenset(w.lower() for w in json.loads(_LIST.read_text(encoding="utf-8")))


def password_problem(password: str, email: str | None = None) -> str | None:
    """Why `password` is refused (a sentence for a 422), or None if it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"password must be at least {MIN_LENGTH} characters"
    lowered = password.lower()
    stem = re.sub(r"[\d\W_]+$", "", lowered)  # "password123!" -> "password"
    common = common_passwords()
    if lowered in common or (len(stem) >= 6 and (stem in common or stem in _short_common())):
        return "password is too common (it is on a list of frequently used passwords)"
    if email:
        address = email.strip().lower()
        local = address.split("@", 1)[0]
        if address in lowered or (len(local) >= 4 and local in lowered):
            return "password must not contain the email address"
    return None


@lru_cache(maxsize=1)
def _short_common() -> frozenset[str]:
    """Frequent words of 6-7 letters that, with digits appended, pass the length rule ("qwerty12")."""
    return frozenset({"qwerty", "abc123", "monkey", "dragon", "master", "letmein", "shadow", "welcome",
                      "sunshine", "passw0rd", "michael", "football", "baseball", "iloveyou", "princess",
                      "admin", "secret", "freedom", "whatever", "trustno1", "starwars", "computer"})
