"""An item key keeps meaning the same question in every version of its template.

Dashboards (the item rollups of schema/0008, one row per template and key for all its versions, named
by the newest version), corrective actions and the exports' `item.<key>` columns join versions by
item key. A key that a later version gives to another question mixes the two: v1's cleanliness
failures would be counted, shown and followed up as v2's "Toilets working". So a draft (and the
version published from it) may not keep a key of an earlier published version for another question;
the admin gives the new question a new key instead.

What counts as another question (refused):
- another item `type`. Answers of one type are no answers of another (a scale's 3 is no yes / no),
  so nothing recorded under the key before could be read with the new item.
- a choice or multi_choice item none of whose option keys the earlier item had: no earlier answer
  is an answer of the new item, which is another question in all but its key.

What is a revision of the same question (allowed), because earlier answers still read the same:
- a reworded label or help, in either language (wording is improved all the time);
- a scale's new maximum, a number's new acceptable range or unit, options re-weighted, options
  added, removed or renamed as long as one option key stays;
- weight, required, critical, min_photos, visible_if, the item's section or place.

An item is compared with the newest published version that has its key, whatever came between: a
key removed in version 2 still names version 1's question on the dashboards. Versions already
published are never judged again (they are immutable, and inspections pin them); one published
before this rule, that already changed a key's question, is what a later version is compared with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from server.errors import FieldError
from server.templates.models import Definition, iter_items

CHOICES = ("choice", "multi_choice")


class PublishedItem(NamedTuple):
    """A key's item in the newest published version that has it."""

    type: str
    option_keys: frozenset[str]
    version: int


def key_meaning_errors(defn: Definition, published: Mapping[str, PublishedItem]) -> list[FieldError]:
    """A problem for each item of `defn` that keeps a published key for another question (see above)."""
    errors: list[FieldError] = []
    for s, i, _section, item in iter_items(defn):
        before = published.get(item.key)
        if before is None:
            continue
        at = f"sections[{s}].items[{i}]"
        if item.type != before.type:
            errors.append(
                FieldError(
                    field=f"{at}.type",
                    message=(
                        f"the key '{item.key}' is a {before.type} item in version {before.version}, and "
                        f"dashboards, actions and exports join versions by key: give this {item.type} "
                        "question a new key"
                    ),
                )
            )
        elif (
            item.type in CHOICES and before.option_keys and not before.option_keys & {o.key for o in item.options or []}
        ):
            errors.append(
                FieldError(
                    field=f"{at}.options",
                    message=(
                        f"none of these options is an option of '{item.key}' in version {before.version}, so this "
                        "is another question: give it a new key, or keep at least one option key"
                    ),
                )
            )
    return errors
