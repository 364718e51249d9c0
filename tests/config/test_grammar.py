"""Each grammar on its own: the valid forms pass, each kind of invalid one gets its reason."""

from __future__ import annotations

import pytest

from bluegreen.config import grammar

SHA256 = "sha256:" + "a" * 64
IMAGE_VALID = [
    "nginx:1.27",
    "hashicorp/http-echo:1.0.0",
    "library/nginx:1.27.4-alpine",
    "localhost/app:1",
    "localhost:5000/app:1.0",
    "registry.example.com/team/app:v2",
    "registry.example.com:443/team/app:v2",
    "Registry.Example.com/app:1",
    "[::1]:5000/app:1",
    "192.168.0.1:5000/app:1",
    "a/b/c/d:e",
    "my_app:1",
    "my__app:1",
    "my---app:1",
    "app.v2:1",
    "app:" + "t" * 128,
    "app:_tag",
    "app:UPPER.case-ok_1",
    "nginx@" + SHA256,
    "nginx:1.27@" + SHA256,
    "nginx:latest@" + SHA256,
    "nginx@sha384:" + "b" * 96,
    "nginx@sha512:" + "c" * 128,
    "a" * 200 + ":1",
]
IMAGE_INVALID = [
    ("", "must be an image reference with a tag or digest, not empty"),
    ("   ", "must be an image reference with a tag or digest, not empty"),
    ("nginx", "must be pinned with a tag or digest (no tag means latest)"),
    ("localhost:5000/app", "must be pinned with a tag or digest (no tag means latest)"),
    ("nginx:latest", 'must be pinned to a tag or digest other than "latest"'),
    (" nginx:1", "must not contain spaces, control or invisible characters (found a space)"),
    ("nginx:1 ", "must not contain spaces, control or invisible characters (found a space)"),
    ("nginx:1\n", "must not contain spaces, control or invisible characters (found U+000A)"),
    ("ngi\u200bnx:1", "must not contain spaces, control or invisible characters (found U+200B)"),
    ("nginx:1\u00a0", "must not contain spaces, control or invisible characters (found U+00A0)"),
    ("nginx:\u0000", "must not contain spaces, control or invisible characters (found U+0000)"),
    (
        "Nginx:1",
        "must have a repository path of lower case letters and digits, its parts joined by '/' and separated "
        "inside by '.', '_', '__' or '-' (got 'Nginx')",
    ),
    (
        "team/App:1",
        "must have a repository path of lower case letters and digits, its parts joined by '/' and separated "
        "inside by '.', '_', '__' or '-' (got 'team/App')",
    ),
    (
        "-app:1",
        "must have a repository path of lower case letters and digits, its parts joined by '/' and separated "
        "inside by '.', '_', '__' or '-' (got '-app')",
    ),
    (
        "app_:1",
        "must have a repository path of lower case letters and digits, its parts joined by '/' and separated "
        "inside by '.', '_', '__' or '-' (got 'app_')",
    ),
    (
        "a___b:1",
        "must have a repository path of lower case letters and digits, its parts joined by '/' and separated "
        "inside by '.', '_', '__' or '-' (got 'a___b')",
    ),
    (
        "a//b:1",
        "must have a repository path of lower case letters and digits, its parts joined by '/' and separated "
        "inside by '.', '_', '__' or '-' (got 'a//b')",
    ),
    (
        "ex ample.com/app:1",
        "must not contain spaces, control or invisible characters (found a space)",
    ),
    ("-bad.com/app:1", "must name a registry host as host[:port] (got '-bad.com')"),
    ("example.com:port/app:1", "must name a registry host as host[:port] (got 'example.com:port')"),
    ("app:", "must have a tag of 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-' (got '')"),
    ("app:.1", "must have a tag of 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-' (got '.1')"),
    ("app:-1", "must have a tag of 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-' (got '-1')"),
    ("app:a+b", "must have a tag of 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-' (got 'a+b')"),
    (
        "app:" + "t" * 129,
        "must have a tag of 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-' (got '"
        + "t" * 129
        + "')",
    ),
    ("a" * 256 + ":1", "must have a name (registry and repository) of at most 255 characters"),
]
DIGEST = (
    "must have a digest of the form sha256:<64 lower-case hex digits>, sha384:<96 lower-case hex digits>, "
    "sha512:<128 lower-case hex digits>"
)
IMAGE_INVALID += [
    ("nginx@", DIGEST),
    ("nginx@sha256:abc", DIGEST),
    ("nginx@sha256:" + "a" * 63, DIGEST),
    ("nginx@sha256:" + "a" * 65, DIGEST),
    ("nginx@sha256:" + "A" * 64, DIGEST),
    ("nginx@sha256:" + "g" * 64, DIGEST),
    ("nginx@md5:" + "a" * 32, DIGEST),
    ("nginx@sha512:" + "a" * 64, DIGEST),
    ("nginx@" + SHA256 + "@" + SHA256, DIGEST),
]


