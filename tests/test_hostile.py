"""Hostile input (issue 6): property-based tests over every normaliser and every service entry
point that takes typed input — arbitrary Unicode, control characters, terminal escapes, markup,
100,000-character strings, SQL. They raise nothing but the project's own BeneError (whose key
both catalogues can say), and a refused call writes nothing but its audit row and its counters.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from contextlib import redirect_stderr, redirect_stdout

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bene_tui.core.errors import BeneError, ValidationError
from bene_tui.core.i18n import catalogue
from bene_tui.services import identify, normalize, outbox, registration
from support.world import GOOD_PASSWORD

# 50 examples keep the suite quick on two cores; BENE_FUZZ_EXAMPLES=2000 for a deeper run.
FUZZ = settings(max_examples=int(os.environ.get("BENE_FUZZ_EXAMPLES", "50")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large, HealthCheck.filter_too_much])

# Hand-picked nasties, beside what hypothesis invents.
NASTY = [
    "", " ", "\u3000", "\x00", "\x07", "\x08\x08\x08", "\r\n", "\t", "\n" * 500,
    "\x1b[31mred\x1b[0m", "\x1b[2J\x1b[H", "\x1b]0;title\x07", "\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07",
    "\x9b31m", "\x1bP+q\x1b\\",
    "[b]太郎[/b]", "[link=https://evil.example]here[/link]", "[@click=app.quit]quit[/]", "[/]", "[", "]", "[red",
    "<script>alert(1)</script>", "{0}{name}{__class__}", "%s%s%n", "${jndi:ldap://x/a}",
    "'; DROP TABLE accounts; --", "1' OR '1'='1", '" OR ""="', "TS000001' --", "1001' OR 1=1 --", "%", "_", "\\",
    "\u202etxt.exe", "\u200b", "\ufeff", "\u2066x\u2069", "\ud800", "a\udfffb", "\U0010ffff", "\ufffe",
    "😀" * 7, "👨‍👩‍👧‍👦", "e\u0301" * 40, "ﷺ" * 30, "Ⅻ", "㍻", "ＴＳ０００００１", "１００１", "１９８５０４０１",
    "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ", "０９０−１２３４−５６７８", "+81 90 1234 5678", "090-1234-5678 ext 9", "ABC09012345678",
    "taro@example.jp", "TARO@EXAMPLE.JP", "taro@[127.0.0.1]", "a@b", "@", "a" * 65 + "@example.jp",
    "x" * 100_000, "１" * 100_000, "😀" * 100_000, "a@" + "b" * 100_000 + ".jp", "[b]" * 30_000,
    "\x1b[31m" * 20_000, "' OR 1=1 --" * 10_000,
]
LONG = st.builds(lambda piece, n: (piece * (100_000 // max(1, len(piece)) + 1))[:n],
                 st.text(min_size=1, max_size=8), st.integers(min_value=257, max_value=100_000))
SURROGATES = st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=4)
CONTROL = st.text(alphabet=st.characters(max_codepoint=0x9F), max_size=40)
MEDIUM = st.text(min_size=60, max_size=140)  # around the limits: 64, 72 (zxcvbn's), 100, 128
hostile = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=300),
    MEDIUM,
    CONTROL,
    LONG,
    st.builds(lambda a, s, b: a + s + b, st.text(max_size=10), SURROGATES, st.text(max_size=10)),
    st.builds(lambda a, b: a + b, st.sampled_from(NASTY[:60]), st.text(max_size=20)),
)
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")


def said_in_both_languages(error: BeneError) -> None:
    assert isinstance(error, BeneError)
    assert error.key in catalogue("ja") and error.key in catalogue("en"), error.key


# ---------------------------------------------------------------------------------------------
# Normalisers: only ValidationError; what they return is canonical, clean and stable.

NORMALISERS = {
    "clean": lambda v: normalize.clean(v, "f"),
    "clean_optional": lambda v: normalize.clean(v, "f", required=False),
    "clean_name": lambda v: normalize.clean_name(v, "name"),
    "clean_kana": lambda v: normalize.clean_kana(v, "kana"),
    "clean_date": lambda v: normalize.clean_date(v, "birth_date"),
    "email": lambda v: normalize.email(v),
    "mobile": lambda v: normalize.mobile(v),
    "login_id": lambda v: normalize.login_id(v).value,
    "login_id_email": lambda v: normalize.login_id(v, "email").value,
    "login_id_sms": lambda v: normalize.login_id(v, "sms").value,
}


@pytest.mark.parametrize("name", NORMALISERS)
@FUZZ
@given(value=hostile)
def test_normalisers_refuse_only_with_validation_errors(name, value):
    fn = NORMALISERS[name]
    try:
        out = fn(value)
    except ValidationError as e:
        said_in_both_languages(e)
        return
    assert isinstance(out, str)
    assert not CONTROL_RE.search(out), "a normalised value carries control characters"
    assert len(out) <= normalize.MAX_FIELD
    assert out == out.strip()
    assert fn(out) == out, "normalising twice changes the value"
    out.encode("utf-8")  # storable


@FUZZ
@given(value=hostile)
def test_mobile_numbers_are_japanese_e164_and_typed_only_with_phone_characters(value):
    try:
        out = normalize.mobile(value)
    except ValidationError:
        return
    assert re.fullmatch(r"\+81[789]0\d{8}", out)
    assert re.fullmatch(r"[0-9+() .\-\u2010-\u2015\u2212\u30fc\ufe63]+", normalize.clean(value, "f"))


@FUZZ
@given(value=hostile)
def test_display_helpers_never_raise_on_stored_values(value):
    """mask / display_login_id / compact / login_key work on whatever a row might hold."""
    for fn in (normalize.mask, normalize.display_login_id, normalize.compact, normalize.login_key):
        assert isinstance(fn(value), str)


def test_lone_surrogates_and_foreign_digits_are_refused():
    """Found by these tests: a lone surrogate passed clean() and then broke SQLite (UnicodeEncodeError);
    re's \\d took Arabic-Indic digits as a birth date; phonenumbers skipped letters around a number."""
    for value in ("\ud800", "TS\udc80001"):
        with pytest.raises(ValidationError) as e:
            normalize.clean(value, "group_id")
        assert e.value.key == "error.control_chars"
    with pytest.raises(ValidationError):
        normalize.clean_date("١٩٨٥٠٤٠١", "birth_date")
    assert normalize.clean_date("１９８５０４０１", "birth_date") == "1985-04-01"
    for value in ("ABC090-1234-5678", "090-1234-5678 ext 9", "tel:090-1234-5678"):
        with pytest.raises(ValidationError):
            normalize.mobile(value)
    assert normalize.mobile("０９０−１２３４−５６７８") == "+819012345678"
    assert normalize.mobile("090ー1234ー5678") == "+819012345678"


