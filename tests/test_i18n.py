"""The ja/en catalogues (DESIGN convention 3): the same keys and placeholders in every file, the
official Japanese wording verbatim, and every literal key the code uses present."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from bene_tui.core.i18n import _flatten, catalogue, placeholders, t
from bene_tui.core.paths import LOCALES_DIR

PACKAGE = LOCALES_DIR.parent


def files(lang: str) -> dict[str, Path]:
    return {p.stem: p for p in sorted((LOCALES_DIR / lang).glob("*.toml"))}


def load(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    with path.open("rb") as fh:
        _flatten(path.stem, tomllib.load(fh), out)
    return out


def test_both_languages_have_the_same_files():
    assert files("ja").keys() == files("en").keys()
    assert {"app", "error", "mail", "outbox", "reg", "start"} <= files("ja").keys()


@pytest.mark.parametrize("stem", sorted(files("ja")))
def test_same_keys_and_placeholders_per_file(stem):
    ja, en = load(files("ja")[stem]), load(files("en").get(stem, Path("/missing")))
    assert ja, f"{stem}.toml is empty"
    assert sorted(set(ja) - set(en)) == [], "keys only in ja"
    assert sorted(set(en) - set(ja)) == [], "keys only in en"
    differ = {k: (sorted(placeholders(ja[k])), sorted(placeholders(en[k])))
              for k in ja if placeholders(ja[k]) != placeholders(en[k])}
    assert differ == {}
    assert [k for k, v in {**ja, **en}.items() if not v.strip()] == [], "empty texts"


def test_whole_catalogues_match():
    ja, en = catalogue("ja"), catalogue("en")
    assert ja.keys() == en.keys()
    assert all(placeholders(ja[k]) == placeholders(en[k]) for k in ja)


# The official wording of the seed (SPEC §3.1), verbatim in the Japanese UI.
OFFICIAL = {
    "reg.next": "次へ",
    "reg.agree": "規約に同意する",
    "reg.submit": "上記内容で送信する",
    "reg.send": "送信する",
    "reg.complete": "ベネアカウントの登録を完了する",
    "reg.link_instead": "ご登録済みのベネアカウントへ紐づけたい場合はこちら",
    "reg.link_setup": "紐づけ設定する",
    "start.register": "新規登録",
    "reg.step1_lead": "【団体ID】と【認証キー1・2】を入力し「次へ」ボタンを押下します。",
    "reg.step4_lead": "画面に表示された「姓名」が、ご所属の企業・団体で登録されている「姓名」と相違がないかご確認ください。\n"
                      "相違がなければチェックボックスにチェックを入れ、「ベネアカウントの登録を完了する」を押下します。",
    "reg.done": "ベネアカウントの新規登録が完了しました。",
    "reg.done_lead": "まずは画面内のバナーを押下して、初回特典をご利用ください。",
    "reg.sender_note": "メールはbenefitone-platform@benefit-one.co.jpより配信しています。",
}


@pytest.mark.parametrize("key,text", sorted(OFFICIAL.items()))
def test_official_wording_verbatim(key, text):
    assert t("ja", key) == text


def test_first_time_benefit_and_linking_guidance():
    assert "初回特典" in t("ja", "reg.benefit_banner")
    guidance = t("ja", "registration.already_registered") + t("ja", "reg.already_registered")
    assert "「紐づけ設定する」" in guidance
    step2 = t("ja", "reg.step2_lead")
    assert step2.startswith("ログインIDとして使用したいメールアドレスか携帯電話番号(SMS)を選択しパスワードを入力した後、")
    assert "「規約に同意する」にチェックをいれます。" in step2


def test_english_is_not_japanese():
    """The English UI says the official wording in English (it may name 日本語 as the other language)."""
    ja, en = catalogue("ja"), catalogue("en")
    for key in OFFICIAL:
        assert not re.search(r"[\u3040-\u30ff]", en[key]), key
        assert en[key] != ja[key]


# Literal keys in the code: t("area.key"), BeneError("area.key"), ValidationError(...), Throttled(...).
KEY_USE = re.compile(r"""(?:\bt\(\s*(?:[\w.]+,\s*)?|Error\(\s*|Throttled\(\s*)["']([a-z_]+\.[a-z0-9_.]*[a-z0-9])["']""")


def test_every_literal_key_in_the_code_exists():
    stems = set(files("ja"))
    ja = catalogue("ja")
    used, missing = 0, []
    for path in sorted(PACKAGE.rglob("*.py")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for match in KEY_USE.finditer(line):
                key = match.group(1)
                if key.split(".")[0] not in stems:
                    continue  # not a catalogue key (e.g. a dotted name)
                used += 1
                if key not in ja:
                    missing.append(f"{path.relative_to(PACKAGE)}:{n}: {key}")
    assert used > 50
    assert missing == []


def test_placeholders_are_filled_and_missing_keys_show_themselves():
    assert t("ja", "error.resend_too_early", seconds=41) == "認証コードの再送信は41秒後から可能です。"
    assert t("en", "error.resend_too_early", seconds=41) == "You can ask for a new code in 41 seconds."
    assert t("en", "no.such_key") == "no.such_key"
