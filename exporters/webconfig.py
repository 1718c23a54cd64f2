"""``--web-config FILE``: TLS and basic auth, in the format of Prometheus' exporter-toolkit.

The same file node_exporter takes with ``--web.config.file`` works here::

    tls_server_config:
      cert_file: server.crt          # relative paths are relative to this file
      key_file: server.key
      client_auth_type: RequireAndVerifyClientCert   # optional, with client_ca_file
      client_ca_file: clients.crt
      min_version: TLS12             # optional: TLS10..TLS13
    http_server_config:
      headers: {X-Frame-Options: deny}
    basic_auth_users:
      prometheus: $2y$10$...         # bcrypt hash (htpasswd -nBC 10 "" | tr -d ':\\n')

Settings of the toolkit that Python's ssl module cannot honour (``cipher_suites``,
``curve_preferences``, ``http2``...) are refused with a message rather than ignored.
"""

from __future__ import annotations

import functools
import hashlib
import os
import ssl
import threading
from dataclasses import dataclass, field

import bcrypt
import yaml

from dtscope.errors import UserError

TLS_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}

CLIENT_AUTH_TYPES = {
    "NoClientCert": ssl.CERT_NONE,
    "RequestClientCert": ssl.CERT_OPTIONAL,
    "RequireAnyClientCert": ssl.CERT_REQUIRED,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}

TLS_KEYS = {
    "cert_file",
    "key_file",
    "client_auth_type",
    "client_ca_file",
    "min_version",
    "max_version",
}
TLS_UNSUPPORTED = {
    "cipher_suites",
    "curve_preferences",
    "prefer_server_cipher_suites",
    "client_allowed_sans",
    "cert",
    "key",
}
HTTP_KEYS = {"headers"}
HTTP_UNSUPPORTED = {"http2"}
TOP_KEYS = {"tls_server_config", "http_server_config", "basic_auth_users"}


# Checked when the user name is unknown, so that a wrong name costs as much as a wrong password.
@functools.cache
def _dummy_hash() -> bytes:
    return bcrypt.hashpw(b"dtscope", bcrypt.gensalt(rounds=10))


@dataclass
class WebConfig:
    ssl_context: ssl.SSLContext | None = None
    users: dict[str, bytes] = field(default_factory=dict)  # name -> bcrypt hash
    headers: dict[str, str] = field(default_factory=dict)
    _verified: set[bytes] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def auth_required(self) -> bool:
        return bool(self.users)

    def check_password(self, user: str, password: str) -> bool:
        """bcrypt is slow on purpose (tens of ms); a scrape every few seconds must not pay
        it each time, so good credentials are remembered (by a hash, never in clear)."""
        stored = self.users.get(user)
        token = hashlib.sha256(
            user.encode() + b"\0" + password.encode() + b"\0" + (stored or b"")
        ).digest()
        if stored is not None and token in self._verified:
            return True
        try:
            good = bcrypt.checkpw(password.encode(), stored or _dummy_hash())
        except ValueError:
            good = False
        if good and stored is not None:
            with self._lock:
                if len(self._verified) > 1000:
                    self._verified.clear()
                self._verified.add(token)
            return True
        return False


