"""Every action code the code base writes to the audit trail has a plain-language label.

The codes are found by reading the source, not by listing them again here: a new
``AuditRecord("...")`` (or a helper call that passes an action on) without a label fails this test.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from telehealth.audit.labels import ACTION_LABELS, action_label, actor_label, outcome_label
from telehealth.scheduling.lifecycle import Action

SOURCE = Path(__file__).resolve().parents[3] / "telehealth"
CODE = re.compile(r"^[a-z_]+(\.[a-z_]+)*$")
# The action parameter of the functions that hand an action on to AuditRecord.
ACTION_PARAMETERS = ("action", "audit_action")


def _visit_events() -> list[str]:
    """The room events the visit lifecycle records as visit.<event>."""
    tree = ast.parse((SOURCE / "visits" / "signaling_setup.py").read_text())
    return [
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "_record"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ]


# The f-string action codes of the code base and the values their one placeholder takes.
TEMPLATES: dict[str, list[str]] = {
    "appointment.{}": [a.value for a in Action],
    "visit.{}": _visit_events(),
    # A guest's room events (never "end": only a host ends a visit).
    "visit.guest_{}": [e for e in _visit_events() if e != "end"],
}


def _name_of(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _action_positions(tree: ast.Module) -> dict[str, int]:
    """Function name -> position of its action argument (self and cls not counted)."""
    positions: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names = [a.arg for a in node.args.args if a.arg not in ("self", "cls")]
            for wanted in ACTION_PARAMETERS:
                if wanted in names:
                    positions[node.name] = names.index(wanted)
    return positions


def _codes_of(expr: ast.expr, assigned: dict[str, list[ast.expr]], where: str) -> Iterator[str]:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        yield expr.value
    elif isinstance(expr, ast.IfExp):
        yield from _codes_of(expr.body, assigned, where)
        yield from _codes_of(expr.orelse, assigned, where)
    elif isinstance(expr, ast.JoinedStr):
        template = "".join(
            str(part.value) if isinstance(part, ast.Constant) else "{}" for part in expr.values
        )
        assert template in TEMPLATES, f"{where}: action template {template!r} is not known here"
        yield from (template.format(value) for value in TEMPLATES[template])
    elif isinstance(expr, ast.Name):
        for value in assigned.get(expr.id, []):
            yield from _codes_of(value, assigned, where)


def written_action_codes() -> dict[str, str]:
    """Every action code found in telehealth/, with where it was found."""
    trees = {path: ast.parse(path.read_text()) for path in sorted(SOURCE.rglob("*.py"))}
    # Public functions (and methods such as UnitOfWork.guarded) are called from other modules;
    # a private one only from its own.
    everywhere: dict[str, int] = {}
    for tree in trees.values():
        everywhere.update(
            {k: v for k, v in _action_positions(tree).items() if not k.startswith("_")}
        )
    found: dict[str, str] = {}
    for path, tree in trees.items():
        # A function defined in this module is the one its calls reach, action parameter or not.
        defined_here = {
            node.name
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        positions = {k: v for k, v in everywhere.items() if k not in defined_here}
        positions.update(_action_positions(tree))
        positions["AuditRecord"] = 0
        assigned: dict[str, list[ast.expr]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        assigned.setdefault(target.id, []).append(node.value)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _name_of(node.func)
            if name not in positions:
                continue
            where = f"{path.relative_to(SOURCE.parent)}:{node.lineno}"
            arguments = [k.value for k in node.keywords if k.arg in ACTION_PARAMETERS]
            if len(node.args) > positions[name]:
                arguments.append(node.args[positions[name]])
            for argument in arguments:
                for code in _codes_of(argument, assigned, where):
                    if CODE.match(code):
                        found.setdefault(code, where)
    return found


def test_the_scan_finds_the_codes_it_should() -> None:
    codes = written_action_codes()
    # One of each way a code is written: a literal, a helper's argument, a conditional, f-strings.
    for code in (
        "login.success",
        "note.sign",
        "account.deactivate",
        "appointment.cancel",
        "visit.admit",
    ):
        assert code in codes
    assert len(codes) > 50


def test_every_written_action_code_has_a_label() -> None:
    missing = {
        code: where for code, where in written_action_codes().items() if code not in ACTION_LABELS
    }
    assert not missing, f"action codes without a label in telehealth/audit/labels.py: {missing}"


def test_labels_are_plain_words() -> None:
    for code, label in ACTION_LABELS.items():
        assert label and label[0].isupper() and "." not in label and "_" not in label, code
    assert action_label("login.success") == "Signed in"
    assert action_label("something.new") == "something.new"  # an unknown code is shown as is


def test_outcomes_and_actors_in_words() -> None:
    assert outcome_label("success") == "Success"
    assert outcome_label("denied") == "Denied"
    assert outcome_label("failure") == "Failed"
    assert actor_label(None, has_request=True) == "Signed-out visitor"
    assert actor_label(None, has_request=False) == "System"
    assert actor_label("therapist", has_request=True) == "Therapist"
