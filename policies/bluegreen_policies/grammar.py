# Copied from bluegreen/config/grammar.py by `make policies-shared`: edit the original, then run it again.
"""The grammars Kubernetes and container runtimes apply to a value, as small pure functions.

Each check returns None when the value is valid, or the reason it is not, worded to follow
"must ...": the settings parser puts the reason into its error message as it is. Nothing here
knows about config keys, so each rule is tested on its own (tests/config/test_grammar.py).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable
from decimal import Decimal
from typing import Final

from bluegreen_policies import naming

MAX_LABEL_LENGTH: Final = naming.MAX_LABEL_LENGTH
# Name-shaped values: DNS labels and label values are at most 63 characters.
DNS1123_LABEL: Final = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS1035_LABEL: Final = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
LABEL_VALUE: Final = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
# The environment variable name rule of Kubernetes 1.30 (the oldest release the README supports):
# a C identifier that may also hold '-' and '.'. 1.32 relaxed it; a stack must run on 1.30 too.
ENV_NAME: Final = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")

# The image reference grammar of the container runtimes (github.com/distribution/reference).
_DOMAIN_COMPONENT: Final = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN: Final = re.compile(rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?")
_PATH_COMPONENT: Final = re.compile(r"[a-z0-9]+(?:(?:[_.]|__|-+)[a-z0-9]+)*")
_TAG: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
DIGEST_HEX_LENGTHS: Final = {"sha256": 64, "sha384": 96, "sha512": 128}
_HEX: Final = re.compile(r"[0-9a-f]+")
MAX_IMAGE_NAME_LENGTH: Final = 255
UNPINNED_TAG: Final = "latest"

# RFC 3986 path characters: unreserved, sub-delims, ':' '@', '/' and percent-escapes.
_PATH_CHARS: Final = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*")
MAX_PATH_LENGTH: Final = 1024

PLACEHOLDERS: Final = ("color", "version", "port")
"""The only placeholders the program fills in args, by literal substitution."""
# An identifier in single braces: `{colour}` is a placeholder, `{{x}}` and `{"a":1}` are not.
_PLACEHOLDER: Final = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")

_INVISIBLE_CATEGORIES: Final = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})
_ALLOWED_CONTROLS: Final = frozenset("\t\n")


def hidden_character(text: str, allow: Iterable[str] = ()) -> str | None:
    """The first control or invisible character of `text` (as U+XXXX), or None."""
    allowed = frozenset(allow)
    for char in text:
        if char not in allowed and (unicodedata.category(char) in _INVISIBLE_CATEGORIES or char == "\u00a0"):
            return f"U+{ord(char):04X}"
    return None


def free_text(text: str) -> str | None:
    """Args and env values: any text but control and invisible characters (tab and newline pass)."""
    found = hidden_character(text, _ALLOWED_CONTROLS)
    return f"must not contain control or invisible characters (found {found})" if found else None


def _dns_label(text: str, pattern: re.Pattern[str], rule: str, max_length: int) -> str | None:
    if len(text) <= max_length and pattern.fullmatch(text):
        return None
    return f"must be a {rule} of at most {max_length} characters: lower case letters, digits and '-', " + (
        "starting and ending with a letter or digit"
        if pattern is DNS1123_LABEL
        else "starting with a letter and ending with a letter or digit"
    )


def dns1123_label(text: str, max_length: int = MAX_LABEL_LENGTH) -> str | None:
    """A namespace name."""
    return _dns_label(text, DNS1123_LABEL, "DNS-1123 label", max_length)


def dns1035_label(text: str, max_length: int = MAX_LABEL_LENGTH) -> str | None:
    """A Service name, and so an app's or the frontend's name."""
    return _dns_label(text, DNS1035_LABEL, "DNS-1035 label", max_length)


def label_value(text: str) -> str | None:
    if text and len(text) <= MAX_LABEL_LENGTH and LABEL_VALUE.fullmatch(text):
        return None
    return "must be a label value: 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"


def env_name(text: str) -> str | None:
    if ENV_NAME.fullmatch(text):
        return None
    return (
        "must be an environment variable name: letters, digits, '_', '-' and '.', not starting with a digit "
        "(the rule of Kubernetes 1.30), never empty and without '='"
    )


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """(name, tag, digest) of an image reference; the tag is after the last ':' of the last path part."""
    name, _, digest = image.partition("@")
    head, slash, last = name.rpartition("/")
    last, colon, tag = last.partition(":")
    return f"{head}{slash}{last}", (tag if colon else None), (digest if digest or "@" in image else None)


def repository(image: str) -> str:
    """The image reference without its tag or digest (a registry's port is not a tag)."""
    return split_image(image)[0]


def image_reference(image: object) -> str | None:
    """Why `image` is not a pinned reference a container runtime accepts, or None when it is."""
    if not isinstance(image, str) or not image.strip():
        return "must be an image reference with a tag or digest, not empty"
    if (found := hidden_character(image)) is not None or any(c.isspace() for c in image):
        return f"must not contain spaces, control or invisible characters (found {found or 'a space'})"
    name, tag, digest = split_image(image)
    if (why := _image_name(name)) is not None:
        return why
    if tag is not None and not _TAG.fullmatch(tag):
        return f"must have a tag of 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-' (got {tag!r})"
    if digest is not None:
        return _digest(digest)
    if tag is None:
        return "must be pinned with a tag or digest (no tag means latest)"
    if tag == UNPINNED_TAG:
        return 'must be pinned to a tag or digest other than "latest"'
    return None


def _image_name(name: str) -> str | None:
    if len(name) > MAX_IMAGE_NAME_LENGTH:
        return f"must have a name (registry and repository) of at most {MAX_IMAGE_NAME_LENGTH} characters"
    first, slash, rest = name.partition("/")
    # As the runtimes decide it: a first part with '.' or ':', "localhost", or upper case is a registry.
    if slash and ("." in first or ":" in first or first == "localhost" or first.lower() != first):
        if not _DOMAIN.fullmatch(first):
            return f"must name a registry host as host[:port] (got {first!r})"
        path = rest
    else:
        path = name
    if not all(_PATH_COMPONENT.fullmatch(part) for part in path.split("/")):
        return (
            "must have a repository path of lower case letters and digits, its parts joined by '/' and "
            f"separated inside by '.', '_', '__' or '-' (got {path!r})"
        )
    return None


def _digest(digest: str) -> str | None:
    algorithm, _, hex_part = digest.partition(":")
    length = DIGEST_HEX_LENGTHS.get(algorithm)
    if length is None or len(hex_part) != length or not _HEX.fullmatch(hex_part):
        allowed = ", ".join(f"{a}:<{n} lower-case hex digits>" for a, n in DIGEST_HEX_LENGTHS.items())
        return f"must have a digest of the form {allowed}"
    return None


def http_path(path: str) -> str | None:
    """Why `path` is not an absolute HTTP path that stays where it is put, or None.

    A smoke path is appended to the API server's pod proxy URL: a dot segment, an escaped slash or
    backslash could climb out of it to another API path, so they are refused, escaped or not.
    """
    if not path.startswith("/"):
        return "must be an absolute HTTP path starting with '/'"
    if len(path) > MAX_PATH_LENGTH:
        return f"must be at most {MAX_PATH_LENGTH} characters"
    if "{" in path or "}" in path:
        return "must be a literal path: placeholders such as {color} are filled only in args"
    if "?" in path or "#" in path:
        return "must be a plain path, without a query ('?') or fragment ('#')"
    if not _PATH_CHARS.fullmatch(path):
        return (
            'must hold only letters, digits, "-._~!$&\'()*+,;=:@/" and valid %XX escapes '
            "(no spaces, control or invisible characters)"
        )
    segments = path.split("/")[1:]
    if "" in segments[:-1]:
        return "must not contain an empty segment ('//')"
    lowered = path.lower()
    if "%2f" in lowered or "%5c" in lowered:
        return "must not contain an escaped '/' or '\\' (%2F, %5C)"
    if any(segment.lower().replace("%2e", ".") in (".", "..") for segment in segments):
        return "must not contain a '.' or '..' segment, escaped or not"
    return None


def unknown_placeholders(text: str) -> list[str]:
    """Identifier-like `{name}` placeholders in `text` that the program does not fill."""
    return [name for name in _PLACEHOLDER.findall(text) if name not in PLACEHOLDERS]


def fill_placeholders(text: str, values: dict[str, str]) -> str:
    """Replace `{color}`, `{version}` and `{port}` literally; every other character passes through."""
    for name in PLACEHOLDERS:
        text = text.replace("{" + name + "}", values[name])
    return text


def cidr(text: str) -> tuple[str | None, str | None]:
    """(canonical network, reason it is refused): a network with host bits set or that admits everything is refused."""
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None, "must be a CIDR such as 10.0.0.0/24 or fd00::/64"
    if network.prefixlen == 0:
        return None, "must not admit every address: name the network the API server connects from"
    if str(network) != text:
        return str(network), f"must be written in its canonical form {network} (no host bits set)"
    return str(network), None


# A Kubernetes resource quantity (k8s.io/apimachinery's resource.Quantity): a number and a binary,
# decimal or exponent suffix. Here always positive: a request or limit of nothing is a mistake.
_QUANTITY: Final = re.compile(r"([0-9]+(?:\.[0-9]+)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?")
_QUANTITY_SCALE: Final = {
    **{suffix: Decimal(1024) ** power for power, suffix in enumerate(("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"))},
    **{suffix: Decimal(10) ** power for suffix, power in (("n", -9), ("u", -6), ("m", -3), ("k", 3), ("M", 6))},
    **{suffix: Decimal(10) ** power for suffix, power in (("G", 9), ("T", 12), ("P", 15), ("E", 18))},
}
MAX_QUANTITY_LENGTH: Final = 32


def quantity_value(text: str) -> Decimal | None:
    """The amount a quantity stands for (`250m` -> 0.25, `64Mi` -> 67108864), or None if it is not one."""
    if len(text) > MAX_QUANTITY_LENGTH or (match := _QUANTITY.fullmatch(text)) is None:
        return None
    number, suffix = Decimal(match[1]), match[2] or ""
    if suffix[:1] in ("e", "E"):
        return number * Decimal(10) ** int(suffix[1:])
    return number * _QUANTITY_SCALE[suffix]


def quantity(text: str) -> str | None:
    """Why `text` is not a positive Kubernetes quantity, or None."""
    value = quantity_value(text)
    if value is None:
        return (
            "must be a Kubernetes quantity: a number and an optional suffix, such as 250m or 0.5 (CPU), "
            "64Mi or 1Gi (memory)"
        )
    if value <= 0:
        return "must be more than 0"
    return None


MAX_WRITABLE_PATH_LENGTH: Final = 255
_FILE_PATH: Final = re.compile(r"(/[A-Za-z0-9._-]+)+")


def writable_path(path: str) -> str | None:
    """Why `path` cannot be a directory the container may write to (an emptyDir mounted there), or None."""
    if len(path) > MAX_WRITABLE_PATH_LENGTH or not _FILE_PATH.fullmatch(path):
        return (
            f"must be an absolute directory path of at most {MAX_WRITABLE_PATH_LENGTH} characters: '/' and "
            "segments of letters, digits, '.', '_' and '-', without a trailing '/'"
        )
    if any(segment in (".", "..") for segment in path.split("/")):
        return "must not contain a '.' or '..' segment"
    if path == "/tmp" or path.startswith("/tmp/"):
        return "must not be /tmp or under it: /tmp is always writable (its size is tmpSize)"
    return None