@pytest.mark.parametrize("image", IMAGE_VALID)
def test_pinned_image_references_are_valid(image):
    assert grammar.image_reference(image) is None


@pytest.mark.parametrize(("image", "reason"), IMAGE_INVALID, ids=[repr(i)[:40] for i, _ in IMAGE_INVALID])
def test_invalid_or_unpinned_image_references_get_their_reason(image, reason):
    assert grammar.image_reference(image) == reason


@pytest.mark.parametrize(
    ("image", "parts"),
    [
        ("nginx:1", ("nginx", "1", None)),
        ("localhost:5000/app", ("localhost:5000/app", None, None)),
        ("localhost:5000/app:2", ("localhost:5000/app", "2", None)),
        ("nginx@" + SHA256, ("nginx", None, SHA256)),
        ("nginx:1@" + SHA256, ("nginx", "1", SHA256)),
    ],
)
def test_an_image_splits_into_name_tag_and_digest(image, parts):
    assert grammar.split_image(image) == parts


PATH_CHARS = (
    'must hold only letters, digits, "-._~!$&\'()*+,;=:@/" and valid %XX escapes '
    "(no spaces, control or invisible characters)"
)
PATH_VALID = [
    "/",
    "/healthz",
    "/api/v1/health",
    "/a-b_c.d~e",
    "/%20x",
    "/a%2Bb",
    "/x:y@z",
    "/trailing/",
    "/.well-known/x",
]
PATH_INVALID = [
    ("", "must be an absolute HTTP path starting with '/'"),
    ("healthz", "must be an absolute HTTP path starting with '/'"),
    ("http://evil/", "must be an absolute HTTP path starting with '/'"),
    ("/{color}", "must be a literal path: placeholders such as {color} are filled only in args"),
    ("/}", "must be a literal path: placeholders such as {color} are filled only in args"),
    ("/h?full=1", "must be a plain path, without a query ('?') or fragment ('#')"),
    ("/h#x", "must be a plain path, without a query ('?') or fragment ('#')"),
    (
        "/a b",
        PATH_CHARS,
    ),
    (
        "/a\tb",
        PATH_CHARS,
    ),
    (
        "/a\u200b",
        PATH_CHARS,
    ),
    (
        "/caf\u00e9",
        PATH_CHARS,
    ),
    (
        "/a\\b",
        PATH_CHARS,
    ),
    (
        "/%zz",
        PATH_CHARS,
    ),
    (
        "/%4",
        PATH_CHARS,
    ),
    ("//x", "must not contain an empty segment ('//')"),
    ("/a//b", "must not contain an empty segment ('//')"),
    ("/a%2fb", "must not contain an escaped '/' or '\\' (%2F, %5C)"),
    ("/a%5Cb", "must not contain an escaped '/' or '\\' (%2F, %5C)"),
    ("/..", "must not contain a '.' or '..' segment, escaped or not"),
    ("/.", "must not contain a '.' or '..' segment, escaped or not"),
    ("/a/../../api/v1/secrets", "must not contain a '.' or '..' segment, escaped or not"),
    ("/a/./b", "must not contain a '.' or '..' segment, escaped or not"),
    ("/%2e%2e/x", "must not contain a '.' or '..' segment, escaped or not"),
    ("/%2E./x", "must not contain a '.' or '..' segment, escaped or not"),
    ("/" + "a" * 1024, "must be at most 1024 characters"),
]


@pytest.mark.parametrize("path", PATH_VALID)
def test_plain_absolute_paths_are_valid(path):
    assert grammar.http_path(path) is None


@pytest.mark.parametrize(("path", "reason"), PATH_INVALID, ids=[repr(p)[:30] for p, _ in PATH_INVALID])
def test_paths_that_could_leave_their_place_are_refused(path, reason):
    assert grammar.http_path(path) == reason


ENV_NAME_REASON = (
    "must be an environment variable name: letters, digits, '_', '-' and '.', not starting with a digit "
    "(the rule of Kubernetes 1.30), never empty and without '='"
)


