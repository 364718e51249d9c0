"""The shapes values come in by, as pydantic models generated from the key table.

Each model is one layer of keys: the stack's top level, one entry of `apps`, the frontend object, or
BlueGreenApp's arguments. Every field is optional here (whether a key is required, and the rules
between keys, are decided per app in components of the model, once each layer is valid on its own);
pydantic runs each value through its key's validator (config/values.py), refuses unknown keys, walks
lists and objects, and hands back every error with its location, which `check` words as problems.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, Final

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, create_model
from pydantic_core import PydanticCustomError

from bluegreen.config import grammar, keys
from bluegreen.config.keys import BY_NAME, FRONTEND_KEYS, Key
from bluegreen.config.problems import EXAMPLES, REMOVE, Reporter, member
from bluegreen.config.values import Bad, typed

DID_YOU_MEAN_RATIO: Final = 0.8
"""How alike (difflib's ratio, ignoring case) an unknown key must be to a known one to be suggested."""
_ERROR: Final = "bluegreen"
"""The pydantic error type of every rule of this package; the rule itself travels in the context."""


def _raise(bad: Bad) -> PydanticCustomError:
    context = {"allowed": bad.allowed, "rule": bad.rule, "example": bad.example, "at": bad.at, "shown": bad.shown}
    return PydanticCustomError(_ERROR, "{allowed}", context)


def _checked(check: Callable[[Any], Any]) -> BeforeValidator:
    def validate(value: Any) -> Any:
        try:
            return check(value)
        except Bad as bad:
            raise _raise(bad) from None

    return BeforeValidator(validate)


def _key(spec: Key) -> BeforeValidator:
    return _checked(lambda value: typed(spec, value))


def _arg(item: Any) -> str:
    text = typed(Key("args[]", "string", ""), item)
    if (why := grammar.free_text(text)) is not None:
        raise Bad("free-text", why, "-text={version}")
    if unknown := grammar.unknown_placeholders(text):
        meant = difflib.get_close_matches(unknown[0], grammar.PLACEHOLDERS, n=1)
        fixed = text.replace("{" + unknown[0] + "}", "{" + meant[0] + "}" if meant else unknown[0])
        raise Bad(
            "placeholder",
            f"has the placeholder {{{unknown[0]}}}, but only {{color}}, {{version}} and {{port}} are filled "
            "(other text, braces included, is kept as it is)",
            fixed,
        )
    return str(text)


def _env_entries(value: Any) -> Any:
    """An env object as (name, value) pairs, so each entry is checked with its name at hand."""
    found = typed(BY_NAME["env"], value)
    return list(found.items()) if isinstance(found, dict) else found


def _env_entry(entry: tuple[str, Any]) -> tuple[str, str]:
    name, item = entry
    at = member(name)
    if (why := grammar.env_name(name)) is not None:
        raise Bad("env-name", f"has the name {name!r}, which {why}", REMOVE, at=at, shown=(item,))
    try:
        text = typed(Key("env[]", "string", ""), item)
    except Bad as bad:
        raise Bad(bad.rule, bad.allowed, bad.example, at=at, shown=(item,)) from None
    if (why := grammar.free_text(text)) is not None:
        raise Bad("free-text", why, "<value>", at=at, shown=(item,))
    return name, str(text)


def _cidr(item: Any) -> str:
    text = typed(Key("apiServerCidrs[]", "string", ""), item)
    canonical, why = grammar.cidr(text)
    if why is not None or canonical is None:
        raise Bad("cidr", why or "", canonical or EXAMPLES["apiServerCidrs"][1])
    return canonical


def _writable_path(item: Any) -> str:
    text = typed(Key("writablePaths[]", "string", ""), item)
    if (why := grammar.writable_path(text)) is not None:
        raise Bad("writable-path", why, "/var/cache")
    return str(text)


def _list(spec: Key, item: Callable[[Any], Any]) -> Any:
    return Annotated[list[Annotated[Any, _checked(item)]] | None, _key(spec)]


def _field(spec: Key) -> Any:
    if spec.name == "args":
        return _list(spec, _arg)
    if spec.name == "env":
        return Annotated[list[Annotated[Any, _checked(_env_entry)]] | None, _checked(_env_entries)]
    if spec.name == "apiServerCidrs":
        return _list(spec, _cidr)
    if spec.name == "writablePaths":
        return _list(spec, _writable_path)
    if spec.name == "clients":
        return _list(spec, lambda item: typed(Key("clients[]", "string", "", grammar=grammar.label_value), item))
    if spec.name == "idleReplicas":
        return Any  # its bound is the idle color's size: checked per app
    return Annotated[Any, _key(spec)]


def _model(name: str, specs: Iterable[Key]) -> type[BaseModel]:
    fields: dict[str, Any] = {spec.name: (_field(spec), None) for spec in specs}
    return create_model(name, __config__=ConfigDict(extra="forbid", frozen=True), **fields)


_APP_SPECS: Final = tuple(spec for spec in keys.KEYS if spec.per_app)
_STACK_FIRST: Final = ("namespace", "createNamespace", "preSwitchGate", "appName", "apps")
StackLayer: Final = _model(
    "StackLayer",
    sorted(
        keys.KEYS, key=lambda spec: _STACK_FIRST.index(spec.name) if spec.name in _STACK_FIRST else len(_STACK_FIRST)
    ),
)
"""The stack's top level: every key; `apps` and `frontend` only as JSON here, their insides below."""
AppEntry: Final = _model("AppEntry", (keys.APP_ENTRY_NAME, *_APP_SPECS))
FrontendLayer: Final = _model("FrontendLayer", FRONTEND_KEYS.values())
ArgumentLayer: Final = _model(
    "ArgumentLayer",
    (
        BY_NAME["namespace"],
        BY_NAME["appName"],
        *_APP_SPECS,
        BY_NAME["preSwitchGate"],
        keys.CLIENTS_ARGUMENT,
        BY_NAME["apiServerCidrs"],
    ),
)
ARGUMENT_NAMES: Final = tuple(ArgumentLayer.model_fields)
"""Every argument of BlueGreenApp, by its schema (camel-case) name."""


def did_you_mean(name: str, known: Iterable[str]) -> str | None:
    """The known key `name` is most likely a typo of (`activecolour` -> `activeColor`), if one is close."""
    lowered = {key.lower(): key for key in known}
    found = difflib.get_close_matches(name.lower(), lowered, n=1, cutoff=DID_YOU_MEAN_RATIO)
    return lowered[found[0]] if found else None


def _path(loc: tuple[int | str, ...], at: str | None) -> str:
    steps = [f"[{step}]" if isinstance(step, int) else f".{step}" for step in loc]
    if at is not None:
        steps[-1] = at
    return "".join(steps).removeprefix(".")


def check(
    model: type[BaseModel],
    values: Mapping[str, Any],
    reporter: Reporter,
    *,
    prefix: str = "",
    app: str = "",
    here: bool = True,
) -> tuple[dict[str, Any], set[str]]:
    """`values` validated as `model`: the valid values by key, and the keys that had a problem (reported).

    `prefix` is where the layer sits (`apps[0].`, `frontend.`); `app` names the app in each problem;
    `here`: an unknown key is named as unknown in this object rather than in the stack.
    """
    try:
        valid = model.model_validate(values)
    except ValidationError as error:
        failed = _report(model, error, reporter, prefix, app, here)
        valid = model.model_validate({k: v for k, v in values.items() if k not in failed})
        return {k: getattr(valid, k) for k in valid.model_fields_set}, failed
    return {k: getattr(valid, k) for k in valid.model_fields_set}, set()


def _report(
    model: type[BaseModel], error: ValidationError, reporter: Reporter, prefix: str, app: str, here: bool
) -> set[str]:
    failed: set[str] = set()
    known = ", ".join(sorted(model.model_fields))
    for detail in error.errors(include_url=False):
        loc = detail["loc"]
        failed.add(str(loc[0]))
        path = prefix + _path(loc, (detail.get("ctx") or {}).get("at"))
        if detail["type"] == "extra_forbidden":
            where = " here" if here else ""
            meant = did_you_mean(str(loc[-1]), model.model_fields)
            if meant is None:
                allowed = f"is not a known key{where}; known keys: {known}"
                reporter.bad(path, detail["input"], allowed, fix=REMOVE, app=app, rule="unknown-key")
            else:
                allowed = f"is not a known key{where}: did you mean {meant}? Known keys: {known}"
                fix = reporter.rename_fix(path, prefix + meant)
                reporter.bad(path, detail["input"], allowed, fix=fix, app=app, rule="unknown-key")
            continue
        context = detail.get("ctx") or {}
        value = detail["input"] if context.get("shown") is None else context["shown"][0]
        example = context.get("example", "")
        fix = REMOVE if example == REMOVE else ""
        reporter.bad(path, value, context["allowed"], example, fix=fix, app=app, rule=context["rule"])
    return failed
