#!/usr/bin/env python3
"""Validate FHIR R4 Bundles (JSON files) independently of the Rust code that writes them.

    python validate.py FILE...

Uses the `fhir.resources` models pinned in requirements.txt: version 6.1.0, whose default
package `fhir.resources` holds the real FHIR R4 (4.0.1) models -- later releases ship only R4B
(4.3.0) and R5. Run it with the Python of the venv that `scripts/python-venv fhir` sets up.

Each file must hold one Bundle. The Bundle is parsed with the R4 `Bundle` model and every
entry's resource again with its own model class (`Observation`, `CarePlan`, ...), which checks
element names (unknown ones are refused), cardinalities, required elements, choice types and
primitive formats. The models are lenient in a few places a FHIR validator is not, so these
are checked too:
  - no coercion: the file must equal what the model reads from it, written back out (a string
    where an integer belongs, 3.5 as an integer, a dateTime without seconds all fail);
  - codes bound to a required value set hold one of its codes (e.g. Observation.status);
  - entry fullUrls are unique (bdl-7), a `urn:uuid:` fullUrl names its resource's id, and every
    `urn:uuid:` reference resolves to an entry of the Bundle.

Stops at the first failure with a readable message and exit status 1 (2 for bad usage).
Prints `fhir: N passed, 0 failed` when every file passed.
"""

import json
import re
import sys
from datetime import datetime
from decimal import Decimal

try:
    import fhir.resources
    from fhir.resources import get_fhir_model_class
    from fhir.resources.fhirabstractmodel import FHIRAbstractModel
except ImportError as e:  # pragma: no cover - depends on the environment
    sys.exit(f"fhir: cannot import fhir.resources ({e}); run scripts/python-venv fhir for a venv")

# Required bindings whose code lists fhir.resources truncates (it marks them with "+").
FULL_VALUE_SETS = {
    ("Observation", "status"): {
        "registered", "preliminary", "final", "amended", "corrected", "cancelled",
        "entered-in-error", "unknown",
    },
}


# FHIR R4's dateTime (and, with seconds and zone, instant): the models accept more, e.g. a time
# without seconds, and write a UTC "Z" as "+00:00".
DATE_TIME = re.compile(
    r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]"
    r"|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3])"
    r":[0-5][0-9]|14:00)))?)?)?"
)


def same_time(written, read):
    """Both strings name the same moment, and `written` is in FHIR's own format."""
    if not (isinstance(written, str) and isinstance(read, str) and DATE_TIME.fullmatch(written)):
        return False
    try:
        return datetime.fromisoformat(written.replace("Z", "+00:00")) == datetime.fromisoformat(
            read.replace("Z", "+00:00")
        )
    except ValueError:
        return False


class Invalid(Exception):
    """The file is not a valid FHIR R4 Bundle."""


def where(loc):
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def parse(model_class, data, loc):
    try:
        return model_class.parse_obj(data)
    except Exception as e:  # pydantic.ValidationError, or a model's own ValueError
        raise Invalid(f"{where(loc) or 'Bundle'}: not a valid R4 {model_class.__name__}:\n{e}")


def same(written, read, loc):
    """`read` is `written` back from the model; differences mean the model coerced a value."""
    if isinstance(written, dict) and isinstance(read, dict):
        for key in written.keys() | read.keys():
            if key not in read:
                raise Invalid(f"{where(loc + [key])}: dropped by the model (empty or misplaced)")
            if key not in written:
                raise Invalid(f"{where(loc + [key])}: added by the model")
            same(written[key], read[key], loc + [key])
    elif isinstance(written, list) and isinstance(read, list):
        if len(written) != len(read):
            raise Invalid(f"{where(loc)}: {len(written)} items written, {len(read)} read")
        for i, (w, r) in enumerate(zip(written, read)):
            same(w, r, loc + [i])
    elif isinstance(written, bool) or isinstance(read, bool):
        if written is not read:
            raise Invalid(f"{where(loc)}: {written!r} is not a boolean")
    elif isinstance(written, (int, float, Decimal)) and isinstance(read, (int, float, Decimal)):
        if isinstance(written, float) and not isinstance(read, (float, Decimal)):
            raise Invalid(f"{where(loc)}: {written!r} where an integer belongs")
        if Decimal(str(written)) != Decimal(str(read)):
            raise Invalid(f"{where(loc)}: {written!r} was read as {read!r}")
    elif (type(written) is not type(read) or written != read) and not same_time(written, read):
        raise Invalid(
            f"{where(loc)}: {written!r} is not a valid value here (the model reads {read!r})"
        )