# ---------------------------------------------------------------------------------------------
# Service entry points: a refusal is a BeneError and leaves no half-written state.

LOG_TABLES = ("audit", "throttle", "daily_stats")  # a refusal may add its audit row (and its day's counts, services/report.py) and count a failure


def tables(ctx) -> list[str]:
    return [name for name in ctx.db.table_names() if not name.startswith("sqlite_")]


def state(ctx) -> dict[str, tuple[int, str]]:
    out = {}
    for table in tables(ctx):
        rows = ctx.db.execute(f'select * from "{table}"').fetchall()
        out[table] = (len(rows), hashlib.sha256(repr(rows).encode("utf-8", "backslashreplace")).hexdigest())
    return out


def call(ctx, fn, *args, counters: tuple[str, ...] = (), **kw):
    """Call a service; if it refuses, check the refusal. Returns ("ok", result) or ("refused", error).

    counters: tables whose rows a refusal may update in place (attempt counts) but not add or delete.
    """
    before = state(ctx)
    try:
        result = fn(ctx, *args, **kw)
    except BeneError as error:
        said_in_both_languages(error)
        assert not ctx.db.conn.in_transaction, "a refusal left a transaction open"
        after = state(ctx)
        for table, (count, digest) in before.items():
            if table in LOG_TABLES:
                assert after[table][0] >= count, f"{table} lost rows"
            elif table in counters:
                assert after[table][0] == count, f"refusal changed the number of rows of {table}"
            else:
                assert after[table] == (count, digest), f"refusal wrote to {table}"
        assert state(ctx).keys() == before.keys()
        return "refused", error
    assert not ctx.db.conn.in_transaction
    return "ok", result


@pytest.fixture
def fuzz_world(world):
    """The test world with step-1 throttling out of the way, so every hostile value reaches the lookups."""
    world.settings.rules.step1_free_failures = 10**9
    return world


def maybe(valid: str):
    """Mostly hostile, sometimes the valid value: so later fields are reached with a real record."""
    return st.one_of(hostile, st.just(valid), st.just(valid))


@FUZZ
@given(gid=maybe("TS000001"), key1=maybe("1001"), key2=hostile)
def test_step1_start(fuzz_world, gid, key1, key2):
    outcome, _ = call(fuzz_world, registration.start, gid, key1, key2, "benefit_station")
    assert outcome == "refused" or normalize.clean(key2, "k") == "19850401"