def load_web_config(path: str) -> WebConfig:
    """Read and check a web config file; every problem is a UserError naming the file."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except OSError as err:
        raise UserError(f"cannot read web config {path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise UserError(f"web config {path} is not valid YAML: {err}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(f"web config {path}: expected a mapping at the top")
    base = os.path.dirname(os.path.abspath(path))

    def fail(message: str) -> UserError:
        return UserError(f"web config {path}: {message}")

    unknown = set(data) - TOP_KEYS
    if unknown:
        raise fail(f"unknown setting(s) {', '.join(sorted(map(str, unknown)))}")
    config = WebConfig()

    tls = data.get("tls_server_config")
    if tls is not None:
        if not isinstance(tls, dict):
            raise fail("tls_server_config must be a mapping")
        config.ssl_context = _ssl_context(tls, base, fail)

    http = data.get("http_server_config")
    if http is not None:
        if not isinstance(http, dict):
            raise fail("http_server_config must be a mapping")
        bad = set(http) & HTTP_UNSUPPORTED
        if bad:
            raise fail(f"http_server_config: {', '.join(sorted(bad))} is not supported by dtscope")
        unknown = set(http) - HTTP_KEYS - HTTP_UNSUPPORTED
        if unknown:
            raise fail(
                f"http_server_config: unknown setting(s) {', '.join(sorted(map(str, unknown)))}"
            )
        headers = http.get("headers") or {}
        if not isinstance(headers, dict):
            raise fail("http_server_config.headers must be a mapping")
        config.headers = {str(k): str(v) for k, v in headers.items()}

    users = data.get("basic_auth_users")
    if users is not None:
        if not isinstance(users, dict):
            raise fail("basic_auth_users must be a mapping of user name to bcrypt hash")
        for name, hashed in users.items():
            if not isinstance(hashed, str) or not hashed.startswith(("$2a$", "$2b$", "$2y$")):
                raise fail(f"basic_auth_users: the password of {name!r} is not a bcrypt hash")
            config.users[str(name)] = hashed.encode()
    return config


def _ssl_context(tls: dict, base: str, fail) -> ssl.SSLContext:
    bad = set(tls) & TLS_UNSUPPORTED
    if bad:
        raise fail(f"tls_server_config: {', '.join(sorted(bad))} is not supported by dtscope")
    unknown = set(tls) - TLS_KEYS
    if unknown:
        raise fail(f"tls_server_config: unknown setting(s) {', '.join(sorted(map(str, unknown)))}")
    cert, key = tls.get("cert_file"), tls.get("key_file")
    if not cert or not key:
        raise fail("tls_server_config needs both cert_file and key_file")
    cert_path = os.path.join(base, str(cert))
    key_path = os.path.join(base, str(key))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_path, key_path)
    except FileNotFoundError as err:
        raise fail(f"cannot read {err.filename or cert_path}") from None
    except (ssl.SSLError, OSError) as err:
        raise fail(f"cannot load certificate {cert_path} with key {key_path}: {err}") from None
    for setting, attribute in (
        ("min_version", "minimum_version"),
        ("max_version", "maximum_version"),
    ):
        if setting in tls:
            version = TLS_VERSIONS.get(str(tls[setting]))
            if version is None:
                raise fail(
                    f"tls_server_config.{setting}: expected one of {', '.join(TLS_VERSIONS)}"
                )
            setattr(context, attribute, version)
    auth_type = str(tls.get("client_auth_type") or "NoClientCert")
    if auth_type not in CLIENT_AUTH_TYPES:
        raise fail(
            f"tls_server_config.client_auth_type: expected one of {', '.join(CLIENT_AUTH_TYPES)}"
        )
    ca = tls.get("client_ca_file")
    if auth_type in ("VerifyClientCertIfGiven", "RequireAndVerifyClientCert") and not ca:
        raise fail(f"tls_server_config: client_auth_type {auth_type} needs client_ca_file")
    if ca:
        ca_path = os.path.join(base, str(ca))
        try:
            context.load_verify_locations(ca_path)
        except (ssl.SSLError, OSError) as err:
            raise fail(f"cannot load client_ca_file {ca_path}: {err}") from None
    # Python cannot accept an unverified client certificate: RequestClientCert and
    # RequireAnyClientCert verify it against client_ca_file (or the system store).
    if ca is None and CLIENT_AUTH_TYPES[auth_type] != ssl.CERT_NONE:
        context.load_default_certs(ssl.Purpose.CLIENT_AUTH)
    context.verify_mode = CLIENT_AUTH_TYPES[auth_type]
    return context