@pytest.mark.parametrize("name", ["A", "LOG_LEVEL", "_x", "a.b", "-dash", ".dot", "x1", "camelCase"])
def test_env_names_of_kubernetes_1_30_are_valid(name):
    assert grammar.env_name(name) is None


@pytest.mark.parametrize("name", ["", "1X", "A=B", "A B", "Ä", "A\n", "a$", "a/b", "a:b"])
def test_other_env_names_are_refused(name):
    assert grammar.env_name(name) == ENV_NAME_REASON


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("1.1", True),
        ("v" * 63, True),
        ("a_b-c.d", True),
        ("", False),
        ("-1", False),
        ("1-", False),
        ("v" * 64, False),
        ("1 2", False),
        ("\u00e9", False),
    ],
)
def test_label_values(text, valid):
    assert (grammar.label_value(text) is None) is valid


@pytest.mark.parametrize(
    ("text", "dns1123", "dns1035"),
    [
        ("backend", True, True),
        ("1app", True, False),
        ("a-b", True, True),
        ("a" * 63, True, True),
        ("a" * 64, False, False),
        ("-a", False, False),
        ("a-", False, False),
        ("A", False, False),
        ("a_b", False, False),
        ("", False, False),
        ("a.b", False, False),
    ],
)
def test_dns_labels(text, dns1123, dns1035):
    assert (grammar.dns1123_label(text) is None, grammar.dns1035_label(text) is None) == (dns1123, dns1035)


PLACEHOLDER_PASSTHROUGH = ['{"status":"ok"}', "{", "}", "{}", "{{x}}", "{ color }", "{1x}", "a{b", "{-x}", "{{color}}x"]


@pytest.mark.parametrize("text", PLACEHOLDER_PASSTHROUGH)
def test_text_that_is_not_a_placeholder_passes_through_byte_for_byte(text):
    assert grammar.unknown_placeholders(text) == []
    assert grammar.fill_placeholders(
        text.replace("{{color}}", "{{x}}"), {"color": "c", "version": "v", "port": "p"}
    ) == (text.replace("{{color}}", "{{x}}"))


@pytest.mark.parametrize(
    ("text", "unknown"),
    [("{colour}", ["colour"]), ("-text={name} {version}", ["name"]), ("{Color}", ["Color"]), ("{a}{b}", ["a", "b"])],
)
def test_identifier_placeholders_other_than_the_three_are_named(text, unknown):
    assert grammar.unknown_placeholders(text) == unknown


def test_the_three_placeholders_are_filled_literally_and_nothing_else():
    values = {"color": "blue", "version": "1.1", "port": "5678"}
    text = '-text={"v":"{version}"} {color} {port} {0} {version!r} %s'
    assert grammar.fill_placeholders(text, values) == '-text={"v":"1.1"} blue 5678 {0} {version!r} %s'


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("10.0.0.0/24", ("10.0.0.0/24", None)),
        ("172.18.0.0/16", ("172.18.0.0/16", None)),
        ("10.0.0.5/32", ("10.0.0.5/32", None)),
        ("fd00::/64", ("fd00::/64", None)),
        ("10.0.0.1/24", ("10.0.0.0/24", "must be written in its canonical form 10.0.0.0/24 (no host bits set)")),
        ("FD00::/64", ("fd00::/64", "must be written in its canonical form fd00::/64 (no host bits set)")),
        ("0.0.0.0/0", (None, "must not admit every address: name the network the API server connects from")),
        ("::/0", (None, "must not admit every address: name the network the API server connects from")),
        ("1.2.3.4/0", (None, "must not admit every address: name the network the API server connects from")),
        ("10.0.0.0/33", (None, "must be a CIDR such as 10.0.0.0/24 or fd00::/64")),
        ("nope", (None, "must be a CIDR such as 10.0.0.0/24 or fd00::/64")),
    ],
)
def test_cidrs_are_canonical_and_never_everything(text, result):
    assert grammar.cidr(text) == result


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("ok", None),
        ("tab\tand\nnewline", None),
        ("bell\a", "U+0007"),
        ("zw\u200d", "U+200D"),
        ("bidi\u202e", "U+202E"),
        ("line\u2028", "U+2028"),
    ],
)
def test_free_text_refuses_control_and_invisible_characters_only(text, found):
    expected = None if found is None else f"must not contain control or invisible characters (found {found})"
    assert grammar.free_text(text) == expected