@FUZZ
@given(gid=hostile)
def test_organisation_lookup_never_raises(fuzz_world, gid):
    org = identify.organisation(fuzz_world, gid)
    assert org is None or org["group_id"] == normalize.clean(gid, "g").upper()


LOGINS = st.one_of(hostile, st.emails(), st.just("hostile.user@example.jp"), st.just("090-1234-5678"))
PASSWORDS = st.one_of(hostile, MEDIUM, st.just(GOOD_PASSWORD))


@FUZZ
@given(kind=st.one_of(st.sampled_from(["email", "sms"]), hostile), login=LOGINS, password=PASSWORDS,
       agreed=st.booleans())
def test_step2_submit_credentials(fuzz_world, kind, login, password, agreed):
    flow_id = registration.start(fuzz_world, "TS000001", "1002", "19900512").flow_id
    outcome, result = call(fuzz_world, registration.submit_credentials, flow_id, kind, login, password, agreed, "ja")
    if outcome == "ok":
        assert agreed and kind in ("email", "sms") and result["code"]


@FUZZ
@given(password=PASSWORDS)
def test_step2_hash_ahead(fuzz_world, password):
    """What the screen hashes while the terms are read: a hash of exactly that password, or a refusal."""
    from bene_tui.services import passwords

    outcome, result = call(fuzz_world, registration.hash_ahead, password)
    if outcome == "ok":
        assert result.password == password and passwords.verify_password(result.hash, password, fuzz_world.rules)


@pytest.fixture
def provisional_flow(fuzz_world):
    flow_id = registration.start(fuzz_world, "TS000001", "1003", "19781120").flow_id
    registration.submit_credentials(fuzz_world, flow_id, "email", "code.fuzz@example.jp", GOOD_PASSWORD, True)
    return fuzz_world, flow_id


@FUZZ
@given(code=st.one_of(hostile, st.from_regex(r"\A[0-9０-９ -]{6,9}\Z")))
def test_step3_verify_code(provisional_flow, code):
    ctx, flow_id = provisional_flow
    outcome, _ = call(ctx, registration.verify_code, flow_id, code, counters=("codes",))
    assert outcome == "refused"  # never the right code by chance at these odds; a 6-digit guess only counts


@FUZZ
@given(to=hostile)
def test_outbox_cli_filter(world, tmp_path, to):
    """`bene-tui outbox --to X`: an exit code and a message, never a traceback; the argument is
    never echoed raw (a terminal escape in it must not reach the terminal)."""
    from bene_tui import cli

    world.store.close()
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:  # --to=VALUE: one argument whatever it holds (a value starting with "-" included)
            code = cli.main(["--db", str(tmp_path / "bene.db"), "outbox", f"--to={to}", "--json"])
        except SystemExit as exit_:  # argparse's own usage errors
            code = exit_.code
    assert code in (0, 1, 2)
    assert "\x1b" not in out.getvalue() + err.getvalue()
    if code == 2:
        assert "not an e-mail address or Japanese mobile number" in err.getvalue()


@FUZZ
@given(recipient=hostile)
def test_outbox_queries_take_any_recipient(world, recipient):
    """The viewer's queries are parameterised: any string is just a recipient with no messages.
    (They are given canonical recipients only, which never hold lone surrogates: SQLite cannot take those.)"""
    assume(not re.search(r"[\ud800-\udfff]", recipient))
    assert outbox.messages(world, recipient=recipient) == []
    assert outbox.recipients_summary(world, [recipient]) == []
    assert outbox.latest(world, recipient) is None


# ---------------------------------------------------------------------------------------------
# The other flows' entry points (login, linking, recovery, family).


@FUZZ
@given(login=LOGINS, password=PASSWORDS)
def test_login(fuzz_world, login, password):
    from bene_tui.services import auth

    outcome, _ = call(fuzz_world, auth.login, "benefit_station", login, password, counters=("accounts",))
    assert outcome == "refused"  # nobody has registered in this world


@FUZZ
@given(login=LOGINS, password=PASSWORDS)
def test_linking_authenticate(fuzz_world, login, password):
    from bene_tui.services import linking

    flow_id = registration.start(fuzz_world, "TS000001", "1004", "19950303").flow_id
    outcome, _ = call(fuzz_world, linking.authenticate, flow_id, login, password, counters=("accounts",))
    assert outcome == "refused"


