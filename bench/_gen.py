"""Synthetic rosters for the benchmarks: deterministic, realistic-looking, any size."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

FAMILY = [("佐藤", "サトウ", "sato"), ("鈴木", "スズキ", "suzuki"), ("高橋", "タカハシ", "takahashi"),
          ("田中", "タナカ", "tanaka"), ("伊藤", "イトウ", "ito"), ("渡辺", "ワタナベ", "watanabe"),
          ("山本", "ヤマモト", "yamamoto"), ("中村", "ナカムラ", "nakamura"), ("小林", "コバヤシ", "kobayashi"),
          ("加藤", "カトウ", "kato"), ("吉田", "ヨシダ", "yoshida"), ("山田", "ヤマダ", "yamada"),
          ("佐々木", "ササキ", "sasaki"), ("山口", "ヤマグチ", "yamaguchi"), ("松本", "マツモト", "matsumoto"),
          ("井上", "イノウエ", "inoue"), ("木村", "キムラ", "kimura"), ("林", "ハヤシ", "hayashi"),
          ("清水", "シミズ", "shimizu"), ("山崎", "ヤマザキ", "yamazaki"), ("森", "モリ", "mori"),
          ("池田", "イケダ", "ikeda"), ("橋本", "ハシモト", "hashimoto"), ("阿部", "アベ", "abe")]
GIVEN = [("太郎", "タロウ", "taro"), ("花子", "ハナコ", "hanako"), ("一郎", "イチロウ", "ichiro"),
         ("美咲", "ミサキ", "misaki"), ("翔太", "ショウタ", "shota"), ("結衣", "ユイ", "yui"),
         ("健一", "ケンイチ", "kenichi"), ("恵子", "ケイコ", "keiko"), ("大輔", "ダイスケ", "daisuke"),
         ("さくら", "サクラ", "sakura"), ("誠", "マコト", "makoto"), ("彩", "アヤ", "aya"),
         ("隆", "タカシ", "takashi"), ("陽菜", "ヒナ", "hina"), ("拓也", "タクヤ", "takuya"),
         ("直樹", "ナオキ", "naoki"), ("真由美", "マユミ", "mayumi"), ("悠斗", "ユウト", "yuto"),
         ("千尋", "チヒロ", "chihiro"), ("愛", "アイ", "ai"), ("蓮", "レン", "ren"), ("葵", "アオイ", "aoi")]
PER_ORG = 10_000
SERVICES = ["benefit_station", "bene_learning", "bene_wellness"]


def org_ids(n: int) -> list[str]:
    return [f"BX{i:06d}" for i in range((n + PER_ORG - 1) // PER_ORG)]


def rows(n: int, seed: int = 7):
    """(group_id, key1, key2, name, kana, birth_date, email, services_json) — already canonical."""
    rnd = random.Random(seed)
    for i in range(n):
        group = f"BX{i // PER_ORG:06d}"
        f, g = rnd.choice(FAMILY), rnd.choice(GIVEN)
        y, m, d = rnd.randint(1950, 2005), rnd.randint(1, 12), rnd.randint(1, 28)
        services = '["benefit_station"]' if i % 10 == 0 else None
        yield (group, f"{i % PER_ORG:08d}", f"{y}{m:02d}{d:02d}", f"{f[0]} {g[0]}", f"{f[1]} {g[1]}",
               f"{y}-{m:02d}-{d:02d}", f"{g[2]}.{f[2]}{i}@example.jp", services)


def org_row(group_id: str) -> dict:
    return {"group_id": group_id, "name": f"ベンチ株式会社{group_id}", "services": SERVICES,
            "auth_keys": {"key1_label": "社員番号", "key2_label": "生年月日(YYYYMMDD)"},
            "family": {"enabled": True, "max_degree": 2, "max_accounts": 10}}


def write_json(path: Path, n: int) -> None:
    """Written by hand, one member per line, so even 10 million members never sit in memory."""
    with path.open("w", encoding="utf-8") as out:
        out.write('{"organisations": [\n')
        current = None
        for r in rows(n):
            if r[0] != current:
                if current is not None:
                    out.write("\n]},\n")
                current = r[0]
                head = json.dumps(org_row(current), ensure_ascii=False)[:-1]
                out.write(head + ', "members": [\n')
            else:
                out.write(",\n")
            member = {"auth_key_1": r[1], "auth_key_2": r[2], "name": r[3], "kana": r[4], "birth_date": r[5],
                      "email_on_file": r[6]}
            if r[7]:
                member["services"] = json.loads(r[7])
            out.write(json.dumps(member, ensure_ascii=False))
        out.write("\n]}\n]}\n")


def write_csv(path: Path, n: int) -> None:
    """One organisation's worth of members per CSV is unrealistic at 10M; the CSV holds all rows under one org."""
    with path.open("w", encoding="utf-8", newline="") as out:
        w = csv.writer(out)
        w.writerow(["auth_key_1", "auth_key_2", "name", "kana", "birth_date", "email_on_file", "services"])
        for i, r in enumerate(rows(n)):
            w.writerow([f"{i:08d}", r[2], r[3], r[4], r[5], r[6], "benefit_station" if r[7] else ""])