def check_codes(model, loc):
    """Codes of required bindings, over the whole model tree."""
    if isinstance(model, list):
        for i, item in enumerate(model):
            check_codes(item, loc + [i])
        return
    if not isinstance(model, FHIRAbstractModel):
        return
    for name, field in model.__fields__.items():
        value = getattr(model, name, None)
        if value is None:
            continue
        allowed = field.field_info.extra.get("enum_values")
        if allowed and isinstance(value, str):
            allowed = FULL_VALUE_SETS.get((model.resource_type, field.alias), allowed)
            if "+" not in allowed and value not in allowed:
                raise Invalid(
                    f"{where(loc + [field.alias])}: {value!r} is not one of "
                    f"{', '.join(sorted(allowed))}"
                )
        check_codes(value, loc + [field.alias])


def references(node, loc):
    """Every `reference` string in a resource, with its location."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value, loc + [key]
            else:
                yield from references(value, loc + [key])
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from references(item, loc + [i])


def validate(data):
    """Raises Invalid on the first problem; returns the resource types' counts."""
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        kind = data.get("resourceType") if isinstance(data, dict) else type(data).__name__
        raise Invalid(f"expected a Bundle, found {kind!r}")
    bundle_class = get_fhir_model_class("Bundle")
    bundle = parse(bundle_class, data, [])
    same(data, json.loads(bundle.json()), [])
    check_codes(bundle, [])

    entries = data.get("entry", [])
    full_urls = set()
    counts = {}
    for i, entry in enumerate(entries):
        loc = ["entry", i]
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            raise Invalid(f"{where(loc)}: no resource")
        kind = resource.get("resourceType")
        try:
            model_class = get_fhir_model_class(kind)
        except Exception:
            raise Invalid(f"{where(loc + ['resource'])}: unknown resourceType {kind!r}")
        model = parse(model_class, resource, loc + ["resource"])
        same(resource, json.loads(model.json()), loc + ["resource"])
        check_codes(model, loc + ["resource"])
        counts[kind] = counts.get(kind, 0) + 1

        full_url = entry.get("fullUrl")
        if full_url is not None:
            if full_url in full_urls:
                raise Invalid(f"{where(loc)}.fullUrl: {full_url} appears twice (bdl-7)")
            full_urls.add(full_url)
            if full_url.startswith("urn:uuid:") and resource.get("id") not in (
                None,
                full_url[len("urn:uuid:"):],
            ):
                raise Invalid(
                    f"{where(loc)}: fullUrl {full_url} does not name resource id "
                    f"{resource.get('id')!r}"
                )

    for i, entry in enumerate(entries):
        for ref, loc in references(entry["resource"], ["entry", i, "resource"]):
            if ref.startswith("urn:uuid:") and ref not in full_urls:
                raise Invalid(f"{where(loc)}: {ref} resolves to no entry of the Bundle")
    return counts


def load(path):
    def no_constant(name):
        raise ValueError(f"{name} is not JSON")

    with open(path, encoding="utf-8") as f:
        return json.load(f, parse_constant=no_constant)


def main(paths):
    if not paths:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    print(f"fhir: fhir.resources {fhir.resources.__version__}, FHIR "
          f"{fhir.resources.__fhir_version__} models")
    passed = 0
    for path in paths:
        try:
            counts = validate(load(path))
        except (Invalid, OSError, ValueError) as e:
            print(f"FAIL {path}: {e}")
            print(f"fhir: {passed} passed, 1 failed")
            return 1
        summary = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
        print(f"ok   {path}: Bundle of {sum(counts.values())} ({summary})")
        passed += 1
    print(f"fhir: {passed} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