@FUZZ
@given(gid=maybe("TS000001"), key1=maybe("1001"), key2=hostile)
def test_recovery_forgot_login_id(fuzz_world, gid, key1, key2):
    from bene_tui.services import recovery

    outcome, _ = call(fuzz_world, recovery.forgot_login_id, gid, key1, key2)
    assert outcome == "refused"  # no account holds any record here


@FUZZ
@given(login=LOGINS)
def test_recovery_start_reset(fuzz_world, login):
    from bene_tui.services import recovery

    fuzz_world.settings.rules.code_sends_per_hour = 10**9
    outcome, result = call(fuzz_world, recovery.start_reset, login)
    if outcome == "ok":  # the same answer for any login ID; only well-formed ones get this far
        assert result["shown"] == normalize.login_id(login).value


@FUZZ
@given(gid=maybe("TS000001"), kana=st.one_of(hostile, st.just("ヤマダ タロウ")), birth=st.one_of(hostile, st.just("19850401")))
def test_recovery_forgot_keys(fuzz_world, gid, kana, birth):
    from bene_tui.services import recovery

    call(fuzz_world, recovery.forgot_keys, gid, kana, birth)


@pytest.fixture
def reset_flow(fuzz_world):
    """An active account whose owner asked for a password reset and typed the code (step: new password)."""
    from bene_tui.services import recovery

    ctx = fuzz_world
    flow_id = registration.start(ctx, "TS000002", "A-77", "M9001").flow_id
    message = registration.submit_credentials(ctx, flow_id, "email", "reset.fuzz@example.jp", GOOD_PASSWORD, True)
    registration.verify_code(ctx, flow_id, message["code"])
    registration.complete(ctx, flow_id, True)
    reset = recovery.start_reset(ctx, "reset.fuzz@example.jp")
    code = outbox.latest(ctx, "reset.fuzz@example.jp", "password_reset")["code"]
    return ctx, reset["flow_id"], code


@FUZZ
@given(code=st.one_of(hostile, st.from_regex(r"\A[0-9]{6}\Z")), password=PASSWORDS)
def test_recovery_code_and_new_password(reset_flow, code, password):
    from bene_tui.services import recovery

    ctx, flow_id, real_code = reset_flow
    assume(code.strip() != real_code)
    call(ctx, recovery.check_reset_code, flow_id, code, counters=("codes", "flows"))
    call(ctx, recovery.set_new_password, flow_id, password)  # the code was never right: refused


@pytest.fixture
def member_account(fuzz_world):
    ctx = fuzz_world
    flow_id = registration.start(ctx, "TS000001", "1001", "19850401").flow_id
    message = registration.submit_credentials(ctx, flow_id, "email", "family.fuzz@example.jp", GOOD_PASSWORD, True)
    registration.verify_code(ctx, flow_id, message["code"])
    return ctx, registration.complete(ctx, flow_id, True)


@FUZZ
@given(name=st.one_of(hostile, st.just("山田 花子")), kana=st.one_of(hostile, st.just("ヤマダ ハナコ")),
       relationship=st.one_of(hostile, st.just("spouse"), st.just("child")),
       birth=st.one_of(hostile, st.just("1987-06-01")), contact=LOGINS)
def test_family_invite(member_account, name, kana, relationship, birth, contact):
    from bene_tui.services import family

    ctx, account_id = member_account
    call(ctx, family.invite, account_id, name, kana, relationship, birth, contact, "ja")


@pytest.fixture
def invitation_token(member_account):
    """An approved invitation: the token of the link the invited person received."""
    from bene_tui.services import family, links

    ctx, account_id = member_account
    sent = family.invite(ctx, account_id, "山田 花子", "ヤマダ ハナコ", "spouse", "1987-06-01", "hanako.fuzz@example.jp", "ja")
    approval = links.parse(sent["message"]["link"])[1]["token"]
    family.approve(ctx, approval, account_id)
    invitation = outbox.latest(ctx, "hanako.fuzz@example.jp", "invitation")
    return ctx, links.parse(invitation["link"])[1]["token"]


@FUZZ
@given(token=st.one_of(hostile, st.just(None)), name=hostile, birth=hostile, password=PASSWORDS, agreed=st.booleans())
def test_family_register(invitation_token, token, name, birth, password, agreed):
    from bene_tui.services import family

    ctx, real_token = invitation_token
    call(ctx, family.register, token, name, birth, password, agreed, "ja", counters=("invitations", "tokens"))
    # and with the real link: the typed fields alone decide
    outcome, _ = call(ctx, family.register, real_token, name, birth, password, agreed, "ja",
                      counters=("invitations", "tokens"))
    assert outcome == "refused"  # hostile name/birth date never make a valid registration


