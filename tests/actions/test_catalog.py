"""actions.yml is checked at load, and each problem is named with its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.actions.catalog import CatalogError, load_catalog, parse_catalog

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
allowed_hosts: [shop.example.com]
env: [SHOP_TOKEN]
actions:
  - name: order_status
    fields:
      - name: customer_id
        source: identity
      - name: order_id
        source: ask
        prompt: What is your order number?
    call:
      url: https://shop.example.com/customers/{{ customer_id }}/orders/{{ order_id }}?expand={{ order_id }}
      headers:
        Authorization: Bearer ${SHOP_TOKEN}
    reply:
      cases:
        - when: "status == 'shipped'"
          text: Shipped with {{ carrier }}.
      default: It is {{ status }}.
"""


def broken(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new)


def error_of(text: str) -> str:
    with pytest.raises(CatalogError) as caught:
        parse_catalog(text)
    return str(caught.value)


def test_a_good_file_loads() -> None:
    catalog = parse_catalog(GOOD)
    spec = catalog.get("order_status")
    assert spec is not None and spec.call is not None and spec.fields[1].prompt == "What is your order number?"
    assert catalog.missing_env({}) == ["SHOP_TOKEN"] and catalog.missing_env({"SHOP_TOKEN": "x"}) == []


def test_the_demo_file_loads() -> None:
    catalog = load_catalog(ROOT / "service" / "demo" / "actions.yml")
    assert set(catalog.actions) == {"order_status", "list_orders", "account_plan", "cancel_order"}
    cancel = catalog.actions["cancel_order"]
    assert cancel.writes and cancel.confirm and cancel.call is not None and cancel.call.method == "POST"


@pytest.mark.parametrize(("text", "expected"), [
    (broken("        source: ask", "        source: typed"),
     "actions.yml line 9: field 'order_id' has source 'typed' (expected identity, conversation or ask)"),
    (broken("https://shop.example.com/customers", "https://evil.example.net/customers"),
     "actions.yml line 12: action 'order_status': host 'evil.example.net' of url"),
    (broken("https://shop.example.com/customers", "https://{{ customer_id }}.example.com/customers"),
     "actions.yml line 12: action 'order_status': url 'https://{{ customer_id }}.example.com"),
    (broken("?expand={{ order_id }}", "?{{ order_id }}=1"), "actions.yml line 12: action 'order_status': url"),
    (broken("${SHOP_TOKEN}", "${OTHER_SECRET}"),
     "actions.yml line 14: action 'order_status' header 'Authorization' uses ${OTHER_SECRET}, which is not listed"),
    (broken("  - name: order_status\n", "  - name: order_status\n    writes: true\n"),
     "actions.yml line 4: action 'order_status' writes, so it needs a confirm question"),
    (broken("    reply:\n", "    rely:\n"), "actions.yml line 15: action 'order_status' has unknown key 'rely'"),
    (broken("status == 'shipped'", "status === 'shipped'"),
     "actions.yml line 17: action 'order_status' condition 'status === 'shipped''"),
    (broken("Shipped with {{ carrier }}.", "Shipped with {{ carrier }."), "actions.yml line 18: action 'order_status'"),
    (broken("        prompt: What is your order number?\n", ""),
     "actions.yml line 8: field 'order_id' is asked from the customer but has no prompt"),
    (broken("    fields:\n", "    fields:\n    fields:\n"), "actions.yml line 6: key 'fields' is given twice"),
    (broken("allowed_hosts: [shop.example.com]", "allowed_hosts: [shop.example.com"),
     "actions.yml line 2: expected ',' or ']', but got ':' (while parsing a flow sequence on line 1)"),
])
def test_problems_are_named_with_their_line(text: str, expected: str) -> None:
    assert error_of(text).startswith(expected), error_of(text)


def test_every_problem_is_listed_and_the_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "my-actions.yml"
    path.write_text(broken("${SHOP_TOKEN}", "${A}").replace("https://shop.example.com/", "https://x.test/"))
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    assert [line for line, _ in caught.value.problems] == [12, 14]
    assert str(caught.value).splitlines()[0].startswith("my-actions.yml line 12:")


def test_a_duplicate_action_name_is_named() -> None:
    twice = GOOD + GOOD[GOOD.index("  - name: order_status"):]
    assert error_of(twice).startswith("actions.yml line 20: action 'order_status' is declared twice")
