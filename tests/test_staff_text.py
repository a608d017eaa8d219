"""Every staff text the services write has its words in the agent's language (issue 17).

The texts are found in the services' source, not listed by hand: string constants and f-string
templates passed as `staff=` or as audit.record's reason, followed through the variables, parameters
and helper functions that carry them (an f-string becomes a sample: plausible values in its holes).
A new staff text without a pattern in bene_tui/ui/staff_text.py fails here.
"""

from __future__ import annotations

import ast
import itertools
import re

import pytest

from pathlib import Path

import bene_tui
from bene_tui.core.i18n import catalogue, placeholders
from bene_tui.ui import staff_text

SRC = Path(bene_tui.__file__).parent  # the whole package, whichever folder a module sits in

# A plausible value for each kind of placeholder, guessed from the expression's source.
_SAMPLES = [
    (re.compile(r"stamp|fmt_time|_at\b|until"), "2026-12-01 10:00"),
    (re.compile(r"join"), "kiosk, web"),
    (re.compile(r"!r|\bref\b"), "'bogus'"),
    (re.compile(r"\bexc\b"), "database is locked"),
    (re.compile(r"acct\[0\]"), "active"),
    (re.compile(r"status|state|kind|kinds|states|\bcode\b|service|\bkey\b|\bname\b|expected|__name__|purpose"), "provisional"),
]


def _sample(src: str) -> str:
    for pattern, value in _SAMPLES:
        if pattern.search(src):
            return value
    return "3"  # counts, ids, limits


def _parents(tree):
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            child._parent = node


def _function_of(node):
    while node is not None and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        node = getattr(node, "_parent", None)
    return node


class Module:
    def __init__(self, path):
        self.text = path.read_text()
        self.tree = ast.parse(self.text)
        _parents(self.tree)
        self.functions = {f.name: f for f in ast.walk(self.tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))}

    def texts(self, node, depth=0) -> set[str]:
        """The texts an expression may evaluate to (staff or reason)."""
        if depth > 6 or node is None:
            return set()
        if isinstance(node, ast.Constant):
            return {node.value} if isinstance(node.value, str) else set()
        if isinstance(node, ast.JoinedStr):
            parts = []
            for v in node.values:
                if isinstance(v, ast.Constant):
                    parts.append({v.value})
                else:
                    inner = self._assigned(self.tree.body, v.value.id, depth) if isinstance(v.value, ast.Name) else set()
                    inner |= {"resend within the minimum interval"} if isinstance(v.value, ast.Attribute) and v.value.attr == "staff" else set()
                    src = ast.get_source_segment(self.text, v.value) + ("!r" if v.conversion == 114 else "")
                    parts.append(inner or {_sample(src)})
            return {"".join(p) for p in itertools.product(*parts)}
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return {a + b for a in self.texts(node.left, depth + 1) for b in self.texts(node.right, depth + 1)}
        if isinstance(node, ast.IfExp):
            return self.texts(node.body, depth + 1) | self.texts(node.orelse, depth + 1)
        if isinstance(node, ast.Name):
            return self._name(node, depth)
        called = node.func.id if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) else (
            node.func.attr if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) else None)
        if called in self.functions:  # a function of this module (or a method): what it returns
            fn = self.functions[called]
            return set().union(*(self.texts(r.value, depth + 1) for r in ast.walk(fn) if isinstance(r, ast.Return)))
        return set()  # error.staff or error.key: a text found where the error is made

    def _name(self, node, depth):
        fn = _function_of(node)
        found = self._assigned(ast.walk(fn), node.id, depth) if fn is not None else set()
        if not found:  # a module constant
            found = self._assigned(self.tree.body, node.id, depth)
        params = [a.arg for a in fn.args.args if a.arg != "self"] if fn is not None else []
        if node.id in params:  # a parameter: what the callers pass
            for args, keywords in self._calls_of(fn.name):
                arg = next((k.value for k in keywords if k.arg == node.id), None)
                if arg is None and params.index(node.id) < len(args):
                    arg = args[params.index(node.id)]
                found |= self.texts(arg, depth + 1)
        return found

    def _calls_of(self, name):
        """The (args, keywords) of each call of this module's function or method `name`, run directly
        or through a runner (`asyncio.to_thread(self.name, ...)`)."""
        def names(node):
            return isinstance(node, ast.Name) and node.id == name or isinstance(node, ast.Attribute) and node.attr == name
        for call in ast.walk(self.tree):
            if isinstance(call, ast.Call):
                if names(call.func):
                    yield call.args, call.keywords
                elif call.args and names(call.args[0]):
                    yield call.args[1:], call.keywords

    def _assigned(self, statements, name, depth):
        """What `name` is set to among these statements (a `+=` adds to each)."""
        found, added = set(), set()
        for n in statements:
            if isinstance(n, ast.Assign):
                for target in n.targets:
                    if isinstance(target, ast.Name) and target.id == name:
                        found |= self.texts(n.value, depth + 1)
                    elif isinstance(target, ast.Tuple) and isinstance(n.value, ast.Tuple):
                        for t, v in zip(target.elts, n.value.elts):
                            if isinstance(t, ast.Name) and t.id == name:
                                found |= self.texts(v, depth + 1)
            elif isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name) and n.target.id == name:
                added |= self.texts(n.value, depth + 1)
        return found | {a + b for a in found for b in added}

    def staff_arguments(self):
        for call in ast.walk(self.tree):
            if not isinstance(call, ast.Call):
                continue
            for k in call.keywords:
                if k.arg == "staff":
                    yield call, k.value
            f = call.func
            if isinstance(f, ast.Attribute) and f.attr == "record" and isinstance(f.value, ast.Name) and f.value.id == "audit":
                arg = next((k.value for k in call.keywords if k.arg == "reason"), None)
                yield call, arg if arg is not None else (call.args[4] if len(call.args) > 4 else None)