# ---------------------------------------------------------------------------------------------
# Through the real screens: a message beside the form, never a traceback.

SCREEN_NASTIES = [
    "\x1b[31mred\x1b[0m", "[b]太郎[/b]", "[link=https://evil.example]x[/link]", "[@click=app.quit]q[/]",
    "'; DROP TABLE members; --", "\u202e1001", "x" * 100_000, "😀" * 2_000, "\ud800", "",
]
# Passwords may hold any character, so only ones the policy must refuse (too short, too long,
# holding the login ID, not even encodable): a hostile but strong password is a fine password.
REFUSED_PASSWORDS = ["", "\ud800", "x" * 100_000, "😀" * 2_000, "[b]太郎[/b]", "\x1b[31m\x1b[0m",
                     "[link=x]hostile.step2@example.jp", "\ud800" * 20]


def error_texts(pilot) -> str:
    from textual.widgets import Static

    return "\n".join(str(w.render()) for w in pilot.app.screen.query(".field-error, .form-error").results(Static))


def known_messages(lang: str = "ja") -> list[re.Pattern]:
    """Every error text of the catalogue as a pattern (its placeholders match anything)."""
    from string import Formatter

    patterns = []
    for key, text in catalogue(lang).items():
        if key.startswith(("error.", "registration.")):
            parts = Formatter().parse(text)
            patterns.append(re.compile("".join(re.escape(lit) + (".*" if name is not None else "")
                                               for lit, name, _, _ in parts)))
    return patterns


def is_catalogue_text(text: str) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    return bool(lines) and all(any(p.fullmatch(line) for p in known_messages()) for line in lines)


async def test_hostile_strings_typed_into_step1_get_a_message(app_factory, tmp_path):
    from bene_tui.ui.screens.registration import Step1Screen
    from helpers import type_into, wait_for, wait_screen

    app = app_factory()
    async with app.run_test(size=(120, 50)) as pilot:
        await wait_for(pilot, lambda: app.ctx is not None, what="database open")
        app.push_screen(Step1Screen())
        await wait_screen(pilot, Step1Screen)
        typed: dict[str, str] = {}
        for i, nasty in enumerate(SCREEN_NASTIES):
            fields = {"group_id": nasty, "key1": "1001", "key2": "19850401"} if i % 2 else \
                     {"group_id": "TS000001", "key1": nasty, "key2": nasty}
            for field, value in fields.items():
                if typed.get(field) != value:  # type only what changes: Pilot typing is slow on a busy machine
                    await type_into(pilot, f"#{field}", value)
                    typed[field] = value
            app.screen.clear_errors()  # so that the wait below sees this press's answer
            app.screen.query_one("#next").press()
            await wait_for(pilot, lambda: error_texts(pilot).strip(), what=f"a message for {nasty[:20]!r}")
            assert isinstance(app.screen, Step1Screen), nasty[:20]
            text = error_texts(pilot)
            assert is_catalogue_text(text), text
    from helpers import query

    assert query(tmp_path, "select count(*) as n from flows") == [{"n": 0}]


async def test_hostile_strings_typed_into_step2_get_a_message(app_factory, tmp_path):
    from textual.widgets import Checkbox

    from bene_tui.ui.screens.registration import Step1Screen, Step2Screen
    from helpers import type_into, wait_for, wait_screen

    app = app_factory()
    async with app.run_test(size=(120, 50)) as pilot:
        await wait_for(pilot, lambda: app.ctx is not None, what="database open")
        app.push_screen(Step1Screen())
        await wait_screen(pilot, Step1Screen)
        for field, value in (("group_id", "TS000001"), ("key1", "1001"), ("key2", "19850401")):
            await type_into(pilot, f"#{field}", value)
        app.screen.query_one("#next").press()
        await wait_screen(pilot, Step2Screen)
        app.screen.query_one("#agree", Checkbox).value = True
        cases = [(nasty, GOOD_PASSWORD) for nasty in SCREEN_NASTIES]
        cases += [("hostile.step2@example.jp", nasty) for nasty in REFUSED_PASSWORDS]
        typed: dict[str, str] = {}
        for login, password in cases:
            nasty = login if password == GOOD_PASSWORD else password
            for field, value in (("login_id", login), ("password", password), ("password2", password)):
                if typed.get(field) != value:
                    await type_into(pilot, f"#{field}", value)
                    typed[field] = value
            app.screen.clear_errors()
            app.screen.query_one("#submit").press()
            await wait_for(pilot, lambda: error_texts(pilot).strip(), what=f"a message for {nasty[:20]!r}")
            assert isinstance(app.screen, Step2Screen), nasty[:20]
            text = error_texts(pilot)
            assert is_catalogue_text(text), text
    from helpers import query

    assert query(tmp_path, "select count(*) as n from accounts") == [{"n": 0}]
    assert query(tmp_path, "select count(*) as n from outbox") == [{"n": 0}]


