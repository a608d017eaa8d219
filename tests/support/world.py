"""The test world: fixed clock start, cheap Argon2, the test organisations, the settings of a test's database."""

from __future__ import annotations

from bene_tui.core.config import Rules, Settings

# 2026-04-01 09:00 JST: registration peak, fixed so expiry and snapshots are repeatable.
START = 1774998000.0
CHEAP_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 8192, "argon2_parallelism": 1}


_DB_TARGETS: dict[str, str] = {}  # tmp_path → this test's database URL (PostgreSQL tests)


def make_settings(tmp_path, **kw) -> Settings:
    rules = Rules(**CHEAP_ARGON2)
    target = _DB_TARGETS.get(str(tmp_path), str(tmp_path / "bene.db"))
    return Settings(db_path=target, terminal="test-terminal", rules=rules, **kw)


# A small world of our own, so tests do not depend on the demo data's contents.
TEST_WORLD = {
    "organisations": [
        {
            "group_id": "TS000001", "name": "テスト商事株式会社",
            "services": ["benefit_station", "bene_learning"],
            "auth_keys": {"key1_label": "社員番号", "key2_label": "生年月日(YYYYMMDD)",
                          "key1_label_en": "Employee number", "key2_label_en": "Date of birth (YYYYMMDD)"},
            "family": {"enabled": True, "max_degree": 2, "max_accounts": 10},
            "members": [
                {"auth_key_1": "1001", "auth_key_2": "19850401", "name": "山田 太郎", "kana": "ヤマダ タロウ",
                 "birth_date": "1985-04-01", "email_on_file": "taro@test-shoji.example.jp"},
                {"auth_key_1": "1002", "auth_key_2": "19900512", "name": "[b]太郎[/b]", "kana": "テスト タロウ",
                 "birth_date": "1990-05-12", "email_on_file": "markup@test-shoji.example.jp"},
                {"auth_key_1": "1003", "auth_key_2": "19781120", "name": "佐藤 花子", "kana": "サトウ ハナコ",
                 "birth_date": "1978-11-20", "email_on_file": "hanako@test-shoji.example.jp",
                 "services": ["benefit_station"]},
                {"auth_key_1": "1004", "auth_key_2": "19950303", "name": "鈴木 一郎", "kana": "スズキ イチロウ",
                 "birth_date": "1995-03-03", "email_on_file": "ichiro@test-shoji.example.jp"},
            ],
        },
        {
            "group_id": "TS000002", "name": "テスト市役所",
            "services": ["benefit_station", "bene_wellness"],
            "auth_keys": {"key1_label": "職員番号", "key2_label": "会員番号",
                          "key1_label_en": "Staff number", "key2_label_en": "Member number"},
            "family": {"enabled": False, "max_degree": 2, "max_accounts": 10},
            "members": [
                {"auth_key_1": "A-77", "auth_key_2": "M9001", "name": "山田 太郎", "kana": "ヤマダ タロウ",
                 "birth_date": "1985-04-01", "email_on_file": "yamada@city.example.jp"},
                {"auth_key_1": "A-78", "auth_key_2": "M9002", "name": "高橋 美咲", "kana": "タカハシ ミサキ",
                 "birth_date": "1992-08-08", "email_on_file": "misaki@city.example.jp"},
            ],
        },
    ]
}


GOOD_PASSWORD = "kumo-no-ue-de-odoru-neko-42"


def import_test_world(context, directory) -> None:
    """TEST_WORLD imported as a roster file (written into `directory`) would be."""
    import json

    from bene_tui.services import roster

    path = directory / "world.json"
    path.write_text(json.dumps(TEST_WORLD, ensure_ascii=False), encoding="utf-8")
    roster.import_file(context, path)
