"""Where a client keeps its session: in memory, or (the CLI) in the user's config directory, readable by the
user alone (mode 600), one session per server."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import platformdirs

CREDENTIALS_FILE = "credentials.json"


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: float  # seconds since the epoch, on this machine's clock
    email: str = ""

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Tokens:
        """From an AuthPayload (login, register, refreshToken)."""
        return cls(
            access_token=payload["accessToken"],
            refresh_token=payload["refreshToken"],
            expires_at=time.time() + int(payload["expiresIn"]),
            email=str(payload.get("user", {}).get("email", "")),
        )


class TokenStore(Protocol):
    """Keeps one server's session between calls (and, for the CLI, between runs)."""

    def load(self) -> Tokens | None: ...

    def save(self, tokens: Tokens | None) -> None: ...


class MemoryTokens:
    """A session that lives as long as the client (programs that sign in themselves)."""

    def __init__(self, tokens: Tokens | None = None) -> None:
        self._tokens = tokens

    def load(self) -> Tokens | None:
        return self._tokens

    def save(self, tokens: Tokens | None) -> None:
        self._tokens = tokens


def config_dir() -> Path:
    """$XDG_CONFIG_HOME/pmdi (usually ~/.config/pmdi) on Linux; the platform's equivalent elsewhere."""
    return Path(platformdirs.user_config_dir("pmdi", appauthor=False))


class CredentialsFile:
    """Sessions per server URL in one JSON file, written atomically with mode 600 in a mode-700 directory."""

    def __init__(self, url: str, path: Path | None = None) -> None:
        self.url = url
        self.path = path or config_dir() / CREDENTIALS_FILE

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {"servers": {}}
        return data if isinstance(data, dict) and isinstance(data.get("servers"), dict) else {"servers": {}}

    def _write(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".credentials-")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump(data, out, indent=2)
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise

    def load(self) -> Tokens | None:
        entry = self._read()["servers"].get(self.url)
        if not isinstance(entry, dict):
            return None
        try:
            return Tokens(**entry)
        except TypeError:
            return None

    def save(self, tokens: Tokens | None) -> None:
        data = self._read()
        if tokens is None:
            data["servers"].pop(self.url, None)
            if data.get("current") == self.url:
                data.pop("current")
        else:
            data["servers"][self.url] = asdict(tokens)
            data["current"] = self.url
        self._write(data)

    def current_url(self) -> str | None:
        """The server signed in to last, used when neither --url nor PMDI_URL says otherwise."""
        url = self._read().get("current")
        return url if isinstance(url, str) else None