# ---------------------------------------------------------------------------------------------
# Password and code rules of OWASP ASVS that no other test pins down (docs/security.md).

ANY_SCRIPT_PASSPHRASES = [
    "tsukiyo ni hashiru aoi kitsune",  # lower case and spaces only: no composition rule
    "くものうえでおどるねこのゆめ",  # kana only
    "ЖЁЛТЫЙ КОТ ТАНЦУЕТ НА ОБЛАКЕ",  # Cyrillic capitals
    "🐈🌧️🎹🍣🚲🌋🎈🦉🧊🪁🥁🌵",  # emoji only
    "  leading and trailing spaces kept  ",  # not trimmed
]


@pytest.mark.parametrize("password", ANY_SCRIPT_PASSPHRASES)
def test_passwords_need_no_composition_and_take_any_unicode(world, password):
    """ASVS 2.1.4 / 2.1.9 (v5 6.2.5, 6.2.8): any printable Unicode, no rules on character kinds;
    and the password is stored as typed (not trimmed or normalised): only it opens the account."""
    from bene_tui.services import auth

    flow_id = registration.start(world, "TS000001", "1004", "19950303").flow_id
    message = registration.submit_credentials(world, flow_id, "email", "any.script@example.jp", password, True)
    registration.verify_code(world, flow_id, message["code"])
    registration.complete(world, flow_id, True)
    assert auth.login(world, "benefit_station", "any.script@example.jp", password)["login_id"] == "any.script@example.jp"
    if password != password.strip():
        with pytest.raises(BeneError):
            auth.login(world, "benefit_station", "any.script@example.jp", password.strip())


def test_password_length_bounds_12_to_128_and_no_truncation(world):
    """ASVS 2.1.1-2.1.3 (v5 6.2.1, 6.2.8, 6.2.9): at least 12, at least 64 allowed (128 here), never cut short."""
    from bene_tui.services import passwords

    rules = world.rules
    strong = "Vq7-zuKo#mi8-Peralu!9Ox-" * 6  # 144 characters, no dictionary words
    with pytest.raises(ValidationError) as e:
        passwords.check_policy(strong[:11], rules)
    assert e.value.key == "error.password_too_short"
    passwords.check_policy(strong[:12], rules)
    passwords.check_policy(strong[:128], rules)
    with pytest.raises(ValidationError) as e:
        passwords.check_policy(strong[:129], rules)
    assert e.value.key == "error.password_too_long" and e.value.params["max"] == 128
    # two passwords alike in their first 127 characters are different passwords
    hashed = passwords.hash_password(strong[:128], rules)
    assert passwords.verify_password(hashed, strong[:128], rules)
    assert not passwords.verify_password(hashed, strong[:127] + "#", rules)
    assert not passwords.verify_password(hashed, strong[:127], rules)


def test_codes_are_six_digits_from_the_system_csprng(monkeypatch):
    """ASVS 2.7.6 / 2.3.1 (v5 6.4.1, section 6.6): out-of-band codes from a CSPRNG (secrets), about 20 bits of
    entropy, leading zeros kept; link tokens carry 192 bits."""
    from bene_tui.services import codes

    drawn = [codes.new_code() for _ in range(3000)]
    assert all(re.fullmatch(r"[0-9]{6}", c) for c in drawn)
    assert len(set(drawn)) >= 2980  # a million values: about 4.5 repeats expected among 3000
    for position in range(6):  # every digit position takes every digit
        assert {c[position] for c in drawn} == set("0123456789")
    monkeypatch.setattr(codes.secrets, "randbelow", lambda n: 42 if n == 1_000_000 else pytest.fail(f"randbelow({n})"))
    assert codes.new_code() == "000042"
    tokens = {codes.new_token() for _ in range(200)}
    assert len(tokens) == 200 and all(re.fullmatch(r"[A-Za-z0-9_-]{32}", tok) for tok in tokens)


