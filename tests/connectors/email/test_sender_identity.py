"""An email sender counts as verified only where the mail provider's own checks say SPF and DKIM passed:
headers the mail carries itself prove nothing, and each mail proves its own sender."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from connectors.email.authentication import postmark_vouches, sendgrid_vouches
from connectors.email.convert import conversation_id_for
from tests.connectors.email.conftest import CUSTOMER, Sink
from tests.connectors.email.test_thread_owner import ROOT, transcript
from tests.connectors.email.test_webhooks import AUTH, hooks, postmark_payload  # noqa: F401  (fixture)
from tests.waiting import wait_for

POSTMARK_CHECKS = [{"Name": "Received-SPF", "Value": "Pass (sender SPF authorized) identity=mailfrom"},
                   {"Name": "X-Spam-Tests", "Value": "DKIM_SIGNED,DKIM_VALID,DKIM_VALID_AU,SPF_PASS"}]


def test_sendgrid_vouches_only_for_spf_and_dkim_of_the_senders_own_domain() -> None:
    sender = "Ada <ada@example.test>"
    assert sendgrid_vouches({"SPF": "pass", "dkim": "{@example.test : pass}"}, sender)
    assert not sendgrid_vouches({"SPF": "pass", "dkim": "{@other.test : pass}"}, sender)
    assert not sendgrid_vouches({"SPF": "softfail", "dkim": "{@example.test : pass}"}, sender)
    assert not sendgrid_vouches({"SPF": "pass", "dkim": "{@example.test : fail}"}, sender)
    assert not sendgrid_vouches({}, sender)


def test_postmark_vouches_by_its_own_first_headers_not_ones_the_mail_brought() -> None:
    ours = [(h["Name"], h["Value"]) for h in POSTMARK_CHECKS]
    assert postmark_vouches(ours)
    forged = [("Received-SPF", "Fail"), ("X-Spam-Tests", "SPF_FAIL"), *ours]  # provider's come first
    assert not postmark_vouches(forged)
    assert not postmark_vouches([("Authentication-Results", "mx; dkim=pass; spf=pass")])


def identity_after(client: TestClient, payload: dict[str, Any]) -> dict[str, Any]:
    sink: Sink = client.sink  # type: ignore[attr-defined]
    before = len(sink.to(CUSTOMER))
    assert client.post("/email/inbound/postmark", json=payload, auth=AUTH).status_code == 200
    wait_for(lambda: len(sink.to(CUSTOMER)) > before, what="the answer")
    return transcript(client, conversation_id_for(ROOT))["state"]["identity"]  # type: ignore[no-any-return]


def test_each_mail_proves_its_own_sender(hooks: TestClient) -> None:  # noqa: F811
    vouched = postmark_payload()
    vouched["Headers"] = POSTMARK_CHECKS + vouched["Headers"]
    identity = identity_after(hooks, vouched)
    assert identity["verified"] and identity["email"] == CUSTOMER and identity["source"] == "email-dkim"

    unvouched = postmark_payload()
    unvouched["Headers"] = [h for h in unvouched["Headers"] if h["Name"] == "Message-ID"]
    unvouched["Headers"][0] = {"Name": "Message-ID", "Value": "<postmark-q2@example.test>"}
    unvouched["Headers"] += [{"Name": "In-Reply-To", "Value": ROOT}, {"Name": "References", "Value": ROOT}]
    unvouched["TextBody"] = "And does the link expire?"
    assert not identity_after(hooks, unvouched)["verified"]  # a mail nobody vouches for unverifies the thread
