"""Who a member may invite (SPEC §3.5): the spouse, and relatives within the second degree of
the member or of the spouse, by blood or by marriage — a fixed list, each with its degree.

Degrees follow the Japanese civil code (親等): the spouse has none (0 here, so an organisation
with `max_degree` 0 allows the spouse only); the spouse's relatives are the member's relatives
by marriage (姻族) of the same degree. Labels live in the catalogue: `family.rel.<code>`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Relationship:
    code: str
    degree: int  # 0 = the spouse
    by: str  # "spouse" | "blood" (血族) | "marriage" (姻族)

    @property
    def label_key(self) -> str:
        return f"family.rel.{self.code}"


RELATIONSHIPS: tuple[Relationship, ...] = (
    Relationship("spouse", 0, "spouse"),
    # first degree
    Relationship("father", 1, "blood"),
    Relationship("mother", 1, "blood"),
    Relationship("child", 1, "blood"),
    Relationship("spouse_father", 1, "marriage"),
    Relationship("spouse_mother", 1, "marriage"),
    Relationship("spouse_child", 1, "marriage"),
    Relationship("child_spouse", 1, "marriage"),
    # second degree
    Relationship("grandfather", 2, "blood"),
    Relationship("grandmother", 2, "blood"),
    Relationship("grandchild", 2, "blood"),
    Relationship("sibling", 2, "blood"),
    Relationship("spouse_grandparent", 2, "marriage"),
    Relationship("spouse_sibling", 2, "marriage"),
    Relationship("spouse_grandchild", 2, "marriage"),
    Relationship("sibling_spouse", 2, "marriage"),
    Relationship("grandchild_spouse", 2, "marriage"),
)
BY_CODE = {r.code: r for r in RELATIONSHIPS}
MAX_DEGREE = 2


def get(code: str | None) -> Relationship | None:
    return BY_CODE.get(code or "")


def allowed(max_degree: int) -> list[Relationship]:
    """The relationships an organisation allowing `max_degree` accepts, in the list's order."""
    return [r for r in RELATIONSHIPS if r.degree <= min(max_degree, MAX_DEGREE)]