async def test_password_fields_take_a_paste(app_factory, tmp_path):
    """ASVS 2.1.11 (v5 6.2.7): pasting into the password fields works (password managers)."""
    from textual import events
    from textual.widgets import Checkbox, Input

    from bene_tui.ui.screens.registration import Step1Screen, Step2Screen, Step3Screen
    from helpers import type_into, wait_for, wait_screen

    app = app_factory()
    async with app.run_test(size=(120, 50)) as pilot:
        await wait_for(pilot, lambda: app.ctx is not None, what="database open")
        app.push_screen(Step1Screen())
        await wait_screen(pilot, Step1Screen)
        for field, value in (("group_id", "TS000001"), ("key1", "1001"), ("key2", "19850401")):
            await type_into(pilot, f"#{field}", value)
        app.screen.query_one("#next").press()
        await wait_screen(pilot, Step2Screen)
        await type_into(pilot, "#login_id", "pasted@example.jp")
        for field in ("#password", "#password2"):
            widget = app.screen.query_one(field, Input)
            widget.focus()
            await pilot.pause()
            widget.post_message(events.Paste(GOOD_PASSWORD))
            await wait_for(pilot, lambda w=widget: w.value == GOOD_PASSWORD, what=f"paste into {field}")
        app.screen.query_one("#agree", Checkbox).value = True
        app.screen.query_one("#submit").press()
        await wait_screen(pilot, Step3Screen)


async def test_password_hashing_runs_off_the_event_loop(app_factory, monkeypatch):
    """SPEC §4 "hashing never blocks the screen": step 2 hashes in a worker thread, never on the
    thread that runs the screens (bench/hash_stall.py measures the stalls)."""
    import threading

    from bene_tui.services import passwords
    from bene_tui.ui.screens.registration import Step1Screen, Step2Screen, Step3Screen
    from helpers import type_into, wait_for, wait_screen

    threads = []
    real_hash = passwords.hash_password

    def spy(password, rules):
        threads.append(threading.current_thread())
        return real_hash(password, rules)

    monkeypatch.setattr(passwords, "hash_password", spy)
    app = app_factory()
    async with app.run_test(size=(120, 50)) as pilot:
        await wait_for(pilot, lambda: app.ctx is not None, what="database open")
        loop_thread = threading.current_thread()
        app.push_screen(Step1Screen())
        await wait_screen(pilot, Step1Screen)
        for field, value in (("group_id", "TS000001"), ("key1", "1001"), ("key2", "19850401")):
            await type_into(pilot, f"#{field}", value)
        app.screen.query_one("#next").press()
        await wait_screen(pilot, Step2Screen)
        for field, value in (("login_id", "threads@example.jp"), ("password", GOOD_PASSWORD),
                             ("password2", GOOD_PASSWORD)):
            await type_into(pilot, f"#{field}", value)
        app.screen.query_one("#agree").value = True
        app.screen.query_one("#submit").press()
        await wait_screen(pilot, Step3Screen)
    assert len(threads) == 1 and threads[0] is not loop_thread


def test_audit_rows_say_when_where_who_and_how(world, clock):
    """SPEC §4 audit / ASVS 7.1.3-7.1.4 (v5 section 16): successes and refusals of authentication are
    recorded with time, terminal, actor and outcome, refusals with their reason."""
    from bene_tui.services import auth

    flow_id = registration.start(world, "TS000001", "1001", "19850401").flow_id
    message = registration.submit_credentials(world, flow_id, "email", "audit@example.jp", GOOD_PASSWORD, True)
    registration.verify_code(world, flow_id, message["code"])
    registration.complete(world, flow_id, True)
    auth.login(world, "benefit_station", "audit@example.jp", GOOD_PASSWORD)
    with pytest.raises(BeneError):
        auth.login(world, "benefit_station", "audit@example.jp", GOOD_PASSWORD + "x")
    with pytest.raises(BeneError):
        registration.start(world, "TS000001", "1001", "20000101")
    rows = list(world.db.query("select * from audit where action not like 'roster.%' order by id"))
    outcomes = {(r["action"], r["outcome"]) for r in rows}
    assert {("auth.login", "ok"), ("auth.login", "refused"), ("registration.step1", "refused"),
            ("registration.complete", "ok")} <= outcomes
    for row in rows:
        assert row["at"] == clock.now() and row["terminal"] == "test-terminal" and row["actor"] == "user", row
        assert row["action"] and row["outcome"] and row["subject"], row
        if row["outcome"] == "refused":
            assert row["reason"], row


# ---------------------------------------------------------------------------------------------
# Ids of the wrong type: every public service entry refuses them with the project's own error.

def _service_modules():
    from bene_tui.services import auth, family, helpdesk, linking, privacy, recovery

    return (registration, linking, auth, recovery, family, helpdesk, outbox, privacy)