def staff_texts() -> dict[str, str]:
    """{sample text: where it is written}."""
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        module = Module(path)
        for call, arg in module.staff_arguments():
            if arg is None:
                continue
            texts = module.texts(arg)
            for text in texts:
                out.setdefault(text, f"{path.name}:{call.lineno}")
    return out



SAMPLES = staff_texts()


def test_the_finder_finds_the_staff_texts_where_they_are_made():
    # Through variables (auth's reason), parameters (family._link_error), helpers (_no_live_code),
    # a runner (serve's to_thread) and a module constant (auth.WRONG_PASSWORD).
    for text in ("wrong password (3 consecutive); locked until 2026-12-01 10:00", "unknown auth key 1",
                 "token replaced by a newer link", "the code was voided after 3 wrong entries", "wrong token",
                 "no code sent: resend within the minimum interval", "3 wrong birth dates: locked"):
        assert text in SAMPLES
    assert len(SAMPLES) > 100


@pytest.mark.parametrize("text", sorted(SAMPLES))
def test_every_staff_text_has_words_in_both_languages(text):
    unmatched = [part for part in staff_text.parts(text) if staff_text.match(part) is None]
    assert unmatched == [], f"no pattern in bene_tui/ui/staff_text.py for {unmatched} ({SAMPLES[text]})"
    for lang in ("ja", "en"):
        said = staff_text.say(lang, text)
        assert said and "{" not in said


def test_every_pattern_has_its_catalogue_text_and_placeholders():
    for pattern, key in staff_text.patterns():
        for lang in ("ja", "en"):
            assert key in catalogue(lang), key
            assert placeholders(catalogue(lang)[key]) <= set(pattern.groupindex), key


def test_a_wrong_password_in_the_agents_words():
    text = "wrong password (5 consecutive); locked until 2026-04-01 09:01:00 JST"
    assert staff_text.say("ja", text) == "パスワードの誤りです(連続5回目)。2026-04-01 09:01:00までロックしました"
    assert staff_text.say("en", text) == "Wrong password (5 in a row); locked until 2026-04-01 09:01:00"
    assert staff_text.say("ja", "wrong code, 2 attempts left") == "認証コードの誤りです。あと2回入力できます"


def test_words_inside_a_reason_are_said_too():
    assert staff_text.say("ja", "no code sent: too many notices this hour") == \
        "認証コードは送っていません(1時間あたりのお知らせの送信上限に達しています)"
    assert staff_text.say("ja", "invitation is expired") == "招待は「期限切れ」です"
    assert staff_text.say("ja", "hd.error.not_locked") == catalogue("ja")["hd.error.not_locked"]  # a key as reason
    assert staff_text.say("ja", "something new") == "something new"  # shown as it is, never lost


def _calls(names: tuple[str, ...]):
    for path in sorted(SRC.rglob("*.py")):
        for call in ast.walk(ast.parse(path.read_text())):
            if isinstance(call, ast.Call):
                f = call.func
                if (f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)) in names:
                    yield call


def _constant(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def test_every_audit_action_detail_and_flow_state_has_its_words_in_the_timeline():
    """The timeline words each audit action, each detail fact and each flow's kind and state from the
    catalogue: a new one written by a service without its words fails here."""
    from bene_tui.ui.screens.helpdesk import _SAID_ELSEWHERE

    actions, details, states = set(), set(), set()
    for call in _calls(("record", "_refuse", "_refused")):
        if len(call.args) > 1 and _constant(call.args[1]):
            actions.add(_constant(call.args[1]))
        details |= {k.arg for k in call.keywords if k.arg and k.arg != "reason"}
    for path in sorted(SRC.rglob("*.py")):  # actions passed on: as the `action` parameter, or its default
        tree = ast.parse(path.read_text())
        takes = {f.name: [a.arg for a in f.args.args] for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)}
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "action" and "." in (_constant(node.value) or ""):
                actions.add(node.value.value)
            if isinstance(node, ast.FunctionDef):
                params = node.args.args[len(node.args.args) - len(node.args.defaults):]
                actions |= {d.value for p, d in zip(params, node.args.defaults) if p.arg == "action" and _constant(d)}
            if isinstance(node, ast.Call) and "action" in takes.get(getattr(node.func, "id", None), []):
                at = takes[node.func.id].index("action")
                if at < len(node.args) and _constant(node.args[at]):
                    actions.add(node.args[at].value)
    for call in _calls(("create", "update")):
        states |= {_constant(k.value) for k in call.keywords if k.arg == "state" and _constant(k.value)}
        if len(call.args) > 2 and _constant(call.args[2]):
            states.add(_constant(call.args[2]))
    assert {"auth.login", "code.sent", "helpdesk.unlock", "registration.step1", "family.invitation_view"} <= actions
    assert {"provisional", "completed", "code_sent"} <= states
    for lang in ("ja", "en"):
        words = catalogue(lang)
        assert sorted(a for a in actions if "hd.audit_action." + a.replace(".", "_") not in words) == []
        assert sorted(d for d in details - set(_SAID_ELSEWHERE) if f"hd.detail.{d}" not in words) == []
        assert sorted(s for s in states if f"staff.state.{s}" not in words) == []
        assert {"enrol", "password_reset"} <= {k.split(".")[-1] for k in words if k.startswith("staff.kind.")}