def _id_entries() -> list[tuple[object, str, str]]:
    """(function, id parameter, its annotation) for every public function taking ctx and an id."""
    import inspect

    entries = []
    for module in _service_modules():
        for name, fn in sorted(vars(module).items()):
            if name.startswith("_") or not inspect.isfunction(inspect.unwrap(fn)) or fn.__module__ != module.__name__:
                continue
            params = inspect.signature(fn).parameters
            if next(iter(params), None) != "ctx":
                continue
            entries += [(fn, p.name, p.annotation) for p in params.values() if p.name in normalize.ID_PARAMS]
    return entries


ID_ENTRIES = _id_entries()
IN_RANGE = st.integers(min_value=-(2**63), max_value=2**63 - 1)  # what SQLite can take as an integer
WRONG_FOR_ANY_ID = [
    st.booleans(), st.floats(), st.binary(max_size=8), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), st.builds(object),
    st.integers(min_value=2**63), st.integers(max_value=-(2**63) - 1),
    st.just("\ud800"), st.builds(lambda a, s, b: a + s + b, st.text(max_size=10), SURROGATES, st.text(max_size=10)),
]


def wrong_ids(annotation: str):
    """Values no id of this annotation may be: other types, lone surrogates, None unless optional."""
    other_type = st.text(max_size=40) if annotation.startswith("int") else IN_RANGE
    choices = [*WRONG_FOR_ANY_ID, other_type]
    if "None" not in annotation:
        choices.append(st.none())
    return st.one_of(choices)


@pytest.fixture
def id_world(member_account):
    """Real values for every parameter, so only the id under test is wrong."""
    ctx, account_id = member_account
    flow_id = registration.start(ctx, "TS000001", "1002", "19900512").flow_id
    values = {
        "flow_id": flow_id, "login_id": "ids.fuzz@example.jp", "group_id": "TS000001", "service_id": "benefit_station",
        "account_id": account_id, "invitation_id": 1, "message_id": 1, "member_id": 1, "token": "t" * 32,
        "ref": f"account:{account_id}", "recipient": "ids.fuzz@example.jp",
        "key1": "1002", "key2": "19900512", "kind": "email", "password": GOOD_PASSWORD, "agreed": True,
        "confirmed": True, "code": "000000", "name": "山田 花子", "kana": "ヤマダ ハナコ", "birth_date": "1987-06-01",
        "relationship": "spouse", "contact": "hanako.ids@example.jp", "purpose": "invitation", "operator": "tester",
        "lang": "ja",
    }
    return ctx, values


@pytest.mark.parametrize("entry", ID_ENTRIES, ids=lambda e: f"{e[0].__module__.rsplit('.', 1)[1]}.{e[0].__name__}:{e[1]}")
@FUZZ
@given(data=st.data())
def test_service_entries_refuse_wrong_ids_with_own_errors(id_world, entry, data):
    """An int, None, bytes, a list or a lone surrogate where an id belongs (a flow id, a login ID, a
    group or account id...) is refused with a BeneError both catalogues can say, before any write."""
    import inspect

    ctx, values = id_world
    fn, param, annotation = entry
    wrong = data.draw(wrong_ids(annotation), label=param)
    kwargs = {name: values[name] for name, p in inspect.signature(fn).parameters.items()
              if name != "ctx" and p.default is p.empty and p.kind is not p.VAR_KEYWORD}
    kwargs[param] = wrong
    before = state(ctx)
    with pytest.raises(BeneError) as refused:
        fn(ctx, **kwargs)
    said_in_both_languages(refused.value)
    assert not ctx.db.conn.in_transaction
    assert state(ctx) == before, "a refused id wrote something"


def test_every_service_entry_with_an_id_is_covered():
    """The test above finds its entries itself: this pins that it finds the ones we know."""
    found = {f"{fn.__module__.rsplit('.', 1)[1]}.{fn.__name__}:{param}" for fn, param, _ in ID_ENTRIES}
    assert {"registration.start:group_id", "registration.submit_credentials:flow_id",
            "registration.submit_credentials:login_id", "linking.authenticate:login_id", "auth.login:login_id",
            "auth.profile:account_id", "recovery.start_reset:login_id", "recovery.set_new_password:flow_id",
            "family.invite:account_id", "family.approve:token", "family.resend:invitation_id",
            "helpdesk.person:ref", "helpdesk.unlock_account:account_id", "outbox.get:message_id",
            "outbox.latest:recipient", "privacy.export:account_id", "privacy.erase:account_id"} <= found
